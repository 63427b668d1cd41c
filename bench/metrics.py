"""Server time of one `/metrics` scrape (ticker.metrics.exposition) against a database
holding N alerts (each with a sent delivery, the newest 1,000 lines still pending), through
a read-only store as `ticker serve` opens it; compared with counting the same rows from the
tables at scrape time (what the tallies table spares). Also the channels' state as `ticker
status` and the web page's panel read it (Store.channel_stats).

    .venv/bin/python -m bench.metrics [--alerts 1000000] [--scrapes 51]

The database is built as bench/tail_startup.py builds it (real record_poll calls).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.tail_startup import fill
from ticker import metrics
from ticker.lines import Line
from ticker.store import Store

BACKLOG = 1000  # lines of a last poll whose deliveries are still pending


def build(db: Path, alerts: int) -> None:
    """`alerts` alerts with sent deliveries, then a poll of BACKLOG more, left pending."""
    fill(db, alerts)
    store = Store.open(db)
    page = [Line.from_text(f"A line still waiting for its channel, {n}") for n in range(BACKLOG)]
    store.record_poll("bench", "https://example.org/", page, float(alerts + 10), ["mail"])
    store.close()


def timed(action: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def row_counts(store: Store) -> None:
    """Lines, alerts and deliveries counted from the tables, as a scrape would without
    the tallies."""
    for query in (
        "SELECT source, kind, count(*) FROM items GROUP BY source, kind",
        "SELECT source, kind, count(*) FROM alerts GROUP BY source, kind",
        "SELECT channel, status, count(*) FROM deliveries GROUP BY channel, status",
    ):
        store.conn.execute(query).fetchall()


def measure(alerts: int, scrapes: int, directory: Path) -> dict[str, float]:
    db = directory / "ticker.db"
    started = time.perf_counter()
    build(db, alerts)
    build_seconds = time.perf_counter() - started
    store = Store.open_readonly(db)
    try:
        body, _ = metrics.exposition(store)
        scrape = timed(lambda: metrics.exposition(store), scrapes)
        counting = timed(lambda: row_counts(store), max(3, scrapes // 10))
        channels = timed(store.channel_stats, scrapes)
    finally:
        store.close()
    return {
        "alerts": store_alerts(db),
        "build_s": build_seconds,
        "bytes": len(body),
        "median_ms": statistics.median(scrape) * 1000,
        "max_ms": max(scrape) * 1000,
        "counting_ms": statistics.median(counting) * 1000,
        "channels_ms": statistics.median(channels) * 1000,
    }


def store_alerts(db: Path) -> float:
    store = Store.open_readonly(db)
    try:
        return float(store.counts()["alerts"] - BACKLOG)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--scrapes", type=int, default=51)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(args.alerts, args.scrapes, Path(tmp))
    built = f"built in {r['build_s']:.0f} s"
    print(f"alerts in the database: {r['alerts']:.0f} (+{BACKLOG} pending), {built}")
    print(
        f"/metrics: median {r['median_ms']:.2f} ms, max {r['max_ms']:.2f} ms "
        f"over {args.scrapes} scrapes, {r['bytes']:.0f} bytes"
    )
    print(f"counting the same rows from the tables instead: median {r['counting_ms']:.0f} ms")
    print(f"channel state (ticker status, the page's panel): median {r['channels_ms']:.2f} ms")


if __name__ == "__main__":
    main()
