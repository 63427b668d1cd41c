"""`ticker tail`: print recent alerts and, with follow, new ones as they are written and
each change of a delivery's state (`#41 mail: sent`) as it is recorded.

Reads the store only: no scheduler, no Apprise, no httpx, so it starts fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ticker.errors import DatabaseMissing, DatabaseUnusable, StoreError
from ticker.lines import canonical_attribution
from ticker.store import DATABASE_ERRORS, AlertView, AlsoView, DeliveryChange, Store

FOLLOW_EVERY = 1.0  # seconds between looks at the database with --follow (and for one to appear)
MARKS = {"sent": "sent", "pending": "pending", "failed": "FAILED"}
Shown = AlertView | DeliveryChange  # what `tail -f` prints: an alert, or a delivery's change


@dataclass(frozen=True)
class Seen:
    """How far a follower has read: the newest alert id shown, and the last delivery change
    shown: its change number and, if the reading stopped inside that number, its delivery
    id (None: every change of that number was shown)."""

    alert_id: int
    change: int
    delivery_id: int | None = None


def _pause(seconds: float) -> None:
    time.sleep(seconds)  # looked up when called, so that tests can replace it


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


def as_json(alert: Shown, group: int | None = None) -> str:
    """One JSON Lines record of an alert (`alert_json`), or of a delivery's change
    (`change_json`)."""
    if isinstance(alert, DeliveryChange):
        return json.dumps(change_json(alert), ensure_ascii=False)
    return json.dumps(alert_json(alert, group), ensure_ascii=False)


def alert_json(alert: AlertView, group: int | None = None) -> dict[str, object]:
    """An alert as `--json` gives it (and the web API: the same fields); `group` is the id
    of the burst it belongs to, if it is not its own."""
    return {
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
    }


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


def change_json(change: DeliveryChange) -> dict[str, object]:
    """A delivery's change as `--json` gives it: an object with `"event": "delivery"`
    (alert records have no `event` key), the alert's id, the channel, the status now, the
    attempts so far, when it changed, and the error if any (a "pending" delivery with an
    error waits for a retry). A follow-up of another source's line says so (`also`, with
    the alert of the story as `story`)."""
    record: dict[str, object] = {
        "event": "delivery",
        "alert": change.alert_id,
        "channel": change.channel,
        "status": change.status,
        "attempts": change.attempts,
        "at": iso_utc(change.at) if change.at is not None else None,
        "error": change.error,
    }
    if change.kind == "also":
        record.update(also=change.source, story=change.story_id)
    return record


def change_text(change: DeliveryChange) -> str:
    """A delivery's change as one short line: `#41 mail: sent`, `#41 mail: failed (reason)`,
    `#41 mail: retrying (reason)`; a follow-up names the story's alert and the source."""
    status = "retrying" if change.status == "pending" and change.error else change.status
    why = f" ({change.error})" if change.error and change.status != "sent" else ""
    what = f"#{change.alert_id}"
    if change.kind == "also":
        what = f"#{change.story_id or change.alert_id} follow-up (also: {change.source})"
    when = local_time(change.at) if change.at is not None else " " * 19
    return f"{when}  {what} {change.channel}: {status}{why}"


def as_text(alert: Shown, group: int | None = None) -> str:
    """A human line (and what it updates, its link, and the other sources that also
    reported it, under it): time, source, text, delivery marks. A line that belongs to the
    burst of the line above is drawn as such. A delivery's change is one short line
    (`change_text`)."""
    if isinstance(alert, DeliveryChange):
        return change_text(alert)
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


def recent(
    store: Store, count: int, *, source: str | None, grep: str | None
) -> tuple[list[AlertView], Seen]:
    """The newest `count` alerts (oldest first) and how far they reach, read in one
    snapshot, so that a follower starting there misses no alert and no delivery change."""
    with store.read_snapshot():
        alerts = store.recent_alerts(count, source=source, grep=grep)
        after = alerts[-1].id if alerts else store.last_alert_id()
        change = store.last_delivery_change() if store.follows_deliveries() else 0
    return alerts, Seen(after, change)


def _look(
    store: Store, seen: Seen, source: str | None, grep: str | None, changes: bool
) -> tuple[list[Shown], Seen]:
    """One look: the alerts after `seen`, then the delivery changes after it, except those
    of the alerts just read (they show their deliveries as they are), in one snapshot."""
    with store.read_snapshot():
        alerts = store.recent_alerts(1000, source=source, grep=grep, after_id=seen.alert_id)
        moved = (
            store.delivery_changes(
                seen.change, after_delivery=seen.delivery_id, source=source, grep=grep
            )
            if changes
            else []
        )
    new = {alert.id for alert in alerts}
    shown: list[Shown] = [*alerts, *(c for c in moved if c.alert_id not in new)]
    last = moved[-1] if moved else None
    return shown, Seen(
        alerts[-1].id if alerts else seen.alert_id,
        last.changed if last else seen.change,
        last.delivery_id if last else seen.delivery_id,
    )


def follow(
    store: Store,
    after: int | Seen,
    *,
    source: str | None,
    grep: str | None,
    sleep: Callable[[float], None] | None = None,
    rounds: int | None = None,
) -> Iterator[Shown]:
    """Yield alerts newer than `after` as they appear, and each change of a delivery's state
    recorded since (forever, or `rounds` looks). `after` is what `recent` returned, or an
    alert id (the delivery changes are then followed from now). A database of an older
    schema (read-only: not migrated) gives alerts only. Each look costs two indexed reads
    (alerts by id, deliveries by change number), whatever the size of the database."""
    changes = store.follows_deliveries()
    if isinstance(after, int):
        after = Seen(after, store.last_delivery_change() if changes else 0)
    looked = 0
    while rounds is None or looked < rounds:
        shown, after = _look(store, after, source, grep, changes)
        yield from shown
        looked += 1
        (sleep or _pause)(FOLLOW_EVERY)


def wait_for_database(
    path: Path,
    *,
    waiting: Callable[[], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    rounds: int | None = None,
) -> bool:
    """Return True once there is something at `path` to open: ticker's database with its
    tables (a `ticker run` or `poll` started meanwhile), or a file that opening will refuse
    with its reason. Looks every FOLLOW_EVERY seconds, forever or `rounds` times (then
    False); `waiting` is called once, before the first wait. Ctrl-C (KeyboardInterrupt)
    stops it. Reads only: nothing is created at `path`."""
    looked = 0
    while rounds is None or looked < rounds:
        if _ready(path):
            return True
        if looked == 0 and waiting is not None:
            waiting()
        looked += 1
        (sleep or _pause)(FOLLOW_EVERY)
    return False


def _ready(path: Path) -> bool:
    """Whether the database at `path` exists and has its tables (a ticker creating it has
    migrated it), or is something else, which opening reports. An empty file is not ready
    whatever is beside it: SQLite writes a new database's first page through a journal."""
    try:
        store = Store.open_readonly(path)
    except DatabaseMissing:
        return False
    except DatabaseUnusable:
        return _size(path) > 0
    except (StoreError, OSError):
        return True  # there, but not usable now: opening it again says why
    except DATABASE_ERRORS:
        return True
    try:
        return store.schema_version() > 0
    except DATABASE_ERRORS:
        return True
    finally:
        store.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
