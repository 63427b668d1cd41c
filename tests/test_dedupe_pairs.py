"""The classifier on the labelled set tests/data/dedupe_pairs.tsv (see make_dedupe_pairs.py).

Never suppressing a distinct story matters most: precision of "duplicate or update" must be
at least 0.99; recall of the same at least 0.95.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from ticker.dedupe import compare

PAIRS = Path(__file__).parent / "data" / "dedupe_pairs.tsv"
MIN_PRECISION = 0.99
MIN_RECALL = 0.95


def load_pairs() -> list[dict[str, str]]:
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_the_set_is_large_and_balanced() -> None:
    labels = Counter(row["label"] for row in load_pairs())
    assert sum(labels.values()) >= 300
    assert set(labels) == {"duplicate", "update", "distinct"}
    assert min(labels.values()) >= 90


def test_precision_and_recall_of_same_story(capsys) -> None:
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for row in load_pairs():
        predicted = compare(row["first"], row["second"]).kind
        predicted = "distinct" if predicted == "new" else predicted
        confusion[row["label"], predicted] += 1
        if predicted != row["label"]:
            misses.append(f"{row['label']} -> {predicted} [{row['note']}]: {row['second']}")
    same = {"duplicate", "update"}
    true_pos = sum(n for (label, got), n in confusion.items() if label in same and got in same)
    false_pos = sum(
        n for (label, got), n in confusion.items() if label == "distinct" and got in same
    )
    false_neg = sum(
        n for (label, got), n in confusion.items() if label in same and got == "distinct"
    )
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / (true_pos + false_neg)
    exact = sum(n for (label, got), n in confusion.items() if label == got) / sum(
        confusion.values()
    )
    with capsys.disabled():
        print(
            f"\ndedupe pairs: precision {precision:.3f}, recall {recall:.3f}, "
            f"3-class accuracy {exact:.3f}, confusion {dict(sorted(confusion.items()))}"
        )
    assert precision >= MIN_PRECISION, misses
    assert recall >= MIN_RECALL, misses
