"""`ticker tail`: print recent alerts and, with follow, new ones as they are written.

Reads the store only: no scheduler, no Apprise, no httpx, so it starts fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from ticker.store import AlertView, Store

FOLLOW_EVERY = 1.0  # seconds between looks at the database with --follow
MARKS = {"sent": "sent", "pending": "pending", "failed": "FAILED"}


def iso_utc(timestamp: float) -> str:
    """ISO 8601 in UTC, seconds precision: 2026-11-25T07:15:02Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time(timestamp: float) -> str:
    """Local wall-clock time for people: 2026-11-25 09:15:02."""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def as_json(alert: AlertView) -> str:
    """One JSON Lines record of an alert."""
    return json.dumps(
        {
            "id": alert.id,
            "source": alert.source,
            "attribution": alert.attribution,
            "text": alert.text,
            "url": alert.url,
            "first_seen": iso_utc(alert.first_seen),
            "deliveries": alert.deliveries,
        },
        ensure_ascii=False,
    )


def as_text(alert: AlertView) -> str:
    """A human line (and the link under it): time, source, text, delivery marks."""
    marks = (
        ", ".join(
            f"{channel}: {MARKS.get(status, status)}"
            for channel, status in alert.deliveries.items()
        )
        or "no channel"
    )
    line = f"{local_time(alert.first_seen)}  {alert.source}  {alert.text}  [{marks}]"
    return f"{line}\n    {alert.url}" if alert.url else line


def follow(
    store: Store,
    after_id: int,
    *,
    source: str | None,
    grep: str | None,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> Iterator[AlertView]:
    """Yield alerts newer than `after_id` as they appear (forever, or `rounds` looks)."""
    looked = 0
    while rounds is None or looked < rounds:
        for alert in store.recent_alerts(1000, source=source, grep=grep, after_id=after_id):
            after_id = alert.id
            yield alert
        looked += 1
        sleep(FOLLOW_EVERY)
