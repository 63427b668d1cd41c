"""One alert per story: classify a new line as new, an update of an earlier item, or a
duplicate of one.

Pure functions: the store finds the candidates (through its term index), this module
decides. The method, on a labelled set (tests/data/dedupe_pairs.tsv):
- attributions are compared as speakers (`same_attribution`: "Al Mayadeen's correspondent",
  "Our correspondent" and "مراسل الميادين" are one; so are "Peskov" and "Kremlin spokesperson
  Dmitry Peskov", "YAF" and "Yemeni Armed Forces"), and different speakers are different
  stories, unless the very same words come under the other credit within minutes
  (`recredited`: the credit corrected);
- bodies are compared as content words (case, quotes, punctuation and a few filler words
  ignored): equal content words are a duplicate;
- otherwise a character-level similarity of the content words (rapidfuzz) must reach the
  threshold, and the word diff must not replace a name by a different one (another town,
  another person: a new event), unless the replacement is a typo fix; a name is a
  capitalised word, or in a script without capitals any word that is not a number or a
  function word (ticker/names.py);
- or, for a re-post in other words, a lower similarity with the same names and numbers
  and most words kept (`_same_facts`; words counted by stem and sense, names.sense);
- a speaker named in the words of a line credited to none is that line's speaker
  ("Pete Hegseth announces..." / "Hegseth: ...": `_speaker_moved`);
- the same numbers counting another kind of toll ("44 martyrs" / "44 wounded") are another
  story.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from ticker import names
from ticker.fold import fold_word, word_pattern
from ticker.lines import (
    MAX_ATTRIBUTION_CHARS,
    MAX_ATTRIBUTION_WORDS,
    Line,
    canonical_attribution,
    split_attribution,
)

Kind = Literal["new", "update", "duplicate"]
Aliases = tuple[tuple[str, ...], ...]  # groups of names of one speaker, from [dedupe] aliases
DEFAULT_THRESHOLD = 75.0
TYPO_SIMILARITY = 0.7  # normalised Levenshtein similarity above which two words are one, misspelt
# Words that carry no story, in their folded form (fold.fold_word). Arabic prepositions and
# particles written apart: on the real pairs (tests/data/real_pairs.tsv, 112 Arabic) they
# raise Arabic recall 0.691 -> 0.727 and precision 0.633 -> 0.645. Left in: في (as filler
# it merged one more pair of distinct stories, "... في يافا" / "ميناء أم الرشراش", and found
# no more re-posts) and علي (also the name Ali). Spanish articles and prepositions were
# tried and left out: Spanish recall fell 0.538 -> 0.500 (a changed word weighs more in a
# shorter line).
FILLER = frozenset({"a", "an", "the"} | {"من", "الي", "عن", "و", "ان", "مع"})
_DIGIT = re.compile(r"\d")
MAX_CHANGES_SHOWN = 4
# A re-post in other words: below the threshold, a ratio from REWORD_FLOOR up is an update
# when the facts (names and numbers) agree: at least MIN_SHARED_FACTS shared (one a name),
# covering REWORD_COVER of the facts of the line that has fewer, no name swapped for
# another, and REWORD_COVER of the shorter line's words of MIN_WORD_LETTERS found in the
# other line. Unrelated lines of one source score about 40 (measured on the real English
# strips), so the floor sits above that.
REWORD_FLOOR = 50.0
MIN_SHARED_FACTS = 2
REWORD_COVER = 0.65
SAME_WORDS_COVER = 0.8  # with this share of the words kept, one shared name is enough
MIN_WORD_LETTERS = 4
MAX_KIN_WORK = 2_000  # word pairs compared for typos and stems in one look-up
MAX_DIFF_WORK = 2_000  # word pairs difflib may compare in one pass (a real line: ~100)


class _RapidFuzz:
    """rapidfuzz's modules, each imported where first used: a poll that finds nothing new
    compares no lines, so a one-shot `ticker poll` then never imports rapidfuzz (41
    modules, ~8 ms of its CPU). Once imported, a module is a plain attribute."""

    @functools.cached_property
    def fuzz(self) -> ModuleType:
        from rapidfuzz import fuzz

        return fuzz

    @functools.cached_property
    def process(self) -> ModuleType:
        from rapidfuzz import process

        return process

    @functools.cached_property
    def levenshtein(self) -> ModuleType:
        from rapidfuzz.distance import Levenshtein

        return Levenshtein


_rapidfuzz = _RapidFuzz()


@dataclass(frozen=True)
class Word:
    """A content word: its comparison form and whether it was written as a proper noun."""

    key: str
    text: str
    proper: bool


@dataclass(frozen=True)
class Candidate:
    """An earlier item of the same source, as the store returns it."""

    item_id: int
    text: str
    first_seen: float | None = None  # when the store first saw it (Unix seconds), if it says


@dataclass(frozen=True)
class Verdict:
    """How a new line relates to the earlier items: `item_id` is the item it updates or
    duplicates; `changes` says what changed ("5 → 6", "undeer → under", "+ of Gaza City")."""

    kind: Kind
    item_id: int | None = None
    score: float = 0.0
    changes: tuple[str, ...] = ()


NEW = Verdict("new")


def content_words(body: str) -> list[Word]:
    """The words that carry the story: no filler, no punctuation; each word's `key` is its
    matching form (fold.fold_word: case, accents, Arabic vowel marks and letter variants
    folded), its `text` as written. A word keeps its combining marks (fold.word_pattern)."""
    words: list[Word] = []
    raws = word_pattern().findall(body.replace("'", "").replace("\u2019", ""))
    plain = body.isascii()  # then fold_word is casefold: a call per word costs ~8 %
    for index, raw in enumerate(raws):
        key = raw.casefold() if plain else fold_word(raw)
        if not key or key in FILLER:
            continue  # filler, or a word of marks alone (a stray tatweel)
        proper = index > 0 and raw[:1].isupper() and not _DIGIT.search(raw)
        words.append(Word(key=key, text=raw, proper=proper))
    return words


def index_terms(line: Line) -> set[str]:
    """The terms the store indexes a line under: its content words (folded: an Arabic line
    is indexed by its real words, vowelled or not) of 3+ letters and the pairs of
    neighbouring ones (rarer, so they single out a story among many alike). Numbers are
    left out, so a number update still shares every term with what it updates."""
    words = [w.key for w in content_words(line.body) if not _DIGIT.search(w.key)]
    terms = {word for word in words if len(word) >= 3}
    terms.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    return terms


def _is_typo(a: str, b: str) -> bool:
    return (
        min(len(a), len(b)) >= 4
        and _rapidfuzz.levenshtein.normalized_similarity(a, b, score_cutoff=TYPO_SIMILARITY) > 0
    )


def _is_name(word: Word) -> bool:
    """Whether `word` may name a place or a person: where the script has capitals, a
    proper noun; in a script without (Arabic), any word but a number, a number word, a
    function word or a short one (ticker/names.py says why this and not word rarity)."""
    if _DIGIT.search(word.key):
        return False
    if names.is_cased(word.text):
        return word.proper
    return names.may_be_name(names.fold_word(word.key))


def _kin(a: str, b: str) -> bool:
    """Whether the folded words `a` and `b` are one word: equal, one with an Arabic clitic
    ("بغزة" / "غزة"), a typo of the other, or (Arabic) another form of one stem."""
    if names.same_word(a, b):
        return True
    # a letter a clitic may be is often the word's own ("بلديات"): try both readings
    pairs = ((a, b), (names.bare(a), names.bare(b)))
    return any(_is_typo(x, y) or names.same_stem(x, y) for x, y in pairs)


def _lacking(keys: Iterable[str], other: Collection[str]) -> list[str]:
    """The folded words of `keys` that `other` has in no form (`_kin`). Typos and stems
    cost a comparison per pair: past MAX_KIN_WORK pairs (a hostile line of hundreds of
    words; a real one needs ~500) only exact and clitic forms count, which errs towards
    "another story" and keeps a line's classification in milliseconds."""
    exact = set(other) | {names.bare(word) for word in other}
    left = [key for key in keys if key not in exact and names.bare(key) not in exact]
    if not left or len(left) * len(other) > MAX_KIN_WORK:
        return left
    typo_able = [word for word in other if len(word) >= 4]
    return [key for key in left if not _near(key, typo_able, other)]


def _near(key: str, typo_able: list[str], other: Collection[str]) -> bool:
    """Whether `key` is a typo of a word of `typo_able` (rapidfuzz's C loop: most words),
    or, in a script without capitals, a clitic or stem form of a word of `other`."""
    if len(key) >= 4 and typo_able:
        scorer = _rapidfuzz.levenshtein.normalized_similarity
        if _rapidfuzz.process.extractOne(
            key, typo_able, scorer=scorer, score_cutoff=TYPO_SIMILARITY
        ):
            return True
    return not names.is_cased(key) and any(_kin(key, word) for word in other)


def _missing(these: Iterable[Word], other: Collection[str]) -> list[str]:
    """The folded names among `these` that the other line (its folded words) lacks in
    every form."""
    return _lacking((names.fold_word(w.key) for w in these if _is_name(w)), other)


def _facts(words: Sequence[Word]) -> tuple[set[str], set[str]]:
    """The names and the numbers of a line (folded): what a re-post in other words keeps."""
    found = {names.fold_word(w.key) for w in words if _is_name(w)}
    numbers = {names.fold_word(w.key) for w in words if _DIGIT.search(w.key)}
    return found, numbers


def _unmatched(these: set[str], those: set[str]) -> set[str]:
    """The folded words of `these` that `those` has in no form."""
    return set(_lacking(these, those))


def _same_facts(earlier: Sequence[Word], later: Sequence[Word]) -> bool:
    """Whether two lines worded differently tell the same facts: no name of one swapped
    for another name in the other (a name only added or dropped is fine: more detail),
    enough shared names and numbers (numbers may differ: a toll rising), and most words
    of the shorter line kept. A line that only adds words to the other needs one shared
    name (a clause added or dropped)."""
    names_a, numbers_a = _facts(earlier)
    names_b, numbers_b = _facts(later)
    gone, come = _unmatched(names_a, names_b), _unmatched(names_b, names_a)
    shared_names = len(names_a) - len(gone)
    if (gone and come) or shared_names < 1:
        return False
    cover = _word_cover(earlier, later)
    if cover >= SAME_WORDS_COVER:
        return True  # one name kept, nearly every word kept: a number or a verb changed
    shared = shared_names + len(numbers_a & numbers_b)
    fewest = min(len(names_a) + len(numbers_a), len(names_b) + len(numbers_b))
    return shared >= max(MIN_SHARED_FACTS, REWORD_COVER * fewest) and cover >= REWORD_COVER


def _other_count(earlier: Sequence[Word], later: Sequence[Word]) -> bool:
    """Whether the same numbers count another kind of toll ("44 martyrs" / "44 wounded"):
    another story. A toll whose number changes too is an update."""
    numbers_a = sorted(w.key for w in earlier if _DIGIT.search(w.key))
    if not numbers_a or numbers_a != sorted(w.key for w in later if _DIGIT.search(w.key)):
        return False
    kinds_a = {names.counted(names.fold_word(w.key)) for w in earlier} - {None}
    kinds_b = {names.counted(names.fold_word(w.key)) for w in later} - {None}
    return bool(kinds_a and kinds_b and kinds_a != kinds_b)


def _long_words(words: Sequence[Word]) -> set[str]:
    """The folded words of MIN_WORD_LETTERS or more, without numbers and function words
    ("from", "than", "desde", "منذ": a rewording adds and drops them freely), each as
    its sense or stem (names.sense: "killed" / "killing", "attacks" / "striking")."""
    keys = (names.fold_word(w.key) for w in words)
    return {
        names.sense(key)
        for key in keys
        if len(key) >= MIN_WORD_LETTERS and not _DIGIT.search(key) and not names.is_function(key)
    }


def _word_cover(earlier: Sequence[Word], later: Sequence[Word]) -> float:
    """The share of the long words of the line that has fewer found in the other line,
    spelt alike or as a typo: a re-post keeps most of its words; another story in the
    same place keeps the place and little else."""
    a, b = _long_words(earlier), _long_words(later)
    fewer, more = (a, b) if len(a) <= len(b) else (b, a)
    if not fewer:
        return 0.0
    return 1 - len(_unmatched(fewer, more)) / len(fewer)


def _opcodes(a: Sequence[str], b: Sequence[str]) -> Sequence[tuple[str, int, int, int, int]]:
    """The word diff of `a` and `b`: difflib's longest common runs, which read best, unless
    the words repeat so much that difflib would cost the square of the line (one pass
    costs `work`); then rapidfuzz's edit script, whose cost is bounded."""
    counts = Counter(b)
    work = sum(counts[key] for key in a)
    if work <= MAX_DIFF_WORK:
        return difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    return [
        (op.tag, op.src_start, op.src_end, op.dest_start, op.dest_end)
        for op in _rapidfuzz.levenshtein.opcodes(a, b)
    ]


def _word_changes(before: Sequence[Word], after: Sequence[Word]) -> tuple[list[str], bool]:
    """What changed, word by word, and whether a name was replaced by another: a replaced
    run of words loses a name that the later line has in no form (not moved, not with a
    clitic, not misspelt) and gains one the earlier line has in no form. A number
    changing is an update (a toll rising); a name only added or dropped is more detail."""
    changes: list[str] = []
    other_name = False
    before_keys = [names.fold_word(w.key) for w in before]
    after_keys = [names.fold_word(w.key) for w in after]
    for op, a1, a2, b1, b2 in _opcodes([w.key for w in before], [w.key for w in after]):
        old, new = before[a1:a2], after[b1:b2]
        if op == "replace":
            changes.append(
                f"{' '.join(w.text for w in old)} \u2192 {' '.join(w.text for w in new)}"
            )
            if not other_name and _missing(old, after_keys):
                other_name = bool(_missing(new, before_keys))
        elif op == "insert":
            changes.append("+ " + " ".join(w.text for w in new))
        elif op == "delete":
            changes.append("\u2212 " + " ".join(w.text for w in old))
    return changes, other_name


def speaker_and_body(text: str) -> tuple[str | None, str]:
    """The attribution of the whole ticker line `text` and its body; of a dateline before
    it ("Occupied Palestine: Director of Al-Shifa Hospital: ..."), the inner one, the
    speaker, as the same line without the dateline has it. A Spanish attribution may have
    more words than a line's attribution may ("Corresponsal de Al Mayadeen en el sur del
    Líbano"): its articles and prepositions are not counted here."""
    attribution, body = split_attribution(text)
    if attribution is None:
        return _long_attribution(text)
    if ":" not in body:
        return attribution, body
    inner, rest = split_attribution(body)
    return (inner, rest) if inner is not None else (attribution, body)


def _long_attribution(text: str) -> tuple[str | None, str]:
    """`text` split as `split_attribution` would if short words did not count."""
    match = _LONG_PREFIX.match(text)
    if match is None or re.search(r"[.!?\"\u201c\u201d]", match[1]):
        return None, text
    words = [w for w in match[1].split() if w.casefold() not in SHORT_WORDS]
    if not words or len(words) > MAX_ATTRIBUTION_WORDS:
        return None, text
    return match[1].strip(), match[2].strip()


@dataclass(frozen=True)
class Story:
    """A line taken apart for comparison: canonical attribution, content words, and the
    content words joined (what the similarity is computed on)."""

    attribution: str
    words: tuple[Word, ...]
    joined: str

    @classmethod
    def of(cls, text: str) -> Story:
        """Take the whole ticker line `text` apart."""
        attribution, body = speaker_and_body(text)
        words = tuple(content_words(body))
        return cls(canonical_attribution(attribution), words, " ".join(w.key for w in words))


# What may stand before or after a speaker without making it another one ("Israeli media
# outlet" is "Israeli media", "Hamas statement" Hamas, "قناة العربية" العربية), and what
# introduces a place ("correspondent in France", "Local sources from Damascus countryside").
GENERIC = frozenset(
    {"outlet", "outlets", "source", "sources", "statement", "channel", "website"}
    | {"spokesperson", "spokesman", "spokeswoman", "official", "officials", "office"}
    | {"fuentes", "fuente", "portavoz", "comunicado", "canal", "قناه", "مصادر", "مصدر", "بيان"}
)
PLACE = frozenset({"in", "from", "at", "en", "desde", "في", "من"})
REPORTED_TO = frozenset({"to", "told"})  # "Sources to Al Mayadeen" are sources
FUNCTION_WORDS = frozenset({"of", "and", "for", "in", "y", "del"})  # left out of initials
MAX_ACRONYM = 6
# Articles and prepositions an attribution may hold beyond its word limit (Spanish has many).
SHORT_WORDS = frozenset({"de", "del", "el", "la", "los", "las", "al", "en", "y", "of", "the", "in"})
_LONG_PREFIX = re.compile(rf"^([^:]{{2,{MAX_ATTRIBUTION_CHARS}}}?)\s*:\s+(\S.*)$", re.DOTALL)
# The same words credited to another speaker (or to none) moments later are one story, the
# credit corrected; a short body ("We reject it") may be two speakers' own words.
SAME_BODY_WINDOW = 15 * 60.0
MAX_WORDS_AFTER_SPEAKER = 1  # "..., Belga reports": the speaker named at the end
MIN_SAME_BODY_WORDS = 5


def same_attribution(a: str | None, b: str | None, aliases: Aliases = ()) -> bool:
    """True if the attributions `a` and `b` name one speaker, written two ways: the same
    canonical form, one of a group of `aliases`, a typo ("Al Mayaden's" / "Al Mayadeen's"),
    a short form ("Peskov" / "Kremlin spokesperson Dmitry Peskov"; "Local sources" / "Local
    Syrian sources"), a generic word more ("Israeli media outlet" / "Israeli media"), a place
    on one side only ("correspondent in France" / "Our correspondent"), or initials ("YAF" /
    "Yemeni Armed Forces"). Two places must be one place; no attribution is no speaker."""
    return _same_speaker(canonical_attribution(a), canonical_attribution(b), aliases)


@functools.lru_cache(maxsize=65_536)
def _same_speaker(x: str, y: str, aliases: Aliases) -> bool:
    """`same_attribution` on canonical forms; a source has few speakers, so pairs repeat."""
    if x == y:
        return True
    if not x or not y:
        return False
    x, y = _alias_of(x, aliases), _alias_of(y, aliases)
    xs, x_place = _split_place([w for w in x.split() if w not in REPORTED_TO])
    ys, y_place = _split_place([w for w in y.split() if w not in REPORTED_TO])
    xs, ys = _without_place(xs, y_place), _without_place(ys, x_place)
    if x_place and y_place and not _same_name(x_place, y_place):
        return False
    aligned = _without_unmatched_generic(xs, ys)
    if aligned is None:
        return False
    xs, ys = aligned
    return (
        _same_name(xs, ys) or _same_name(_expanded(xs, ys), ys) or _same_name(xs, _expanded(ys, xs))
    )


def _alias_of(name: str, aliases: Aliases) -> str:
    """The canonical first name of the alias group `name` is in, else `name`."""
    for group in aliases:
        forms = [canonical_attribution(alias) for alias in group]
        if name in forms:
            return forms[0]
    return name


def _split_place(words: list[str]) -> tuple[list[str], list[str]]:
    """("correspondent", "in", "south", "lebanon") -> (["correspondent"], ["south", "lebanon"])."""
    for index, word in enumerate(words[1:], start=1):
        if word in PLACE:
            return words[:index], words[index + 1 :]
    return words, []


def _without_place(words: list[str], place: list[str]) -> list[str]:
    """`words` without the `place` the other attribution puts after "in": "Defensa Civil de
    Gaza" / "Defensa Civil en Gaza", "الدفاع المدني بغزة" / "الدفاع المدني في غزة"."""
    if not place or len(words) <= len(place):
        return words
    if words[-len(place) :] == place:
        return words[: -len(place)]
    if len(place) == 1 and words[-1] == "\u0628" + place[0]:  # Arabic bi- ("in") attached
        return words[:-1]
    return words


def _without_unmatched_generic(xs: list[str], ys: list[str]) -> tuple[list[str], list[str]] | None:
    """`xs` and `ys` without the generic words at either end that only one of them has;
    None if both have some there and they differ ("Israeli sources" / "Israeli official")."""
    xs_lead, ys_lead = _generic_run(xs, lead=True), _generic_run(ys, lead=True)
    if xs_lead and ys_lead and xs[:xs_lead] != ys[:ys_lead]:
        return None
    if not (xs_lead and ys_lead):
        xs, ys = xs[xs_lead:], ys[ys_lead:]
    xs_trail, ys_trail = _generic_run(xs[::-1]), _generic_run(ys[::-1])
    if xs_trail and ys_trail and xs[len(xs) - xs_trail :] != ys[len(ys) - ys_trail :]:
        return None
    if not (xs_trail and ys_trail):
        xs, ys = xs[: len(xs) - xs_trail], ys[: len(ys) - ys_trail]
    return (xs, ys) if xs and ys else None


def _generic_run(words: list[str], *, lead: bool = False) -> int:
    """How many of the first `words` are generic; as a `lead`, never all of them (a name
    that is only generic words, "Statement", is a trailing one)."""
    count = 0
    while count < len(words) and words[count] in GENERIC:
        count += 1
    return 0 if lead and count == len(words) else count


def _same_name(xs: list[str], ys: list[str]) -> bool:
    """True if the shorter name is the longer one's words in order, allowing typos, ending
    on the same word: a surname for a full name, a nationality left out."""
    short, long = (xs, ys) if len(xs) <= len(ys) else (ys, xs)
    if not _same_word(short[-1], long[-1]):
        return False
    position = 0
    for word in short[:-1]:
        while position < len(long) - 1 and not _same_word(word, long[position]):
            position += 1
        if position == len(long) - 1:
            return False
        position += 1
    return True


def _same_word(a: str, b: str) -> bool:
    """One word, maybe misspelt: one letter off in a word of 6+ letters, two in one of 10+;
    never a different number. "hamas"/"amal" and "austrian"/"australian" stay apart."""
    if a == b:
        return True
    if _DIGIT.search(a) or _DIGIT.search(b) or min(len(a), len(b)) < 6:
        return False
    allowed = 2 if min(len(a), len(b)) >= 10 else 1
    return _rapidfuzz.levenshtein.distance(a, b, score_cutoff=allowed) <= allowed


def _expanded(words: list[str], other: list[str]) -> list[str]:
    """`words` with each word that is the initials of a run of `other`'s words replaced by
    that run: ["yaf", "spokesperson"] against "yemeni armed forces spokesperson"."""
    expanded: list[str] = []
    for word in words:
        expanded.extend(_initials_run(word, other) or [word])
    return expanded


def _initials_run(word: str, other: list[str]) -> list[str] | None:
    """The run of 2+ words of `other` whose initials `word` is ("iof": "israeli occupation
    forces"; "ffaa": "fuerzas armadas", Spanish doubling a plural's initials), else None."""
    if not 2 <= len(word) <= MAX_ACRONYM or _DIGIT.search(word) or word in other:
        return None
    letters = _undoubled(word)
    meaningful = [w for w in other if w not in FUNCTION_WORDS]
    for words in (other, meaningful):
        for start in range(len(words) - len(letters) + 1):
            run = words[start : start + len(letters)]
            if len(run) >= 2 and "".join(w[0] for w in run) == letters:
                return run
    return None


def _undoubled(word: str) -> str:
    """ "ffaa" -> "fa", "eeuu" -> "eu"; any other word as it is."""
    pairs = len(word) >= 4 and len(word) % 2 == 0
    if pairs and all(word[i] == word[i + 1] for i in range(0, len(word), 2)):
        return word[::2]
    return word


def relate(
    earlier: Story, later: Story, threshold: float = DEFAULT_THRESHOLD, aliases: Aliases = ()
) -> Verdict:
    """How `later` relates to `earlier`; item_id is left None."""
    if not same_attribution(earlier.attribution, later.attribution, aliases):
        moved = _speaker_moved(earlier, later)
        if moved is None:
            return NEW
        earlier, later = moved
    if earlier.joined == later.joined:
        return Verdict("duplicate", score=100.0)
    # Close wording (a ratio at the threshold) is an update unless a name was replaced;
    # other wording (a ratio from REWORD_FLOOR) is one when names and numbers agree.
    score = _rapidfuzz.fuzz.ratio(earlier.joined, later.joined, score_cutoff=REWORD_FLOOR)
    if score < REWORD_FLOOR:
        return Verdict("new", score=score)
    if score < threshold and not _same_facts(earlier.words, later.words):
        return Verdict("new", score=score)  # most candidates: decided before the word diff
    changes, other_name = _word_changes(earlier.words, later.words)
    if (score >= threshold and other_name) or _other_count(earlier.words, later.words):
        return Verdict("new", score=score)
    return Verdict("update", score=score, changes=tuple(changes[:MAX_CHANGES_SHOWN]))


def _speaker_moved(earlier: Story, later: Story) -> tuple[Story, Story] | None:
    """The two lines with one speaker, if one line credits a speaker ("Hegseth: US forces
    struck a vessel...") that the other, credited to none, names in its words ("Pete
    Hegseth announces US strike on a vessel...", "..., Belga reports"): that line's words
    without the speaker's name, under the same credit. Else None."""
    if bool(earlier.attribution) == bool(later.attribution):
        return None
    credited, bare = (earlier, later) if earlier.attribution else (later, earlier)
    words = _without_speaker(bare.words, credited.attribution.split())
    if words is None:
        return None
    moved = Story(credited.attribution, words, " ".join(w.key for w in words))
    return (credited, moved) if credited is earlier else (moved, credited)


def _without_speaker(words: Sequence[Word], speaker: list[str]) -> tuple[Word, ...] | None:
    """`words` without the speaker (a canonical attribution's words), if they name it as
    the one who speaks: its words opening the line ("Israeli occupation forces issue..."),
    or its name (its last word, folded; capitalised, or in a script without capitals any
    word that may be a name) with the capitalised words before it ("Pete Hegseth", "Gaza
    Health Ministry") opening the line ("Pete Hegseth announces...") or closing it, a word
    such as "reports" after it ("..., Belga reports"). A name elsewhere is who the line is
    about ("Protesters demand that Netanyahu stop the war"), not who says it: None, as
    when `words` do not name the speaker."""
    opening = [names.fold_word(w.key) for w in words[: len(speaker)]]
    if len(words) > len(speaker) and all(map(_same_word, opening, speaker)):
        return tuple(words[len(speaker) :])
    name = speaker[-1]
    for index, word in enumerate(words):
        if not ((word.proper or index == 0) and _is_speaker_word(word, name)):
            continue
        start = index
        while start > 0 and words[start - 1].text[:1].isupper():
            start -= 1
        if start == 0 or index >= len(words) - 1 - MAX_WORDS_AFTER_SPEAKER:
            return tuple(words[:start]) + tuple(words[index + 1 :])
    return None


def _is_speaker_word(word: Word, name: str) -> bool:
    """Whether `word` is the speaker's `name` (a canonical attribution word), as a name."""
    key = names.fold_word(word.key)
    if not _same_word(key, name) and not names.same_word(key, name):
        return False
    return word.text[:1].isupper() if names.is_cased(word.text) else names.may_be_name(key)


def compare(
    earlier: str,
    later: str,
    threshold: float = DEFAULT_THRESHOLD,
    aliases: Aliases = (),
    seconds_apart: float | None = None,
) -> Verdict:
    """How the ticker line `later` relates to the line `earlier`; item_id is left None.
    With `seconds_apart` (how long after `earlier` `later` came), the rules that need the
    times apply as the store applies them (`recredited`)."""
    story = Story.of(later)
    verdict = relate(Story.of(earlier), story, threshold, aliases)
    if verdict.kind != "new" or seconds_apart is None:
        return verdict
    return recredited(Candidate(0, earlier, first_seen=0.0), story, seconds_apart)


def classify(
    line: Line,
    candidates: Iterable[Candidate],
    threshold: float = DEFAULT_THRESHOLD,
    aliases: Aliases = (),
    now: float | None = None,
) -> Verdict:
    """The best relation of `line`, seen at `now`, to any candidate: a duplicate beats an
    update, a higher similarity beats a lower one; NEW if none is close enough."""
    best = NEW
    story = Story.of(line.text)
    for candidate in candidates:
        credit = canonical_attribution(speaker_and_body(candidate.text)[0])
        if not same_attribution(credit, story.attribution, aliases):
            # Another speaker, another story, not worth reading its words; unless the very
            # same words came moments ago, or one line names the other's speaker in its
            # words (relate reads those).
            verdict = recredited(candidate, story, now)
            if verdict.kind == "new" and not (credit and story.attribution):
                verdict = relate(Story.of(candidate.text), story, threshold, aliases)
        else:
            verdict = relate(Story.of(candidate.text), story, threshold, aliases)
        if verdict.kind == "new":
            continue
        rank = (verdict.kind == "duplicate", verdict.score)
        if best.kind == "new" or rank > (best.kind == "duplicate", best.score):
            best = Verdict(verdict.kind, candidate.item_id, verdict.score, verdict.changes)
    return best


def recredited(earlier: Candidate, later: Story, now: float | None) -> Verdict:
    """A duplicate if `later`, seen at `now`, has the body of `earlier` (the same content
    words, 5 or more) within SAME_BODY_WINDOW of it and the credit moved between kinds: to
    or from the outlet's own correspondent, or added or dropped; else NEW. Without the
    times, NEW."""
    if now is None or earlier.first_seen is None:
        return NEW
    if not 0 <= now - earlier.first_seen <= SAME_BODY_WINDOW:
        return NEW
    if len(later.words) < MIN_SAME_BODY_WORDS:
        return NEW
    attribution, body = speaker_and_body(earlier.text)
    if _credit(canonical_attribution(attribution)) == _credit(later.attribution):
        return NEW  # checked first: it is cached, the words are not
    bare = body.replace("'", "").replace("\u2019", "").casefold()  # as content_words reads it
    if later.words[0].key not in bare or later.words[-1].key not in bare:
        return NEW  # a cheap look before the words: most bodies differ at an end
    if " ".join(w.key for w in content_words(body)) != later.joined:
        return NEW
    return Verdict("duplicate", score=100.0)


def _credit(attribution: str) -> str:
    """Whose credit the canonical `attribution` is: none, the outlet's own correspondent, or
    another. The same words under two others ("Hamas" / "Islamic Jihad", two hospitals'
    directors, two towns as datelines) or from two correspondents (in two places) are each
    their own; a credit corrected moves between kinds."""
    if not attribution:
        return "none"
    return "own" if attribution.split()[0] == "correspondent" else "other"


def edit_of(earlier: Candidate, line: Line) -> Verdict:
    """`line` as an update of `earlier`, an item its source gives the same id (an edited
    post, a feed item whose title changed): the source says it is one story, so no
    threshold applies; the changes are the word diff, as for any update."""
    before, after = Story.of(earlier.text), Story.of(line.text)
    changes, _ = _word_changes(before.words, after.words)
    score = _rapidfuzz.fuzz.ratio(before.joined, after.joined)
    return Verdict("update", earlier.item_id, score, tuple(changes[:MAX_CHANGES_SHOWN]))


@dataclass(frozen=True)
class Judge:
    """What the store needs to de-duplicate: which terms to index a line under, how far back
    to look (seconds), and how to classify a line against candidates."""

    window: float = 48 * 3600.0
    threshold: float = DEFAULT_THRESHOLD
    aliases: Aliases = ()

    def terms(self, line: Line) -> set[str]:
        """The index terms of `line`."""
        return index_terms(line)

    def classify(
        self, line: Line, candidates: Iterable[Candidate], now: float | None = None
    ) -> Verdict:
        """The line's relation to the candidates, the line seen at `now`."""
        return classify(line, candidates, self.threshold, self.aliases, now)
