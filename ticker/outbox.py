"""The durable outbox: pending deliveries in the database, sent in order, retried with
exponential backoff, given up after a day.

Delivery is at least once: if ticker dies after a channel accepted a message and before
`mark_sent` is committed (a window of one SQLite write, milliseconds), the message is sent
again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

from ticker.config import Channel
from ticker.lines import canonical_attribution
from ticker.notify import (
    LATE,
    Failure,
    Limits,
    Message,
    format_digest,
    format_group,
    format_late,
    list_item,
)
from ticker.route import RateWindow, rules_of
from ticker.store import Delivery, Store

RETRY_FIRST = 30.0
RETRY_CAP = 3600.0
GIVE_UP_AFTER = 24 * 3600.0
log = logging.getLogger(__name__)


class Sender(Protocol):
    """Anything that can send a message to a named channel (AppriseSender, test fakes)."""

    def send(self, channel: str, message: Message) -> Failure | None: ...

    def limits(self, channel: str) -> Limits:
        """What one message to `channel` may hold."""
        ...


@dataclass(frozen=True)
class Shaping:
    """How the outbox paces one channel."""

    group_window: float = 0.0  # hold alerts this long to gather a burst into one message
    max_per_minute: int = 0  # beyond it, the rest goes out as one digest; 0: no limit
    limits: Limits = Limits()  # bursts and digests are split into messages that fit
    quiet_at: Callable[[float], bool] | None = None  # True while quiet hours hold alerts
    zone: tzinfo | None = None  # for the times listed in a digest
    health: bool = False  # hears when another channel refuses messages for good
    max_age: float | None = None  # alerts older than this are late (None: never)
    late: str = "expire"  # late alerts: "expire" (never sent) or "digest" (one, marked late)

    @classmethod
    def of(cls, channel: Channel, limits: Limits) -> Shaping:
        """The shaping `channel`'s config asks for."""
        rules = rules_of(channel)
        holds = channel.quiet == "digest" and rules.quiet_hours is not None
        return cls(
            group_window=channel.group_window,
            max_per_minute=channel.max_per_minute,
            limits=limits,
            quiet_at=rules.quiet_at if holds else None,
            zone=rules.zone,
            health=channel.health,
            max_age=channel.max_delivery_age,
            late=channel.late,
        )


@dataclass(frozen=True)
class Outgoing:
    """One message to send: the deliveries it settles, and why it is a digest if it is."""

    deliveries: list[Delivery]
    digest: str | None = None

    def render(self, zone: tzinfo | None) -> Message:
        """The message text."""
        if self.digest is None:
            return format_group(self.deliveries)
        if self.digest == LATE:
            return format_late(self.deliveries, zone)
        return format_digest(self.deliveries, self.digest, zone)


def retry_delay(failed_attempts: int) -> float:
    """Seconds to wait after the n-th failed attempt: 30 s, 60 s, 120 s... capped at 1 h."""
    return min(RETRY_FIRST * 2 ** max(0, failed_attempts - 1), RETRY_CAP)


def due_in_order(
    pending: list[Delivery], now: float, shaping: Mapping[str, Shaping]
) -> dict[str, list[Delivery]]:
    """Per channel, the deliveries to send now: oldest first, stopping at the first one
    still waiting for a retry or held by the channel's group window, so a channel never
    receives alerts out of order. A channel in its quiet hours sends nothing. Channels not
    in `shaping` (no longer configured) are skipped; their deliveries stay pending."""
    due: dict[str, list[Delivery]] = {}
    blocked = {name for name, shape in shaping.items() if shape.quiet_at and shape.quiet_at(now)}
    for delivery in pending:
        channel = delivery.channel
        if channel not in shaping or channel in blocked:
            continue
        if delivery.next_attempt > now or delivery.created + shaping[channel].group_window > now:
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


def plan(deliveries: list[Delivery], shaping: Shaping, allowance: int | None) -> list[Outgoing]:
    """The messages for one channel's due deliveries (oldest first): alerts held by quiet
    hours go out as one digest; bursts as one message each; when there are more messages
    than `allowance` (None: no limit), the last allowed one is a digest of the rest."""
    held = 0
    if shaping.quiet_at is not None:
        quiet = [i for i, d in enumerate(deliveries) if shaping.quiet_at(d.created)]
        held = quiet[-1] + 1 if quiet else 0
    messages: list[Outgoing] = []
    if held:
        batch = deliveries[:held]
        one = len(bursts(batch, shaping.group_window)) == 1
        messages.append(Outgoing(batch, None if one else "held during quiet hours"))
    messages += [Outgoing(g) for g in bursts(deliveries[held:], shaping.group_window)]
    if allowance is None or len(messages) <= allowance:
        return messages
    if allowance == 0:
        return []
    rest = [d for message in messages[allowance - 1 :] for d in message.deliveries]
    return [*messages[: allowance - 1], Outgoing(rest, "over the rate limit")]


def fit(message: Outgoing, limits: Limits, zone: tzinfo | None) -> list[Outgoing]:
    """`message` split into messages within `limits` at alert boundaries; an alert is
    never split (one alert is capped well below any limit). Linear: each alert's list item
    is measured once, and only the pieces are rendered."""
    if message.render(zone).fits(limits):
        return [message]
    title = message.render(zone).title  # the longest title: it counts every alert
    pieces: list[Outgoing] = []
    current: list[Delivery] = []
    chars, lines = len(title) + 2 + 8, 1  # 8: the title's count may gain digits
    for delivery in message.deliveries:
        item = list_item(delivery, digest=message.digest is not None, zone=zone)
        extra_chars = len(item) + item.count("\n") + 2  # CRLF inside, CRLF joining
        extra_lines = item.count("\n") + 1
        over_chars = limits.chars and chars + extra_chars > limits.chars
        over_lines = limits.lines and lines + extra_lines > limits.lines
        if current and (over_chars or over_lines):
            pieces.append(Outgoing(current, message.digest))
            current, chars, lines = [], len(title) + 2 + 8, 1
        current.append(delivery)
        chars, lines = chars + extra_chars, lines + extra_lines
    pieces.append(Outgoing(current, message.digest))
    return [part for piece in pieces for part in _halve_until_fit(piece, limits, zone)]


def _halve_until_fit(message: Outgoing, limits: Limits, zone: tzinfo | None) -> list[Outgoing]:
    """A safety net under `fit`'s estimate: a piece that still does not fit is halved."""
    if len(message.deliveries) == 1 or message.render(zone).fits(limits):
        return [message]
    middle = len(message.deliveries) // 2
    halves = (message.deliveries[:middle], message.deliveries[middle:])
    return [
        p for half in halves for p in _halve_until_fit(Outgoing(half, message.digest), limits, zone)
    ]


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
        shaping: Mapping[str, Shaping],
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.sender = sender
        self.shaping = shaping  # channel name -> how it is paced
        self.clock = clock
        self._rates = {name: RateWindow(shape.max_per_minute) for name, shape in shaping.items()}
        self._joined = dict.fromkeys(shaping, clock())  # when each channel joined this outbox
        self._lock = asyncio.Lock()
        self._again = False

    def reconfigure(self, sender: Sender, shaping: Mapping[str, Shaping]) -> None:
        """New channels (a reloaded config): pending deliveries of the channels kept stay in
        the database, those of channels removed are cancelled, and a channel whose rate limit
        did not change keeps the messages of its current minute."""
        rates = {}
        for name, shape in shaping.items():
            kept = self._rates.get(name)
            same = kept is not None and kept.max_per_minute == shape.max_per_minute
            rates[name] = kept if kept is not None and same else RateWindow(shape.max_per_minute)
        now = self.clock()
        self._joined = {name: self._joined.get(name, now) for name in shaping}
        self.sender, self.shaping, self._rates = sender, shaping, rates
        self.cancel_removed()

    def cancel_removed(self) -> dict[str, int]:
        """Cancel the pending deliveries of channels that are not configured any more (they
        would otherwise wait for ever, and go out as fresh news if the channel came back);
        logged once per channel. Returns how many per channel."""
        cancelled = self.store.cancel_deliveries(list(self.shaping), self.clock())
        for channel, count in cancelled.items():
            log.warning(
                "channel %s is not in the config any more: %d pending deliveries cancelled",
                channel,
                count,
            )
        return cancelled

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
        """Each channel on its own: its oldest pending delivery first (one row), and its
        backlog only if that one is due, so a channel that is down costs one query per
        drain and its backlog never hides another channel's alerts."""
        for channel in self.shaping:
            now = self.clock()
            head = self.store.pending_deliveries(limit=1, channel=channel)
            if not due_in_order(head, now, self.shaping):
                continue
            backlog = self.store.pending_deliveries(channel=channel)
            due = due_in_order(backlog, now, self.shaping).get(channel, [])
            await self._send_channel(channel, due, result)

    async def _send_channel(
        self, channel: str, deliveries: list[Delivery], result: DrainResult
    ) -> None:
        shape, rate = self.shaping[channel], self._rates[channel]
        late, deliveries = self._late(channel, deliveries)
        allowance = rate.allowance(self.clock())
        messages = late + plan(deliveries, shape, allowance)
        pieces = [piece for m in messages for piece in fit(m, shape.limits, shape.zone)]
        for piece in pieces[:allowance]:  # the rest waits for the next minute's digest
            failure = await asyncio.to_thread(self.sender.send, channel, piece.render(shape.zone))
            rate.record(self.clock())
            settled = [self._settle(d, failure, result) for d in piece.deliveries]
            if not all(settled):
                break  # keep this channel's order: the rest wait behind the failed one

    def _settle(self, delivery: Delivery, failure: Failure | None, result: DrainResult) -> bool:
        now = self.clock()
        if failure is None:
            self.store.mark_sent(delivery.id, now)
            result.sent += 1
            log.info("alert %d sent to %s", delivery.alert_id, delivery.channel)
            return True
        error = failure.reason
        if failure.permanent:
            return self._refused(delivery, now, error, result)
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
        delay = failure.retry_after or retry_delay(delivery.attempts + 1)
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

    def _refused(self, delivery: Delivery, now: float, error: str, result: DrainResult) -> bool:
        """A permanent refusal: the delivery fails at once with the service's reason, and
        the channel goes on with its later alerts (True: nothing waits behind it)."""
        self.store.mark_failed(delivery.id, now, error)
        result.failed += 1
        log.error("alert %d to %s refused for good: %s", delivery.alert_id, delivery.channel, error)
        self._tell_refusal(delivery.channel, error, now)
        return True

    def _tell_refusal(self, channel: str, error: str, now: float) -> None:
        """The channels with `health` (but `channel`) hear that `channel` refuses messages,
        once per refusing episode (until it delivers again; kept in the database, so a
        restart does not repeat it). Only a notice: a database that cannot take it now
        costs the notice, never the channel's deliveries."""
        told = [name for name, shape in self.shaping.items() if shape.health and name != channel]
        text = f"channel {channel} refuses messages: {error}"
        try:
            alert = self.store.record_channel_refusal(channel, text, now, told)
        except sqlite3.Error as exc:
            log.error("health: %s (cannot record the health alert: %s)", text, exc)
            return
        if alert is not None:
            log.error("health: %s", text)
            self._again = True  # the health channels hear of it in this drain

    def _late(self, channel: str, due: list[Delivery]) -> tuple[list[Outgoing], list[Delivery]]:
        """Split off the due deliveries that are late: their alert is older than the
        channel's max_age and was raised before the channel joined this outbox (it waited
        while no running ticker had the channel: stopped, or the channel was not in the
        config). Alerts raised while the channel was configured are governed by retries
        instead, so a step of the wall clock expires nothing. Late ones are marked expired,
        or go out first as one digest marked late. Returns (that digest, the rest)."""
        shape, now = self.shaping[channel], self.clock()
        joined = self._joined.get(channel, now)
        if shape.max_age is None:
            return [], due
        late = [d for d in due if d.created < joined and now - d.created > shape.max_age]
        if not late:
            return [], due
        late_ids = {d.id for d in late}
        rest = [d for d in due if d.id not in late_ids]
        if shape.late == "digest":
            log.warning("%d late alerts to %s go out as one digest", len(late), channel)
            return [Outgoing(late, LATE)], rest
        self.store.mark_expired([d.id for d in late], now)
        log.warning(
            "%d alerts to %s expired unsent: older than max_delivery_age (%.0f s)",
            len(late),
            channel,
            shape.max_age,
        )
        return [], rest
