"""When to poll a source next: its interval with a little jitter; `min_interval` while its
ticker is moving; exponential backoff with jitter after failures, capped, and never sooner
than the server's Retry-After. The first success brings the normal interval back.

Every figure here is a span of seconds, never a time of day: the daemon waits them out on the
monotonic clock (ticker.clock), and measures MOVING_WINDOW on it too, so a step of the wall
clock shortens or stretches none of them."""

from __future__ import annotations

import random

from ticker.config import Source

MOVING_WINDOW = 300.0  # a ticker that showed a new line in the last 5 minutes is moving
BACKOFF_CAP = 1800.0  # seconds: a failing source is still tried every half hour or so
RETRY_AFTER_CAP = 6 * 3600.0  # a Retry-After longer than this is not believed


def backoff(interval: float, failures: int) -> float:
    """The wait after `failures` failed polls in a row, before jitter: the interval, then
    doubling (2x, 4x...), capped at BACKOFF_CAP (or the interval, if that is longer)."""
    return min(interval * 2 ** max(0, failures - 1), max(BACKOFF_CAP, interval))


def next_delay(
    source: Source,
    *,
    failures: int = 0,
    retry_after: float | None = None,
    moving: bool = False,
    rng: random.Random | None = None,
) -> float:
    """Seconds until `source` is polled again, given how its last poll went."""
    rng = rng or random.Random()
    if failures == 0:
        base = source.min_interval if moving and source.min_interval else source.interval
        return base + rng.uniform(0, source.jitter)
    delay = backoff(source.interval, failures) * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay
