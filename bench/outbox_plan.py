"""CPU cost of turning a channel's backlog into messages: `plan` (bursts, rate-limit digest)
then `fit` (split to the channel's limit), for a backlog of N alerts, with Telegram's limit
(4,096 characters) and a desktop's (10 lines).

    .venv/bin/python -m bench.outbox_plan [--alerts 500] [--runs 21]
"""

from __future__ import annotations

import argparse
import statistics
import time

from ticker.notify import Limits
from ticker.outbox import Shaping, fit, plan
from ticker.store import Delivery

TELEGRAM = Limits(chars=4096 - 32)
DESKTOP = Limits(chars=32768 - 32, lines=10)


def backlog(alerts: int) -> list[Delivery]:
    """`alerts` pending deliveries, 1 in 4 sharing an attribution with the one before."""
    return [
        Delivery(
            id=n,
            alert_id=n,
            channel="phone",
            attempts=0,
            created=1000.0 + n - n % 4,
            next_attempt=0.0,
            source="almayadeen-en",
            text=f"Source {n // 4}: an ordinary ticker line of some length, number {n}",
            attribution=f"Source {n // 4}",
            body=f"an ordinary ticker line of some length, number {n}",
            url=f"https://english.almayadeen.net/news/{n}",
            first_seen=1000.0 + n,
        )
        for n in range(alerts)
    ]


def measure(deliveries: list[Delivery], limits: Limits, allowance: int, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.process_time()
        messages = plan(deliveries, Shaping(), allowance)
        pieces = [piece for message in messages for piece in fit(message, limits, None)]
        samples.append((time.process_time() - started) * 1000)
    assert sum(len(p.deliveries) for p in pieces) == len(deliveries)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    deliveries = backlog(args.alerts)
    for name, limits in (("telegram", TELEGRAM), ("desktop", DESKTOP)):
        for allowance in (20, 1):
            samples = measure(deliveries, limits, allowance, args.runs)
            print(
                f"{name:8} {args.alerts} alerts, allowance {allowance:2}: "
                f"median {statistics.median(samples):.2f} ms CPU, max {max(samples):.2f} ms"
            )


if __name__ == "__main__":
    main()
