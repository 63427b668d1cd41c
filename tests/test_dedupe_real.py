"""The classifier on REAL ticker lines: tests/data/real_pairs.tsv (built by
tests/data/make_real_pairs.py; how and by what rule in tests/data/real_pairs.md).

Per language, precision of "duplicate or update" must be at least 0.99 (never suppress a
distinct story) and recall at least 0.90 (one alert per story), the floors of issue 14.
Lines go through `clean_text`, as every source's lines do before they are classified.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from ticker.dedupe import compare
from ticker.lines import clean_text

DATA = Path(__file__).parent / "data"
PAIRS = DATA / "real_pairs.tsv"
STRIPS = DATA / "real_strips"
LANGS = ("en", "ar", "es")
LABELS = {"duplicate", "update", "distinct"}
SAME = {"duplicate", "update"}
MIN_PAIRS = {"en": 60, "ar": 60, "es": 30}
MIN_PRECISION = 0.99
MIN_RECALL = 0.90


def load_pairs() -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def real_lines() -> set[str]:
    """Every line of the real captures, verbatim."""
    lines: set[str] = set()
    for path in sorted(STRIPS.glob("*.json")):
        for capture in json.loads(path.read_text(encoding="utf-8")):
            lines.update(capture["lines"])
    return lines


def predicted(row: dict[str, str]) -> str:
    kind = compare(clean_text(row["first"]), clean_text(row["second"])).kind
    return "distinct" if kind == "new" else kind


def measure(lang: str) -> tuple[float, float, list[str], Counter[tuple[str, str]]]:
    """Precision and recall of "duplicate or update" on the pairs of `lang`, the misses
    (a distinct pair called the same story, or a same-story pair called distinct), and the
    confusion of (label, predicted)."""
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for row in load_pairs():
        if row["lang"] != lang:
            continue
        got = predicted(row)
        confusion[row["label"], got] += 1
        if (row["label"] in SAME) != (got in SAME):
            misses.append(
                f"{row['label']} -> {got} ({row['source']}) [{row['note']}]: "
                f"{row['first']!r} | {row['second']!r}"
            )
    true_pos = sum(n for (label, got), n in confusion.items() if label in SAME and got in SAME)
    false_pos = sum(n for (label, got), n in confusion.items() if label not in SAME and got in SAME)
    false_neg = sum(n for (label, got), n in confusion.items() if label in SAME and got not in SAME)
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    recall = true_pos / (true_pos + false_neg) if true_pos + false_neg else 1.0
    return precision, recall, misses, confusion


def test_the_set_is_well_formed() -> None:
    rows = load_pairs()
    assert rows and set(rows[0]) == {"label", "lang", "source", "first", "second", "note"}
    known = real_lines()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        assert row["label"] in LABELS, row
        assert row["lang"] in LANGS, row
        assert row["source"] in {"real", "edit"}, row
        assert row["first"].strip() and row["second"].strip() and row["note"].strip(), row
        if row["source"] == "real":
            assert row["first"] in known, row["first"]
            assert row["second"] in known, row["second"]
        else:
            assert row["first"] != row["second"], row  # an edit changes something
        pair = (row["first"], row["second"])
        assert pair not in seen and pair[::-1] not in seen, pair
        seen.add(pair)
    counts = Counter((row["lang"], row["label"]) for row in rows)
    for lang in LANGS:
        assert sum(n for (lng, _), n in counts.items() if lng == lang) >= MIN_PAIRS[lang]
        assert all(counts[lang, label] >= 8 for label in LABELS), (lang, counts)
    # Plenty of hard distinct pairs, and real ones in both languages that have captures.
    real_distinct = Counter(
        r["lang"] for r in rows if r["source"] == "real" and r["label"] == "distinct"
    )
    assert real_distinct["en"] >= 40 and real_distinct["ar"] >= 20


@pytest.mark.parametrize("lang", LANGS)
def test_precision_and_recall_of_same_story_on_real_lines(lang: str, capsys) -> None:
    precision, recall, misses, confusion = measure(lang)
    with capsys.disabled():
        print(
            f"\nreal pairs [{lang}]: precision {precision:.3f}, recall {recall:.3f}, "
            f"confusion {dict(sorted(confusion.items()))}"
        )
        for miss in misses:
            print("  miss:", miss)
    assert precision >= MIN_PRECISION, misses
    assert recall >= MIN_RECALL, misses
