"""The durable outbox: pending deliveries in the database, sent in order, retried with
exponential backoff, given up after a day.

Each channel is sent by its own task, so a slow channel never delays another. A message's
deliveries are claimed in the database before it is sent (no two processes ever send the
same delivery), and marked after. A mark that cannot be written is kept in memory and
written before that channel sends anything else: nothing is sent twice because the database
was full or locked. Delivery is at least once only in one window: if ticker dies after a
channel accepted a message and before its mark is committed (one SQLite write, milliseconds,
or the length of a database outage), the message is sent again after the restart.

Replicas (docs/REPLICAS.md section 3): each channel has one sender at a time. An outbox given
a `gate` sends a channel only while the gate says this process holds it, asked again before
each claim and each send; claims last no longer than the hold (`claim_until`), and a claim
found held by an owner that is not `alive` is freed and taken. Each channel's
`max_per_minute` window is counted in the database (`Store.record_sends`), so the next holder
of a channel, or this process after a restart, goes on with the minute where it was.

Waits (retry times, group windows) and the give-up age run on the monotonic clock while the
process runs; wall-clock times are only stored and shown, so a step of the wall clock
neither holds deliveries back nor gives them up. Across a restart, a delivery's age comes
from the boot clock its alert was stamped with (ticker.clock.Moment): only after a reboot,
or for alerts without a stamp, from the wall clock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

from ticker.clock import Moment
from ticker.config import Channel
from ticker.lines import canonical_attribution
from ticker.notify import (
    LATE,
    Failure,
    Limits,
    Message,
    burst_title,
    format_digest,
    format_group,
    format_late,
    list_item,
)
from ticker.route import RATE_WINDOW, rate_allowance, rules_of
from ticker.store import DATABASE_ERRORS, Delivery, Mark, Store

RETRY_FIRST = 30.0
RETRY_CAP = 3600.0
GIVE_UP_AFTER = 24 * 3600.0
# How long a claim holds a delivery for its owner: far above any one send (Apprise's own
# timeouts are under a minute), so a claim expires only when its owner is gone.
CLAIM_TTL = 600.0
# After the database refused a write, seconds before the outbox tries another: each try may
# wait out the busy timeout (10 s) on the event loop, and should not do so once per channel.
DB_PAUSE = 5.0
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
    # bursts and digests are split into messages that fit (None: the sender's, asked then)
    limits: Limits | None = None
    quiet_at: Callable[[float], bool] | None = None  # True while quiet hours hold alerts
    zone: tzinfo | None = None  # for the times listed in a digest
    health: bool = False  # hears when another channel refuses messages for good
    max_age: float | None = None  # alerts older than this are late (None: never)
    late: str = "expire"  # late alerts: "expire" (never sent) or "digest" (one, marked late)

    @classmethod
    def of(cls, channel: Channel, limits: Limits | None = None) -> Shaping:
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


@dataclass
class Timing:
    """When this process may send one delivery, and how old the delivery is, both on the
    monotonic clock: a step of the wall clock changes neither."""

    seen: float  # monotonic time at which this process first read the delivery
    age: float  # the delivery's age at that moment (`age_of`; never below 0)
    due: float  # monotonic time from which it may be tried

    def age_at(self, monotonic_now: float) -> float:
        """The delivery's age at `monotonic_now`."""
        return self.age + monotonic_now - self.seen


def _clamp(wait: float, at_most: float) -> float:
    return min(max(wait, 0.0), max(at_most, 0.0))


def raised(delivery: Delivery) -> Moment:
    """When `delivery`'s alert was raised, on both clocks."""
    boot = None
    if delivery.boot_id is not None and delivery.boot_time is not None:
        boot = (delivery.boot_id, delivery.boot_time)
    return Moment(delivery.created, boot)


def age_of(delivery: Delivery, now: Moment) -> float:
    """How old `delivery` is at `now` (never below 0): on the boot clock when its alert was
    raised on this boot, so neither a restart nor a step of the wall clock fools it; on the
    wall clock otherwise (after a reboot, another OS, an alert from an older ticker)."""
    return max(0.0, raised(delivery).seconds_until(now))


def first_sight(delivery: Delivery, group_window: float, now: Moment, monotonic: float) -> Timing:
    """The timing of a delivery this process reads for the first time. What is left of its
    group window comes from its age; what is left of its retry time from the stored wall
    times, capped at the wait's full length, so a wall clock stepped back never stretches
    it; a delivery made due by a restart (`retry_pending_now`) is due at once."""
    age = age_of(delivery, now)
    hold = _clamp(group_window - age, group_window)
    # The wait chosen when it was last tried, or when it was made: none for a delivery
    # never tried, which is due when it is made (its stored times may come from a clock
    # that has been stepped since).
    since = delivery.last_attempt if delivery.last_attempt is not None else delivery.created
    retry = _clamp(delivery.next_attempt - now.wall, delivery.next_attempt - since)
    return Timing(seen=monotonic, age=age, due=monotonic + max(hold, retry))


def owner_id() -> str:
    """A claim owner unique to one outbox of one process: host:pid:random token."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


def owner_alive(owner: str, me: str) -> bool:
    """Whether the process that took claims as `owner` may still be sending, as the one
    daemon of a database sees it at start-up. Another host's process counts as gone: one
    database lives on one host (SQLite over a network file system is not supported), so it
    was this host's previous life (a container's hostname changes at each start). A pid
    reused by an unrelated process counts as alive; its claims then wait for their expiry."""
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if owner == me:
        return True
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # our pid with another token: an earlier process that had this pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user
    return True


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
    digest_title = len(message.render(zone).title) if message.digest else 0
    count = len(message.deliveries)
    pieces: list[Outgoing] = []
    current: list[Delivery] = []
    items, lines = 0, 1
    for delivery in message.deliveries:
        item = list_item(delivery, digest=message.digest is not None, zone=zone)
        extra_chars = len(item) + item.count("\n") + 2  # CRLF inside, CRLF joining
        extra_lines = item.count("\n") + 1
        # A digest's title counts its alerts (the whole one's is the longest); a burst's
        # names its newest alert, the one added last, and counts as many as the whole.
        title = digest_title or len(burst_title(delivery, count))
        over_chars = limits.chars and title + 2 + items + extra_chars > limits.chars
        over_lines = limits.lines and lines + extra_lines > limits.lines
        if current and (over_chars or over_lines):
            pieces.append(Outgoing(current, message.digest))
            current, items, lines = [], 0, 1
        current.append(delivery)
        items, lines = items + extra_chars, lines + extra_lines
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
    """Counts of one drain, and the database error that made deliveries wait, if any."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    error: BaseException | None = None  # one of store.DATABASE_ERRORS

    def add(self, other: DrainResult) -> None:
        """Count `other` in this one."""
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.error = self.error or other.error


Settled = list[tuple[Delivery, Mark]]  # the deliveries of one message and their marks


class Outbox:
    """Drains pending deliveries through a Sender: one task per channel, sends in worker
    threads, off the event loop."""

    def __init__(
        self,
        store: Store,
        sender: Sender,
        shaping: Mapping[str, Shaping],
        clock: Callable[[], float],
        monotonic: Callable[[], float] | None = None,
        owner: str | None = None,
        gate: Callable[[str], bool] | None = None,
        alive: Callable[[str], bool] | None = None,
        claim_until: Callable[[str], float] | None = None,
    ) -> None:
        """`clock` gives wall time (stored, shown, quiet hours, the rate window); `monotonic`
        measures waits and ages (None: `clock` itself, for tests that move one fake clock);
        ages across a restart are measured on `store.boot_clock`, the clock the alerts were
        stamped with; `owner` names this outbox in its claims (default: host:pid:token).

        Replicas: `gate(channel)` says whether this process may send `channel` now (None:
        every channel, the one daemon of a database); `alive(owner)` whether a claim's owner
        may still be sending (None: `owner_alive`, which holds only at start-up, so a claim
        found held is then left to its owner); `claim_until(channel)` the wall time this
        process's hold on `channel` ends, which its claims do not outlive."""
        self.store = store
        self.sender = sender
        self.shaping = shaping  # channel name -> how it is paced
        self.clock = clock
        self.monotonic = monotonic or clock
        self.owner = owner or owner_id()
        self.gate = gate
        self.alive = alive
        self.claim_until = claim_until
        self._timings: dict[str, dict[int, Timing]] = {}  # channel -> delivery id -> timing
        self._runs: dict[str, asyncio.Task[DrainResult]] = {}  # channel -> its sending task
        self._again: set[str] = set()  # channels asked to drain while their task runs
        self._held: dict[str, Settled] = {}  # channel -> marks the database did not take yet
        self._stopping = False
        self._paused_until = float("-inf")  # monotonic: no database write before then
        self._joined = dict.fromkeys(shaping, self._now())  # when each channel joined

    def reconfigure(self, sender: Sender, shaping: Mapping[str, Shaping]) -> None:
        """New channels (a reloaded config): pending deliveries stay in the database (the
        caller then cancels those of channels removed, `cancel_removed`), and each channel
        keeps the messages of its current minute (they are counted in the database, against
        its new max_per_minute). Writes nothing, so it holds while the database is locked."""
        now = self._now()
        self._joined = {name: self._joined.get(name, now) for name in shaping}
        self.sender, self.shaping = sender, shaping

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

    def retry_now(self) -> int:
        """Make every pending delivery due now (a restart or a reload is a good moment to
        retry), in the database and in this outbox. Returns how many were waiting."""
        retried = self.store.retry_pending_now(self.clock())
        now = self.monotonic()
        for timings in self._timings.values():
            for timing in timings.values():
                timing.due = min(timing.due, now)
        return retried

    def _now(self) -> Moment:
        """Now, on the wall clock and on the boot clock the alerts are stamped with."""
        return Moment(self.clock(), self.store.boot_clock())

    def release_dead_claims(self) -> int:
        """Free the claims of owners that are not `alive` (by default, processes that are
        gone, see `owner_alive`: for the one daemon of a database, at start-up), so that
        what they were sending goes out now rather than when their claims expire. Returns
        how many deliveries were freed."""
        dead = [
            owner
            for owner in self.store.claim_owners()
            if owner != self.owner and not self._alive(owner)
        ]
        return self.store.release_claims(dead)

    def _alive(self, owner: str) -> bool:
        if self.alive is not None:
            return self.alive(owner)
        return owner_alive(owner, self.owner)

    def _holds(self, channel: str) -> bool:
        """Whether this process may send `channel` now (its `gate`)."""
        return self.gate is None or self.gate(channel)

    async def drain(self) -> DrainResult:
        """Send everything that is due, each channel in its own task, and wait for them. A
        drain asked for while a channel's task runs is folded into it (the task makes one
        more pass). A database error that made deliveries wait is raised once every channel
        is done. Waiting callers may be cancelled: the sends go on (see `stop`)."""
        self._runs = {name: run for name, run in self._runs.items() if not run.done()}
        names = [*self.shaping, *(name for name in self._held if name not in self.shaping)]
        runs = [run for name in names if (run := self._run_for(name)) is not None]
        total = DrainResult()
        for result in await asyncio.gather(*(asyncio.shield(run) for run in runs)):
            total.add(result)
        if total.error is not None:
            raise total.error
        return total

    def stop(self) -> set[asyncio.Task[DrainResult]]:
        """Start no new send from now on (a clean stop). Returns the channel tasks still
        running: each ends as soon as its send in flight is answered and marked."""
        self._stopping = True
        return {run for run in self._runs.values() if not run.done()}

    def land_held(self) -> int:
        """Try once more to write the marks the database refused; returns how many sent or
        failed alerts are still unrecorded (a stop then says they may be sent again)."""
        for channel in list(self._held):
            self._land_held(channel)
        return sum(len(settled) for settled in self._held.values())

    def _run_for(self, channel: str) -> asyncio.Task[DrainResult] | None:
        """The task sending `channel`: the running one (asked to make one more pass), or a
        new one; None once stopping."""
        run = self._runs.get(channel)
        if run is not None and not run.done():
            self._again.add(channel)
            return run
        if self._stopping:
            return None
        run = asyncio.get_running_loop().create_task(self._run_channel(channel))
        self._runs[channel] = run
        return run

    async def _run_channel(self, channel: str) -> DrainResult:
        """Passes over `channel` until no drain asked for another; a database error ends
        them and is returned in the result (the deliveries wait in the database)."""
        result = DrainResult()
        try:
            await self._drain_channel(channel, result)
            while channel in self._again and not self._stopping:
                self._again.discard(channel)
                await self._drain_channel(channel, result)
        except DATABASE_ERRORS as exc:
            result.error = exc
        finally:
            self._again.discard(channel)
        return result

    async def _drain_channel(self, channel: str, result: DrainResult) -> None:
        """One pass over `channel`: first the marks it still holds, then its due deliveries,
        oldest first. Its backlog is read only if its oldest pending delivery is due, so a
        channel that is down costs one row read per drain."""
        if self.monotonic() < self._paused_until:
            return  # the database refused a write a moment ago: deliveries wait
        if not self._land_held(channel):
            return  # a channel whose last send is not recorded sends nothing more
        if not self._holds(channel):
            # Another replica sends it (the marks above land all the same). Its retry times
            # go to the database: read them again if the channel comes back here.
            self._timings.pop(channel, None)
            return
        shape = self.shaping.get(channel)
        if shape is None:
            return  # no longer configured
        if shape.quiet_at is not None and shape.quiet_at(self.clock()):
            return
        head = self.store.pending_deliveries(limit=1, channel=channel)
        if not self._due(channel, head, shape):
            return
        backlog = self.store.pending_deliveries(channel=channel)
        self._forget_all_but(channel, backlog)
        await self._send_channel(channel, self._due(channel, backlog, shape), shape, result)

    def _due(self, channel: str, deliveries: list[Delivery], shape: Shaping) -> list[Delivery]:
        """The leading deliveries that may be sent now, stopping at the first one still
        waiting (for a retry, or in the group window): a channel never receives alerts out
        of order."""
        moment, now = self._now(), self.monotonic()
        due: list[Delivery] = []
        for delivery in deliveries:
            if self._timing(delivery, shape.group_window, moment, now).due > now:
                break
            due.append(delivery)
        return due

    def _timing(
        self, delivery: Delivery, group_window: float, moment: Moment, monotonic: float
    ) -> Timing:
        """`delivery`'s timing in this process: the one taken when it was first read."""
        timings = self._timings.setdefault(delivery.channel, {})
        timing = timings.get(delivery.id)
        if timing is None:
            timing = timings[delivery.id] = first_sight(delivery, group_window, moment, monotonic)
        return timing

    def _forget_all_but(self, channel: str, pending: list[Delivery]) -> None:
        """Drop the timings of deliveries no longer pending (settled by another process,
        cancelled, pruned)."""
        timings = self._timings.get(channel, {})
        keep = {delivery.id for delivery in pending}
        for delivery_id in [i for i in timings if i not in keep]:
            del timings[delivery_id]

    async def _send_channel(
        self, channel: str, deliveries: list[Delivery], shape: Shaping, result: DrainResult
    ) -> None:
        """Send `deliveries` (due, oldest first) as the channel's shaping plans them, one
        message at a time: claimed before it is sent, marked after. Stops at a delivery to
        be retried (the rest wait behind it), a claim not granted, the channel held no more
        (the gate), a mark the database refused, or a stop."""
        late, deliveries = self._late(channel, deliveries)
        allowance = self._allowance(channel, shape)
        messages = late + plan(deliveries, shape, allowance)
        limits = shape.limits if shape.limits is not None else self.sender.limits(channel)
        pieces = [piece for m in messages for piece in fit(m, limits, shape.zone)]
        for piece in pieces[:allowance]:  # the rest waits for the next minute's digest
            if self._stopping or not self._holds(channel) or not self._claim(channel, piece):
                return
            if not self._holds(channel):  # lost while claiming: the next holder sends it
                self._give_back(channel, piece)
                return
            failure = await asyncio.to_thread(self.sender.send, channel, piece.render(shape.zone))
            if shape.max_per_minute > 0:
                self._count_send(channel)
            settled = [(d, self._settle(d, failure, result)) for d in piece.deliveries]
            if not self._land(channel, settled):
                return
            if any(mark.outcome == "retry" for _, mark in settled):
                return  # keep this channel's order: the rest wait behind the failed one

    def _allowance(self, channel: str, shape: Shaping) -> int | None:
        """How many messages `channel` may send now (None: no limit), from the messages the
        database counted in the last minute, whoever sent them. Counts more than a window
        ahead are from a wall clock stepped back since: not counted, lest they hold the
        channel until the clock catches up."""
        if shape.max_per_minute <= 0:
            return None
        now = self.clock()
        sent = self.store.sends_since(channel, now - RATE_WINDOW)
        sent -= self.store.sends_since(channel, now + RATE_WINDOW)
        return rate_allowance(shape.max_per_minute, sent)

    def _count_send(self, channel: str) -> None:
        """Count one message sent to `channel` in its rate window. A database that refuses
        costs the count (one message more in this minute, at worst), never the mark."""
        try:
            self.store.record_sends(channel, [self.clock()])
        except DATABASE_ERRORS as exc:
            self._pause_writes()
            log.warning("%s: cannot count a message in its max_per_minute window: %s", channel, exc)

    def _give_back(self, channel: str, piece: Outgoing) -> None:
        """Release this outbox's claims on `piece`, not sent: the channel's next holder
        takes them at once. A database that refuses leaves them to expire (`claim_until`)."""
        try:
            self.store.release_claims([self.owner], [d.id for d in piece.deliveries])
        except DATABASE_ERRORS as exc:
            self._pause_writes()
            log.warning("%s: claims left to expire (cannot release them: %s)", channel, exc)

    def _claim(self, channel: str, piece: Outgoing) -> bool:
        """Claim every delivery of `piece`, or none: True if this outbox may send it. With
        an `alive` check, claims of owners that are not alive are freed and the claim
        tried once more. A claim that cannot be written (a database error) is raised: nothing
        is sent."""
        ids = [delivery.id for delivery in piece.deliveries]
        wall = self.clock()
        until = wall + CLAIM_TTL
        if self.claim_until is not None:
            until = min(until, self.claim_until(channel))
        try:
            held = self.store.claim(ids, self.owner, wall, until)
            if len(held) < len(ids) and self.alive is not None and self.release_dead_claims():
                held = self.store.claim(ids, self.owner, wall, until)
        except DATABASE_ERRORS:
            self._pause_writes()
            raise
        if len(held) == len(ids):
            return True
        if held:
            self.store.release_claims([self.owner], sorted(held))
        log.info(
            "%s: alert %d is being sent by another process; leaving it to that one",
            channel,
            piece.deliveries[0].alert_id,
        )
        return False

    def _settle(self, delivery: Delivery, failure: Failure | None, result: DrainResult) -> Mark:
        """What becomes of `delivery` after one attempt: the one place where a channel's
        answer turns into a mark (sent, retry or failed), counted and logged. Retry times
        and the give-up age are measured on the monotonic clock; the wall times go into
        the mark for display."""
        moment, now = self._now(), self.monotonic()
        wall = moment.wall
        timing = self._timing(delivery, 0.0, moment, now)  # read by `_due` before the send
        if failure is None:
            result.sent += 1
            log.info("alert %d sent to %s", delivery.alert_id, delivery.channel)
            return Mark(delivery.id, "sent", wall)
        error = failure.reason
        if failure.permanent:
            return self._refused(delivery, wall, error, result)
        if timing.age_at(now) >= GIVE_UP_AFTER:
            result.failed += 1
            log.error(
                "alert %d to %s failed for good after %d attempts: %s",
                delivery.alert_id,
                delivery.channel,
                delivery.attempts + 1,
                error,
            )
            return Mark(delivery.id, "failed", wall, error)
        delay = failure.retry_after or retry_delay(delivery.attempts + 1)
        timing.due = now + delay
        result.retrying += 1
        log.warning(
            "alert %d to %s failed (attempt %d), retrying in %.0f s: %s",
            delivery.alert_id,
            delivery.channel,
            delivery.attempts + 1,
            delay,
            error,
        )
        return Mark(delivery.id, "retry", wall, error, wall + delay)

    def _land(self, channel: str, settled: Settled) -> bool:
        """Write the marks of one message. If the database refuses (locked, full, I/O
        error), keep them to write before anything else on this channel, and say so once:
        nothing is sent twice for want of a mark."""
        try:
            self.store.write_marks([mark for _, mark in settled])
        except DATABASE_ERRORS as exc:
            self._pause_writes()
            self._held[channel] = settled
            log.error(
                "%s but the database cannot record it (%s); holding the channel until it can",
                _what_happened(channel, settled),
                exc,
            )
            return False
        self._forget_settled(channel, settled)
        return True

    def _land_held(self, channel: str) -> bool:
        """Write the marks `channel` holds, if any; True once none are held."""
        settled = self._held.get(channel)
        if not settled:
            return True
        try:
            self.store.write_marks([mark for _, mark in settled])
        except DATABASE_ERRORS:
            self._pause_writes()
            return False  # said once when it began
        del self._held[channel]
        self._forget_settled(channel, settled)
        log.info(
            "%s: the database recorded %s of alert %s at last; the channel goes on",
            channel,
            "the outcome" if len(settled) == 1 else "the outcomes",
            _alert_ids(settled),
        )
        return True

    def _pause_writes(self) -> None:
        self._paused_until = self.monotonic() + DB_PAUSE

    def _forget_settled(self, channel: str, settled: Settled) -> None:
        timings = self._timings.get(channel, {})
        for delivery, mark in settled:
            if mark.outcome != "retry":
                timings.pop(delivery.id, None)

    def _refused(self, delivery: Delivery, wall: float, error: str, result: DrainResult) -> Mark:
        """A permanent refusal: the delivery fails at once with the service's reason, and
        the channel goes on with its later alerts (a failed mark holds nothing back)."""
        result.failed += 1
        log.error("alert %d to %s refused for good: %s", delivery.alert_id, delivery.channel, error)
        self._tell_refusal(delivery.channel, error, wall)
        return Mark(delivery.id, "failed", wall, error)

    def _tell_refusal(self, channel: str, error: str, now: float) -> None:
        """The channels with `health` (but `channel`) hear that `channel` refuses messages,
        once per refusing episode (until it delivers again; kept in the database, so a
        restart does not repeat it). Only a notice: a database that cannot take it now
        costs the notice, never the channel's deliveries."""
        told = [name for name, shape in self.shaping.items() if shape.health and name != channel]
        text = f"channel {channel} refuses messages: {error}"
        try:
            alert = self.store.record_channel_refusal(channel, text, now, told)
        except DATABASE_ERRORS as exc:
            log.error("health: %s (cannot record the health alert: %s)", text, exc)
            return
        if alert is not None:
            log.error("health: %s", text)
            for name in told:  # the health channels hear of it now, not at the next drain
                self._run_for(name)

    def _late(self, channel: str, due: list[Delivery]) -> tuple[list[Outgoing], list[Delivery]]:
        """Split off the due deliveries that are late: their alert is older than the
        channel's max_age and was raised before the channel joined this outbox (it waited
        while no running ticker had the channel: stopped, or the channel was not in the
        config). Alerts raised while the channel was configured are governed by retries
        instead. Both tests compare moments on the boot clock when the alert was raised on
        this boot (`age_of`), so neither a restart nor a step of the wall clock expires a
        recent alert. Late ones are marked expired, or go out first as one digest marked
        late. Returns (that digest, the rest)."""
        shape, now = self.shaping[channel], self._now()
        joined = self._joined.get(channel, now)
        if shape.max_age is None:
            return [], due
        before = [d for d in due if raised(d).seconds_until(joined) > 0]
        late = [d for d in before if age_of(d, now) > shape.max_age]
        if not late:
            return [], due
        late_ids = {d.id for d in late}
        rest = [d for d in due if d.id not in late_ids]
        if shape.late == "digest":
            log.warning("%d late alerts to %s go out as one digest", len(late), channel)
            return [Outgoing(late, LATE)], rest
        self.store.mark_expired([d.id for d in late], now.wall)
        log.warning(
            "%d alerts to %s expired unsent: older than max_delivery_age (%.0f s)",
            len(late),
            channel,
            shape.max_age,
        )
        return [], rest


def _alert_ids(settled: Settled) -> str:
    return ", ".join(str(delivery.alert_id) for delivery, _ in settled)


def _what_happened(channel: str, settled: Settled) -> str:
    """ "alert 7 was sent to mail" (or failed on it), for the log line of an unrecorded mark."""
    alerts = ("alert " if len(settled) == 1 else "alerts ") + _alert_ids(settled)
    if settled[0][1].outcome == "sent":
        return f"{alerts} {'was' if len(settled) == 1 else 'were'} sent to {channel}"
    return f"{alerts} failed on {channel} ({settled[0][1].error})"
