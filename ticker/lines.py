"""Line: one ticker item, its attribution, and the normalisation behind its fingerprint."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

MAX_LINE_CHARS = 2000  # a ticker line is one sentence; anything longer is cut, not trusted
MAX_KEY_CHARS = 512  # an item id (guid, URL, post id); a longer one is cut, still unique enough
MAX_ATTRIBUTION_CHARS = 60
MAX_ATTRIBUTION_WORDS = 8

# Invisible characters: they break equality, and bidi controls can reorder what a reader
# sees of the rest of the alert. Soft hyphen, Arabic letter mark, Mongolian vowel separator,
# zero-width space/joiners, LRM/RLM (U+200B-U+200F), bidi embeddings and overrides
# (U+202A-U+202E), word joiner and invisible operators (U+2060-U+2064), bidi isolates and
# the deprecated format controls (U+2066-U+206F), BOM, and Unicode tag characters
# (U+E0000-U+E007F: invisible "ASCII" that can smuggle hidden text; a tagged subdivision
# flag emoji becomes a plain black flag).
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\U000e0000-\U000e007f]"
)
_SPACE_BEFORE_PUNCT = re.compile(r" ([:;,.!?])(?= |$)")  # on single-spaced text
_ATTRIBUTION = re.compile(
    rf"^(?P<attribution>[^:]{{2,{MAX_ATTRIBUTION_CHARS}}}?)\s*:\s+(?P<body>\S.*)$", re.DOTALL
)
_QUOTES = re.compile(
    "[\"'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a]"
)
_DASHES = re.compile("[\u2010-\u2015\u2212-]")
_PUNCT = re.compile(r"[^\w\s]")
# Words that do not tell one speaker from another: the outlet's own name (the lines are
# its own), possessives and articles, "breaking" labels, in English, Spanish and Arabic.
_ATTRIBUTION_NOISE = frozenset(
    {"al", "mayadeen", "mayadeens", "almayadeen", "our", "the", "s", "breaking"}
    | {"de", "del", "el", "la", "los", "las", "nuestro", "nuestra", "urgente"}
    | {"الميادين", "عاجل"}
)
# The outlet's name misspelt ("Al Mayaden's", "للميادين"): one letter off a long noise word.
_NOISE_NAMES = ("mayadeen", "mayadeens", "almayadeen", "الميادين")
# "Our correspondent" in each language, one role: مراسل/مراسلة الميادين, مراسلنا, corresponsal.
_CORRESPONDENT = frozenset(
    {"correspondent", "corresponsal", "corresponsala", "مراسل", "مراسله", "مراسلنا", "مراسلتنا"}
)
_ARTICLE_BEFORE_DIGIT = re.compile(r"(?<!\w)\u0627\u0644(?=\d)")  # "القناة الـ12": the 12
# Matching-only folding of attributions: Arabic ta marbuta, alef maqsura and tatweel, and
# Arabic-Indic and Persian digits (accents, vowel marks and hamza go with the combining marks).
_ATTRIBUTION_FOLD = str.maketrans(
    {"\u0629": "\u0647", "\u0649": "\u064a", "\u0640": None}
    | {chr(0x0660 + d): str(d) for d in range(10)}
    | {chr(0x06F0 + d): str(d) for d in range(10)}
)


def single_spaced(text: str) -> str:
    """`text` with every run of white space (any script's) one space, none at the ends;
    five times faster than a regular expression substitution."""
    return " ".join(text.split())


def clean_text(raw: str, limit: int = MAX_LINE_CHARS) -> str:
    """Text as a reader sees it: NFC, no invisible characters, single spaces, capped.

    Invisible characters go before NFC: one between a letter and its combining accent
    ("e\u200b\u0301") would otherwise leave them uncomposed until a second cleaning."""
    text = _INVISIBLE.sub("", raw)
    text = unicodedata.normalize("NFC", text)
    text = single_spaced(text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def split_attribution(text: str) -> tuple[str | None, str]:
    """Split "Hamas: The two delegations..." into ("Hamas", "The two delegations...").

    Only a short prefix (a few words, no sentence punctuation) counts as an attribution;
    otherwise the attribution is None and the body is the whole line.
    """
    match = _ATTRIBUTION.match(text)
    if not match:
        return None, text
    attribution = match["attribution"].strip()
    words = attribution.split()
    if (
        not words
        or len(words) > MAX_ATTRIBUTION_WORDS
        or re.search(r"[.!?\"\u201c\u201d]", attribution)
    ):
        return None, text
    return attribution, match["body"].strip()


def match_key(text: str) -> str:
    """The form two lines share when they are the same line: case, quotes, dashes,
    punctuation and spacing ignored; digits and letters of every script kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _QUOTES.sub("", text)
    text = _DASHES.sub(" ", text)
    text = _PUNCT.sub(" ", text)
    return single_spaced(text)


@functools.lru_cache(maxsize=4096)
def canonical_attribution(attribution: str | None) -> str:
    """The attribution as a speaker, for comparison only: "Al Mayadeen's correspondent",
    "Our correspondent", "مراسل الميادين", "Nuestro corresponsal" -> "correspondent";
    "Hamás" -> "hamas". Case, punctuation, accents, Arabic vowel marks and letter variants,
    the outlet's own name and articles are ignored. Idempotent."""
    if not attribution:
        return ""
    # Marks go first: match_key would read a vowel mark as punctuation, splitting the word.
    words = (_speaker_word(w) for w in match_key(_folded(attribution)).split())
    return " ".join(w for w in words if w)


def _folded(text: str) -> str:
    """`text` without combining marks (accents, harakat, the hamza over a carrier) and with
    Arabic letter variants and digits unified."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _ARTICLE_BEFORE_DIGIT.sub("", bare.translate(_ATTRIBUTION_FOLD))


def _speaker_word(word: str) -> str:
    """The word as a speaker's name part: "" for noise, "correspondent" for that role."""
    if word in _ATTRIBUTION_NOISE or _is_noise_name(word):
        return ""
    return "correspondent" if word in _CORRESPONDENT else word


def _is_noise_name(word: str) -> bool:
    return len(word) >= 6 and any(_one_edit(word, name) for name in _NOISE_NAMES)


def _one_edit(a: str, b: str) -> bool:
    """True if `a` and `b` are one insertion, deletion or substitution apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    index = next(
        (i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short)
    )
    return short[index:] == long[index + 1 :]


def fingerprint(text: str) -> str:
    """A stable 128-bit hex digest of `match_key(text)`."""
    return hashlib.blake2b(match_key(text).encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Line:
    """One ticker line: the whole text, its attribution split off, and its link if any.

    `key` is the source's own id of the item (an RSS guid, a JSON id, a Telegram post id),
    None for an html strip, whose lines are known by their text alone; `published` is when
    the source says the item was posted (Unix seconds), None if it does not say."""

    text: str
    attribution: str | None = None
    body: str = ""
    url: str | None = None
    fingerprint: str = field(default="", compare=False)
    key: str | None = None
    published: float | None = None

    @classmethod
    def from_text(
        cls,
        raw: str,
        url: str | None = None,
        *,
        key: str | None = None,
        published: float | None = None,
    ) -> Line:
        """Clean `raw`, split its attribution and compute its fingerprint."""
        text = clean_text(raw)
        attribution, body = split_attribution(text)
        return cls(
            text=text,
            attribution=attribution,
            body=body,
            url=url,
            fingerprint=fingerprint(text),
            key=clean_text(key, MAX_KEY_CHARS) if key else None,
            published=published,
        )
