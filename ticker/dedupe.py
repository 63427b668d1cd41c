"""One alert per story: classify a new line as new, an update of an earlier item, or a
duplicate of one.

Pure functions: the store finds the candidates (through its term index), this module
decides. The method, on a labelled set (tests/data/dedupe_pairs.tsv):
- attributions are compared in canonical form ("Al Mayadeen's correspondent" and
  "Our correspondent" are one), and different attributions are different stories;
- bodies are compared as content words (case, quotes, punctuation and a few filler words
  ignored): equal content words are a duplicate;
- otherwise a character-level similarity of the content words (rapidfuzz) must reach the
  threshold, and the word diff must not replace a name by a different one (another town,
  another person: a new event), unless the replacement is a typo fix; a name is a
  capitalised word, or in a script without capitals any word that is not a number or a
  function word (ticker/names.py);
- or, for a re-post in other words, a lower similarity with the same names and numbers
  and most words kept (`_same_facts`);
- the same numbers counting another kind of toll ("44 martyrs" / "44 wounded") are another
  story.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from ticker import names
from ticker.fold import fold_word, word_pattern
from ticker.lines import Line, canonical_attribution, split_attribution

Kind = Literal["new", "update", "duplicate"]
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
        and Levenshtein.normalized_similarity(a, b, score_cutoff=TYPO_SIMILARITY) > 0
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
        scorer = Levenshtein.normalized_similarity
        if process.extractOne(key, typo_able, scorer=scorer, score_cutoff=TYPO_SIMILARITY):
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
    ("from", "than", "desde", "منذ": a rewording adds and drops them freely)."""
    keys = (names.fold_word(w.key) for w in words)
    return {
        key
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
        for op in Levenshtein.opcodes(a, b)
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
        attribution, body = split_attribution(text)
        words = tuple(content_words(body))
        return cls(canonical_attribution(attribution), words, " ".join(w.key for w in words))


def relate(earlier: Story, later: Story, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """How `later` relates to `earlier`; item_id is left None."""
    if earlier.attribution != later.attribution:
        return NEW
    if earlier.joined == later.joined:
        return Verdict("duplicate", score=100.0)
    # Close wording (a ratio at the threshold) is an update unless a name was replaced;
    # other wording (a ratio from REWORD_FLOOR) is one when names and numbers agree.
    score = fuzz.ratio(earlier.joined, later.joined, score_cutoff=REWORD_FLOOR)
    if score < REWORD_FLOOR:
        return Verdict("new", score=score)
    if score < threshold and not _same_facts(earlier.words, later.words):
        return Verdict("new", score=score)  # most candidates: decided before the word diff
    changes, other_name = _word_changes(earlier.words, later.words)
    if (score >= threshold and other_name) or _other_count(earlier.words, later.words):
        return Verdict("new", score=score)
    return Verdict("update", score=score, changes=tuple(changes[:MAX_CHANGES_SHOWN]))


def compare(earlier: str, later: str, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """How the ticker line `later` relates to the line `earlier`; item_id is left None."""
    return relate(Story.of(earlier), Story.of(later), threshold)


def classify(
    line: Line, candidates: Iterable[Candidate], threshold: float = DEFAULT_THRESHOLD
) -> Verdict:
    """The best relation of `line` to any candidate: a duplicate beats an update, a higher
    similarity beats a lower one; NEW if none is close enough."""
    best = NEW
    story = Story.of(line.text)
    for candidate in candidates:
        if canonical_attribution(split_attribution(candidate.text)[0]) != story.attribution:
            continue  # another attribution, another story: not worth reading its words
        verdict = relate(Story.of(candidate.text), story, threshold)
        if verdict.kind == "new":
            continue
        rank = (verdict.kind == "duplicate", verdict.score)
        if best.kind == "new" or rank > (best.kind == "duplicate", best.score):
            best = Verdict(verdict.kind, candidate.item_id, verdict.score, verdict.changes)
    return best


def edit_of(earlier: Candidate, line: Line) -> Verdict:
    """`line` as an update of `earlier`, an item its source gives the same id (an edited
    post, a feed item whose title changed): the source says it is one story, so no
    threshold applies; the changes are the word diff, as for any update."""
    changes, _ = _word_changes(Story.of(earlier.text).words, Story.of(line.text).words)
    score = fuzz.ratio(Story.of(earlier.text).joined, Story.of(line.text).joined)
    return Verdict("update", earlier.item_id, score, tuple(changes[:MAX_CHANGES_SHOWN]))


@dataclass(frozen=True)
class Judge:
    """What the store needs to de-duplicate: which terms to index a line under, how far back
    to look (seconds), and how to classify a line against candidates."""

    window: float = 48 * 3600.0
    threshold: float = DEFAULT_THRESHOLD

    def terms(self, line: Line) -> set[str]:
        """The index terms of `line`."""
        return index_terms(line)

    def classify(self, line: Line, candidates: Iterable[Candidate]) -> Verdict:
        """The line's relation to the candidates."""
        return classify(line, candidates, self.threshold)
