"""The form a word takes for matching, per script: what is shown stays as the site wrote it.

Two spellings of one word fold to one key:
- every script: NFKC (presentation forms, ligatures, full-width letters), case folded,
  apostrophes dropped ("Israel's" -> "israels", as the word splitting always did);
- Arabic: diacritics (harakat U+064B-U+065F, superscript alef U+0670, Quranic marks
  U+06D6-U+06ED) and tatweel (U+0640) removed; alef forms أ إ آ ٱ -> ا; alef maqsura ى and
  Persian yeh ی -> ي; ta marbuta ة -> ه; hamza carriers ؤ -> و, ئ -> ي, and a lone ء dropped
  (writers drop it: "سماء صفراء" / "سما صفرا"); "ئو" -> "وو" (Egypt's مسئول, شئون are the
  مسؤول, شؤون of other sites); Persian kaf ک -> ك;
- Arabic-Indic (U+0660-U+0669) and Persian (U+06F0-U+06F9) digits -> ASCII digits;
- Latin, Greek and Cyrillic letters lose their accents (é -> e, ñ -> n, ά -> α, й -> и) and
  a few stroked letters read as their base (ł -> l, ø -> o); letters of other scripts are
  never dropped, and their marks are kept.

Matching only: a line's fingerprint (lines.match_key) does not fold, so lines stored
before this module existed keep their identity.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

WORD_CACHE = 4096  # non-ASCII words whose folded form is kept
_ARABIC_MARKS = [*range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE)]
_TATWEEL = 0x0640
_APOSTROPHES = "'\u2019\u02bc"  # ASCII, right single quotation mark, modifier letter apostrophe
_ARABIC_LETTERS = {
    "\u0623": "\u0627",  # أ -> ا
    "\u0625": "\u0627",  # إ -> ا
    "\u0622": "\u0627",  # آ -> ا
    "\u0671": "\u0627",  # ٱ (wasla) -> ا
    "\u0672": "\u0627",  # ٲ -> ا
    "\u0673": "\u0627",  # ٳ -> ا
    "\u0649": "\u064a",  # ى (alef maqsura) -> ي
    "\u06cc": "\u064a",  # ی (Persian yeh) -> ي
    "\u0629": "\u0647",  # ة (ta marbuta) -> ه
    "\u0624": "\u0648",  # ؤ -> و
    # ئ -> ي (or ئو -> وو) in fold(), after the marks are removed
    "\u0621": "",  # ء alone: dropped
    "\u06a9": "\u0643",  # ک (Persian kaf) -> ك
}
_YA_HAMZA = "\u0626"
_STROKED = {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "æ": "ae", "œ": "oe"}
# Precomposed letters whose accents fold away: Latin-1 Supplement to Latin Extended-B,
# Greek and Coptic, Cyrillic, Latin Extended Additional, Greek Extended.
_ACCENTED_BLOCKS = [(0x00C0, 0x0250), (0x0370, 0x0500), (0x1E00, 0x2000)]
_COMBINING_ACCENTS = range(0x0300, 0x0370)  # the marks those letters decompose into


def _accent_free(char: str) -> str | None:
    """`char` without its accents if it is an accented letter, else None."""
    decomposed = unicodedata.normalize("NFKD", char)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare if bare != char and bare else None


def _table() -> dict[int, str | None]:
    """One str.translate table for every per-character rule: a single pass over a word."""
    table: dict[int, str | None] = {code: None for code in _ARABIC_MARKS}
    table[_TATWEEL] = None
    table.update({code: None for code in _COMBINING_ACCENTS})
    table.update({ord(c): None for c in _APOSTROPHES})
    table.update({ord(k): v for k, v in _ARABIC_LETTERS.items()})
    table.update({0x0660 + d: str(d) for d in range(10)})  # Arabic-Indic digits
    table.update({0x06F0 + d: str(d) for d in range(10)})  # Persian digits
    for start, end in _ACCENTED_BLOCKS:
        for code in range(start, end):
            bare = _accent_free(chr(code))
            if bare is not None:  # Ǿ -> ø -> o: one pass gives the final form
                table[code] = "".join(_STROKED.get(c, c) for c in bare.casefold())
    table.update({ord(k): v for k, v in _STROKED.items()})
    return table


_TABLE = _table()


def fold(text: str) -> str:
    """`text` in its matching form (see the module docstring): equal for two spellings of
    the same words, never used for display."""
    if text.isascii():  # most lines: NFKC is the identity, casefold is lower
        return text.lower().replace("'", "") if "'" in text else text.lower()
    text = unicodedata.normalize("NFKC", text).casefold().translate(_TABLE)
    if _YA_HAMZA in text:  # after the marks are gone: مسئُول is مسئول
        text = text.replace(_YA_HAMZA + "\u0648", "\u0648\u0648").replace(_YA_HAMZA, "\u064a")
    return text


def fold_word(word: str) -> str:
    """One word (as `word_pattern` finds it) in its matching form: `fold(word)`."""
    return word.lower() if word.isascii() else _fold_other(word)


# Every candidate's words are folded again at each comparison, and they repeat: a cache hit
# costs what `lower` does, where folding an Arabic word costs ~20 times more (str.translate
# looks every character up). 4,096 words (~1 MB) hold a busy source's recent vocabulary.
@lru_cache(maxsize=WORD_CACHE)
def _fold_other(word: str) -> str:
    return fold(word)


@cache
def word_pattern() -> re.Pattern[str]:
    """A word: a run of letters, digits (as `\\w` says) and combining marks (categories Mn,
    Mc, Me: `\\w` matches none, so a vowelled Arabic word fell apart at every mark, and a
    fully vowelled line into single letters). The marks are read from unicodedata for the
    Basic Multilingual Plane, once, on first use (~17 ms), so importing costs nothing."""
    ranges: list[list[int]] = []
    category = unicodedata.category
    for code in range(0x10000):
        if category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    marks = "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)
    return re.compile(f"[\\w{marks}]+")
