"""The durable outbox: pending deliveries in the database, sent in order, retried with
exponential backoff, given up after a day.

Delivery is at least once: if ticker dies after a channel accepted a message and before
`mark_sent` is committed (a window of one SQLite write, milliseconds), the message is sent
again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from ticker.lines import canonical_attribution
from ticker.notify import Message, format_group
from ticker.store import Delivery, Store

RETRY_FIRST = 30.0
RETRY_CAP = 3600.0
GIVE_UP_AFTER = 24 * 3600.0
log = logging.getLogger(__name__)


class Sender(Protocol):
    """Anything that can send a message to a named channel (AppriseSender, test fakes)."""

    def send(self, channel: str, message: Message) -> str | None: ...


def retry_delay(failed_attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: 30 s, 60 s, 120 s... capped at 1 h."""
    return min(RETRY_FIRST * 2 ** max(0, failed_attempts - 1), RETRY_CAP)


def due_in_order(
    pending: list[Delivery], now: float, windows: Mapping[str, float]
) -> dict[str, list[Delivery]]:
    """Per channel, the deliveries to send now: oldest first, stopping at the first one
    still waiting for a retry or held by the channel's group window (`windows`: channel ->
    seconds), so a channel never receives alerts out of order. Channels not in `windows`
    (no longer configured) are skipped; their deliveries stay pending."""
    due: dict[str, list[Delivery]] = {}
    blocked: set[str] = set()
    for delivery in pending:
        channel = delivery.channel
        if channel not in windows or channel in blocked:
            continue
        if delivery.next_attempt > now or delivery.created + windows[channel] > now:
            blocked.add(channel)
            continue
        due.setdefault(channel, []).append(delivery)
    return due


def _group_key(delivery: Delivery) -> tuple[str, str] | None:
    if delivery.kind != "new" or not delivery.attribution:
        return None  # updates and unattributed lines go out on their own
    return delivery.source, canonical_attribution(delivery.attribution)


def bursts(deliveries: list[Delivery], window: float) -> list[list[Delivery]]:
    """Split one channel's due deliveries (oldest first) into messages: consecutive new
    lines of one source and attribution, from one poll or within `window` seconds of the
    first, form one burst."""
    groups: list[list[Delivery]] = []
    for delivery in deliveries:
        key = _group_key(delivery)
        if (
            groups
            and key is not None
            and _group_key(groups[-1][0]) == key
            and delivery.created - groups[-1][0].created <= window
        ):
            groups[-1].append(delivery)
        else:
            groups.append([delivery])
    return groups


@dataclass
class DrainResult:
    """Counts of one drain."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0


class Outbox:
    """Drains pending deliveries through a Sender, off the event loop."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        windows: Mapping[str, float],
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.sender = sender
        self.windows = windows  # channel name -> group window in seconds
        self.clock = clock
        self._lock = asyncio.Lock()
        self._again = False

    async def drain(self) -> DrainResult:
        """Send everything that is due. A drain asked for while one runs is folded into it."""
        result = DrainResult()
        if self._lock.locked():
            self._again = True
            return result
        async with self._lock:
            self._again = True
            while self._again:
                self._again = False
                await self._drain_once(result)
        return result

    async def _drain_once(self, result: DrainResult) -> None:
        due = due_in_order(self.store.pending_deliveries(), self.clock(), self.windows)
        for channel, deliveries in due.items():
            for burst in bursts(deliveries, self.windows[channel]):
                error = await asyncio.to_thread(self.sender.send, channel, format_group(burst))
                settled = [self._settle(delivery, error, result) for delivery in burst]
                if not all(settled):
                    break  # keep this channel's order: the rest wait behind the failed one

    def _settle(self, delivery: Delivery, error: str | None, result: DrainResult) -> bool:
        now = self.clock()
        if error is None:
            self.store.mark_sent(delivery.id, now)
            result.sent += 1
            log.info("alert %d sent to %s", delivery.alert_id, delivery.channel)
            return True
        if now - delivery.created >= GIVE_UP_AFTER:
            self.store.mark_failed(delivery.id, now, error)
            result.failed += 1
            log.error(
                "alert %d to %s failed for good after %d attempts: %s",
                delivery.alert_id,
                delivery.channel,
                delivery.attempts + 1,
                error,
            )
            return True
        delay = retry_delay(delivery.attempts + 1)
        self.store.mark_retry(delivery.id, now, error, now + delay)
        result.retrying += 1
        log.warning(
            "alert %d to %s failed (attempt %d), retrying in %.0f s: %s",
            delivery.alert_id,
            delivery.channel,
            delivery.attempts + 1,
            delay,
            error,
        )
        return False
