"""Cost of classifying one new line against a source's history of 1k, 100k and 1M lines.

The history is synthetic but ticker-like: lines built from templates of attribution,
action, place, victims and numbers, so common words ("Israeli", "kills", "Gaza") have huge
posting lists, as they would on a busy ticker. It is bulk-loaded with the store's own item
and term writers (no classification while loading). Then for each query line (half are
edits of a history line, half are new stories) the time of the full classification is
measured: index look-up of candidates (`Store.candidates`) plus `Judge.classify`.

With `--across`, as with `[dedupe] across_sources = true`: every other history line belongs
to a second source and every line is indexed for all sources too; a query line not a
duplicate of its own source's lines is then compared with the other source's as well
(`Store.candidates_across`), as `Store.record_poll` does.

    .venv/bin/python -m bench.dedupe_index [--sizes 1000 100000 1000000] [--queries 1000]
        [--across]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from ticker.dedupe import Judge
from ticker.lines import Line
from ticker.store import Store

ATTRIBUTIONS = [
    "Al Mayadeen's correspondent",
    "Gaza Civil Defense spokesman",
    "Hamas",
    "Israeli media",
    "Sources to Al Mayadeen",
    "Palestinian Health Ministry",
    "Islamic Resistance in Lebanon",
    "Yemeni Armed Forces",
]
PLACES = [
    "Khan Younis",
    "Rafah",
    "Jabalia",
    "Beit Hanoun",
    "Deir al-Balah",
    "Nuseirat",
    "al-Shujaiya",
    "al-Zaytoun",
    "Tyre",
    "Bint Jbeil",
    "Nabatieh",
    "Marjayoun",
    "Jenin",
    "Nablus",
    "Tulkarm",
    "Hebron",
    "Tubas",
    "Qalqilya",
    "Kiryat Shmona",
    "Metula",
    "Sanaa",
    "Hodeidah",
    "Saada",
    "Damascus",
    "Quneitra",
    "Daraa",
]
VICTIMS = [
    "people",
    "children",
    "women",
    "paramedics",
    "journalists",
    "soldiers",
    "civilians",
    "fishermen",
    "farmers",
    "students",
]
TEMPLATES = [
    "Israeli airstrike on a house in {place} kills {n} {victims}",
    "Israeli drone targets a car near {place}, killing {n} {victims}",
    "Occupation forces raid {place} and detain {n} {victims}",
    "Artillery shelling hits the outskirts of {place}, injuring {n} {victims}",
    "Sirens sound in {place} after a rocket barrage, {n} {victims} wounded",
    "Rescue teams recover {n} {victims} from under the rubble in {place}",
    "Clashes erupt in {place} as occupation forces storm the town, {n} {victims} hurt",
    "The death toll in {place} has risen to {n} {victims} since the morning",
]


def synthetic_line(rng: random.Random, serial: int) -> str:
    template = rng.choice(TEMPLATES)
    place = rng.choice(PLACES) + ("" if rng.random() < 0.5 else f" district {serial % 997}")
    text = template.format(place=place, n=rng.randint(1, 300), victims=rng.choice(VICTIMS))
    return f"{rng.choice(ATTRIBUTIONS)}: {text}"


def fill(store: Store, size: int, rng: random.Random, across: bool = False) -> list[str]:
    """`size` history lines of source "bench" (with `across`, every other one of "other"),
    all seen at t=size (inside the window)."""
    texts: list[str] = []
    seen: set[str] = set()
    judge = Judge()
    with store.transaction() as conn:
        while len(texts) < size:
            line = Line.from_text(synthetic_line(rng, len(texts)))
            if line.fingerprint in seen:
                continue
            seen.add(line.fingerprint)
            texts.append(line.text)
            source = "other" if across and len(texts) % 2 else "bench"
            item_id = store._insert_item(conn, source, line, float(size), None)
            store._index_terms(conn, source, item_id, judge.terms(line), across)
    return texts


def queries(history: list[str], count: int, rng: random.Random) -> list[Line]:
    """Half edits of history lines (a number changed, a word dropped), half new stories."""
    result = []
    for n in range(count):
        if n % 2:
            result.append(Line.from_text(synthetic_line(rng, 10**7 + n)))
        else:
            words = rng.choice(history).split()
            index = rng.randrange(len(words))
            words[index] = str(rng.randint(1, 300)) if words[index].isdigit() else words[index]
            if rng.random() < 0.5:
                words.insert(len(words), "overnight")
            result.append(Line.from_text(" ".join(words)))
    return result


def classify(store: Store, judge: Judge, line: Line, since: float, across: bool) -> str:
    """The kind of `line` as record_poll finds it (own source, then, with `across`, the
    other sources); "also" when it is another source's story."""
    terms = judge.terms(line)
    verdict = judge.classify(line, store.candidates("bench", terms, since))
    if not across or verdict.kind == "duplicate":
        return verdict.kind
    other = judge.classify(line, store.candidates_across("bench", terms, since))
    if other.kind == "duplicate" or (other.kind == "update" and verdict.kind == "new"):
        return "also"
    return verdict.kind


def measure(size: int, query_count: int, across: bool = False) -> dict[str, float]:
    rng = random.Random(size)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "bench.db")
        started = time.perf_counter()
        history = fill(store, size, rng, across)
        load_seconds = time.perf_counter() - started
        judge = Judge()
        since = float(size) - judge.window
        samples, kinds = [], {"new": 0, "update": 0, "duplicate": 0, "also": 0}
        for line in queries(history, query_count, rng):
            started = time.perf_counter()
            kind = classify(store, judge, line, since, across)
            samples.append(time.perf_counter() - started)
            kinds[kind] += 1
        db_bytes = (Path(tmp) / "bench.db").stat().st_size
        store.close()
    return {
        "size": size,
        "load_s": load_seconds,
        "median_ms": statistics.median(samples) * 1000,
        "p90_ms": statistics.quantiles(samples, n=10)[-1] * 1000,
        "db_mb": db_bytes / 1e6,
        **{k: float(v) for k, v in kinds.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--across", action="store_true", help="as with across_sources = true")
    args = parser.parse_args()
    also = "/also" if args.across else ""
    print(
        f"history  load    db      classify median  p90      verdicts (new/update/duplicate{also})"
    )
    for size in args.sizes:
        r = measure(size, args.queries, args.across)
        shown = f"/{r['also']:.0f}" if args.across else ""
        print(
            f"{size:>8}  {r['load_s']:5.1f}s  {r['db_mb']:5.0f}MB  {r['median_ms']:8.3f} ms  "
            f"{r['p90_ms']:6.3f} ms  {r['new']:.0f}/{r['update']:.0f}/{r['duplicate']:.0f}{shown}",
            flush=True,
        )


if __name__ == "__main__":
    main()
