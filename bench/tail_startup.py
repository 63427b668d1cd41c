"""Wall time of `ticker tail -n 20`, start to finish, as a new process, against a database
holding N alerts; compared with a bare `python -c pass`. Then the wall time of one look of
`ticker tail -f` (new alerts, and the deliveries changed since the last look), in-process.

    .venv/bin/python -m bench.tail_startup [--alerts 100000] [--runs 15] [--postgres]

`--postgres` keeps the alerts in a throwaway PostgreSQL database (tests/postgres.py starts the
server for the run) instead of a SQLite file: `ticker tail --database` then loads psycopg.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ticker.lines import Line
from ticker.store import Store


def fill(db: Path | str, alerts: int) -> None:
    """`alerts` alerts of one source, each with a sent delivery, written in bulk."""
    store = Store.open(db)
    store.record_poll("bench", "https://example.org/", [Line.from_text("seed")], 0.0, ["mail"])
    batch = 10_000
    for start in range(0, alerts, batch):
        page = [
            Line.from_text(f"Al Mayadeen's correspondent: line number {n} of the bench")
            for n in range(start + min(batch, alerts - start) - 1, start - 1, -1)
        ]
        store.record_poll("bench", "https://example.org/", page, 1.0 + start, ["mail"])
    with store.transaction() as conn:
        conn.execute("UPDATE deliveries SET status = 'sent', sent_at = created")
    store.close()


def timed(command: list[str], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return samples


def follow_looks(db: Path | str, looks: int) -> list[float]:
    """Wall time of one look of `ticker tail -f` at `db`, `looks` times (a follower started
    for each look: an upper bound on what a running one pays per second)."""
    from ticker import tail as tailing

    store = Store.open_readonly(db)
    after = store.last_alert_id()
    samples = []
    for _ in range(looks):
        started = time.perf_counter()
        list(tailing.follow(store, after, source=None, grep=None, sleep=lambda _: None, rounds=1))
        samples.append(time.perf_counter() - started)
    store.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    args = parser.parse_args()
    server = None
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import postgres  # tests/postgres.py

        server = postgres.PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db: Path | str = Path(tmp) / "ticker.db"
            if server is not None:
                from ticker.dburl import PostgresTarget

                db = str(PostgresTarget.from_conninfo(server.create_database()))
            run(db, Path(tmp) / "config.toml", args.alerts, args.runs)
    finally:
        if server is not None:
            server.stop()


def run(db: Path | str, config: Path, alerts: int, runs: int) -> None:
    """Fill `db`, time `ticker tail -n 20` against it and one look of `tail -f`; print."""
    config.write_text(f'[ticker]\ndatabase = "{db}"\n', encoding="utf-8")
    fill(db, alerts)
    ticker = [sys.executable, "-m", "ticker", "--config", str(config), "tail", "-n", "20"]
    tail = timed(ticker, runs)
    bare = timed([sys.executable, "-c", "pass"], runs)
    looks = follow_looks(db, 200)
    engine = "SQLite" if isinstance(db, Path) else "PostgreSQL"
    print(f"alerts in the database: {alerts} ({engine}), runs: {runs}")
    print(
        f"ticker tail -n 20: median {statistics.median(tail) * 1000:.0f} ms "
        f"(min {min(tail) * 1000:.0f}, max {max(tail) * 1000:.0f})"
    )
    print(f"python -c pass:    median {statistics.median(bare) * 1000:.0f} ms")
    print(
        f"ticker tail -f, one look: median {statistics.median(looks) * 1000:.3f} ms "
        f"(max {max(looks) * 1000:.3f})"
    )


if __name__ == "__main__":
    main()
