"""`ticker tail`: print recent alerts and, with follow, new ones as they are written.

Reads the store only: no scheduler, no Apprise, no httpx, so it starts fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from ticker.errors import DatabaseMissing
from ticker.lines import canonical_attribution
from ticker.store import AlertView, AlsoView, Store

FOLLOW_EVERY = 1.0  # seconds between looks at the database with --follow
MARKS = {"sent": "sent", "pending": "pending", "failed": "FAILED"}


def iso_utc(timestamp: float) -> str:
    """ISO 8601 in UTC, seconds precision: 2026-11-25T07:15:02Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time(timestamp: float) -> str:
    """Local wall-clock time for people: 2026-11-25 09:15:02."""
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _burst_key(alert: AlertView) -> tuple[str, float, str] | None:
    if alert.kind != "new" or not alert.attribution:
        return None
    return alert.source, alert.created, canonical_attribution(alert.attribution)


def burst_ids(alerts: list[AlertView]) -> dict[int, int]:
    """For each alert, the id of the first alert of its burst: consecutive new lines of one
    source and attribution recorded by the same poll (they go out as one message)."""
    first: dict[int, int] = {}
    previous: AlertView | None = None
    for alert in alerts:
        key = _burst_key(alert)
        same = previous is not None and key is not None and key == _burst_key(previous)
        first[alert.id] = first[previous.id] if same and previous else alert.id
        previous = alert
    return first


def as_json(alert: AlertView, group: int | None = None) -> str:
    """One JSON Lines record of an alert."""
    return json.dumps(
        {
            "id": alert.id,
            "source": alert.source,
            "kind": alert.kind,
            "attribution": alert.attribution,
            "text": alert.text,
            "url": alert.url,
            "first_seen": iso_utc(alert.first_seen),
            "updates_id": alert.updates_id,
            "updates_text": alert.updates_text,
            "changes": alert.changes.split("; ") if alert.changes else [],
            "group": group if group is not None else alert.id,
            "deliveries": alert.deliveries,
            "also": [also_json(also) for also in alert.also],
        },
        ensure_ascii=False,
    )


def also_json(also: AlsoView) -> dict[str, object]:
    """A line of another source that also reported an alert's story, as `--json` gives it;
    `deliveries` are its follow-ups (channels with `also = "notify"`)."""
    return {
        "source": also.source,
        "text": also.text,
        "first_seen": iso_utc(also.first_seen),
        "deliveries": also.deliveries,
    }


def _delivery_marks(deliveries: dict[str, str]) -> str:
    return ", ".join(
        f"{channel}: {MARKS.get(status, status)}" for channel, status in deliveries.items()
    )


def also_text(also: AlsoView) -> str:
    """The line under an alert saying another source reported its story too, with the
    follow-ups sent for it, if any."""
    marks = _delivery_marks(also.deliveries)
    sent = f"  [follow-up {marks}]" if marks else ""
    return f"    \u21b3 also: {also.source} ({local_time(also.first_seen)}): {also.text}{sent}"


def as_text(alert: AlertView, group: int | None = None) -> str:
    """A human line (and what it updates, its link, and the other sources that also
    reported it, under it): time, source, text, delivery marks. A line that belongs to the
    burst of the line above is drawn as such."""
    marks = _delivery_marks(alert.deliveries) or "no channel"
    in_burst = group is not None and group != alert.id
    when = "  \u2514\u2500 same burst     " if in_burst else local_time(alert.first_seen)
    kind = {"update": "UPDATE ", "health": "HEALTH "}.get(alert.kind, "")
    lines = [f"{when}  {alert.source}  {kind}{alert.text}  [{marks}]"]
    if alert.kind == "update" and alert.updates_text:
        of = f"#{alert.updates_id}" if alert.updates_id else "an earlier line"
        changed = f" ({alert.changes})" if alert.changes else ""
        lines.append(f"    \u21b3 updates {of}: {alert.updates_text}{changed}")
    if alert.url:
        lines.append(f"    {alert.url}")
    lines.extend(also_text(also) for also in alert.also)
    return "\n".join(lines)


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


def wait_for_database(
    path: Path,
    poll: float,
    stop: Callable[[], bool],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Wait until ticker's database is at `path` with its schema in place (a daemon that
    starts creates it, then migrates it), looking every `poll` seconds; True once it is,
    False if `stop()` said to stop first (it is asked before each look). Raises
    StoreError if a file is there that is not ticker's database: waiting would not help."""
    while not stop():
        if _has_schema(path):
            return True
        sleep(poll)
    return False


def _has_schema(path: Path) -> bool:
    """True if the database at `path` has ticker's tables; False if there is none yet (no
    file, an empty one, or one still being migrated for the first time)."""
    try:
        store = Store.open_readonly(path)
    except DatabaseMissing:
        return False
    try:
        return store.schema_version() > 0
    finally:
        store.close()
