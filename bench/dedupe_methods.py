"""Compare ways of telling "same story" from "distinct" on the labelled pair set, to choose
the method on evidence: ticker's classifier, the same without its proper-noun guard, and
plain rapidfuzz measures on the content words at the same threshold.

    .venv/bin/python -m bench.dedupe_methods
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz

from ticker.dedupe import DEFAULT_THRESHOLD, Story, compare

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "dedupe_pairs.tsv"
Method = Callable[[str, str], bool]


def scorer_method(scorer: Callable[..., float]) -> Method:
    def same(first: str, second: str) -> bool:
        a, b = Story.of(first), Story.of(second)
        return a.attribution == b.attribution and scorer(a.joined, b.joined) >= DEFAULT_THRESHOLD

    return same


METHODS: dict[str, Method] = {
    "ticker (ratio + proper-noun guard)": lambda a, b: compare(a, b).kind != "new",
    "ratio, no guard": scorer_method(fuzz.ratio),
    "token_sort_ratio": scorer_method(fuzz.token_sort_ratio),
    "token_set_ratio": scorer_method(fuzz.token_set_ratio),
    "partial_ratio": scorer_method(fuzz.partial_ratio),
}


def main() -> None:
    with PAIRS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    print(f"{len(rows)} pairs; threshold {DEFAULT_THRESHOLD:g}")
    print(f"{'method':38} precision  recall  distinct stories merged")
    for name, same in METHODS.items():
        tp = fp = fn = 0
        for row in rows:
            truth, guess = row["label"] != "distinct", same(row["first"], row["second"])
            tp += truth and guess
            fp += guess and not truth
            fn += truth and not guess
        print(f"{name:38} {tp / max(1, tp + fp):9.3f}  {tp / (tp + fn):6.3f}  {fp}")


if __name__ == "__main__":
    main()
