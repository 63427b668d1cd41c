"""CPU cost of the drain `ticker run` does after every poll (`Daemon.drain`: the outbox's
due deliveries, then the systemd status line) when nothing is due: the channel's oldest
delivery waits for a retry (the channel is down) and N more wait behind it. With S sources
polled every 30 s there are S / 30 such drains a second; this gives the cost of each.

    .venv/bin/python -m bench.drain_backlog [--pending 0 100 1000 5000] [--sources 500]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.rig import command_line, machine, p95, revision
from ticker.config import parse_config
from ticker.daemon import Daemon
from ticker.lines import Line
from ticker.notify import Failure, Limits, Message
from ticker.store import Store

NOW = 1_764_000_000.0


class NeverCalled:
    """A Sender that fails the benchmark if the drain sends anything."""

    def send(self, channel: str, message: Message) -> Failure | None:
        raise AssertionError("nothing should be due")

    def limits(self, channel: str) -> Limits:
        return Limits()


def fill(store: Store, pending: int) -> None:
    """A silent baseline poll, then `pending` alerts of source s0 with a pending delivery to
    "mail", the first one waiting for a retry an hour from NOW (so none is due)."""
    store.record_poll("s0", "http://127.0.0.1/", [Line.from_text("seed")], NOW - 100, ["mail"])
    batch = 1000
    for start in range(0, pending, batch):
        page = [
            Line.from_text(f"Al Mayadeen's correspondent: backlog line {n} of the bench")
            for n in range(start + min(batch, pending - start) - 1, start - 1, -1)
        ]
        store.record_poll("s0", "http://127.0.0.1/", page, NOW - 50 + start / 1e6, ["mail"])
    with store.transaction() as conn:
        conn.execute(
            "UPDATE deliveries SET next_attempt = ?, attempts = 1 "
            "WHERE id = (SELECT min(id) FROM deliveries)",
            (NOW + 3600,),
        )


async def drains(daemon: Daemon, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.process_time()
        await daemon.drain()
        samples.append(time.process_time() - started)
    return samples


def measure(pending: int, sources: int, runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ticker.db"
        data = {
            "ticker": {"database": str(db), "interval": 30},
            "source": [
                {"name": f"s{n}", "url": f"http://127.0.0.1/{n}", "selector": "li"}
                for n in range(sources)
            ],
            "channel": [{"name": "mail", "urls": ["json://127.0.0.1:9/x"]}],
        }
        config = parse_config(data, Path(tmp))
        store = Store.open(db)
        fill(store, pending)
        daemon = Daemon(config, store, httpx.AsyncClient(), NeverCalled(), clock=lambda: NOW)
        samples = asyncio.run(drains(daemon, runs))
        assert store.pending_count() == pending
        store.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pending", type=int, nargs="+", default=[0, 100, 1000, 5000])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}; ticker at {revision()}")
    print(f"command: {command_line()}")
    print(f"{args.sources} sources in the config, {args.runs} drains each, nothing due")
    print("pending  drain median  p95       CPU share at one drain per poll, every 30 s")
    for pending in args.pending:
        samples = measure(pending, args.sources, args.runs)
        med = statistics.median(samples)
        share = 100 * med * args.sources / 30
        print(
            f"{pending:>7}  {med * 1000:8.3f} ms  {p95(samples) * 1000:7.3f} ms  "
            f"{share:5.1f} % of one core",
            flush=True,
        )


if __name__ == "__main__":
    main()
