"""One alert per story: classify a new line as new, an update of an earlier item, or a
duplicate of one.

Pure functions: the store finds the candidates (through its term index), this module
decides. The method, on a labelled set (tests/data/dedupe_pairs.tsv):
- attributions are compared in canonical form ("Al Mayadeen's correspondent" and
  "Our correspondent" are one), and different attributions are different stories;
- bodies are compared as content words (case, quotes, punctuation and a few filler words
  ignored): equal content words are a duplicate;
- otherwise a character-level similarity of the content words (rapidfuzz) must reach the
  threshold, and the word diff must not replace a proper noun by a different one (another
  town, another person: a new event), unless the replacement is a typo fix.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

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
    return min(len(a), len(b)) >= 4 and Levenshtein.normalized_similarity(a, b) >= TYPO_SIMILARITY


def _is_number_change(a: str, b: str) -> bool:
    return bool(_DIGIT.search(a) or _DIGIT.search(b))


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
    """What changed, word by word, and whether a proper noun was replaced by another."""
    changes: list[str] = []
    other_name = False
    for op, a1, a2, b1, b2 in _opcodes([w.key for w in before], [w.key for w in after]):
        old, new = before[a1:a2], after[b1:b2]
        if op == "replace":
            changes.append(
                f"{' '.join(w.text for w in old)} \u2192 {' '.join(w.text for w in new)}"
            )
            for x, y in zip(old, new, strict=False):
                renamed = (x.proper or y.proper) and not _is_typo(x.key, y.key)
                if renamed and not _is_number_change(x.key, y.key):
                    other_name = True
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
    score = fuzz.ratio(earlier.joined, later.joined, score_cutoff=threshold)
    if score < threshold:
        return Verdict("new", score=score)
    changes, other_name = _word_changes(earlier.words, later.words)
    if other_name:
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
