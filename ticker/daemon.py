"""`ticker run`: APScheduler wiring, one job per source paced by `pacing`, the outbox drain,
housekeeping, sd_notify, a config reload on SIGHUP and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ticker import dbfile, sdnotify
from ticker.config import Config, Source
from ticker.errors import DatabaseBroken, DatabaseUnreachable, TickerError
from ticker.fetch import FETCH_SLOTS
from ticker.notify import Message
from ticker.outbox import Outbox, Sender, Shaping
from ticker.pacing import MOVING_WINDOW, next_delay
from ticker.poll import PollOutcome, poll_source
from ticker.replicas import Alone, Membership, coordinate
from ticker.store import DATABASE_ERRORS, WAKE_TOPIC, Store

if TYPE_CHECKING:
    from ticker.scheduler import SteadyScheduler  # APScheduler: imported by `run` only

DRAIN_EVERY = 15.0  # seconds; retries become due between polls too
HOUSEKEEPING_EVERY = 3600.0
# A clean stop (SIGTERM) starts no new send, and waits for a send in flight to be answered
# and marked, up to STOP_GRACE: a send cut short would be sent again after the restart.
# The units' TimeoutStopSec= (30 s) must stay above it, or systemd kills ticker first.
STOP_GRACE = 25.0
POLL_GRACE = 10.0  # then polls in flight are cancelled: rolled back, repeated after the restart
ALERT_GRACE = 30.0  # seconds the health alert of a broken database gets to go out
log = logging.getLogger(__name__)


class Daemon:
    """Polls every source on its own schedule, drains the outbox after each poll, and
    re-reads its config on request."""

    def __init__(
        self,
        config: Config,
        store: Store,
        client: httpx.AsyncClient,
        sender: Sender,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        coordination: Membership | None = None,
    ) -> None:
        """`coordination` says which sources and channels this process may poll and send:
        None, every one on SQLite (`Alone`), its share of leases on PostgreSQL (`Leased`)."""
        self.config = config
        self.store = store
        self.client = client
        self.clock = clock  # the wall clock: only stored and shown
        self.monotonic = monotonic  # what intervals and windows are measured on
        self.coord = coordination or coordinate(config, store)
        self.outbox = Outbox(
            store,
            sender,
            _shaping(config),
            clock,
            monotonic,
            owner=self.coord.owner,
            gate=self.coord.holds_channel,
            alive=self.coord.alive,
        )
        self._polling = {s.name for s in config.sources}  # the sources whose jobs run
        # Polls due together (thousands at start-up, or taken over at once) wait here and
        # ask for their lease when their turn comes: asked before the wait, a lease given
        # away meanwhile was still polled, beside its new holder (bench.scale: 1,840 of
        # 3,000 sources polled twice at the start of 3 replicas).
        self._poll_slots = asyncio.Semaphore(FETCH_SLOTS)
        self._sending = {c.name for c in config.channels}  # the channels this replica sends
        self.scheduler: SteadyScheduler | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._last_new: dict[str, float] = {}  # source -> when its ticker last moved (monotonic)
        self._pending_due_later = False  # a reload could not make pending deliveries due
        self._healthy: dict[str, bool] = {}  # source -> did its last poll succeed
        self._rng = random.Random()
        self.broken: str | None = None  # why the database cannot be used any more
        self._stop: asyncio.Event | None = None
        self._alert: asyncio.Task[None] | None = None

    async def _tracked(self, work: Awaitable[Any]) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            return await work
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def poll(self, source: Source, *, deliver: bool = True) -> PollOutcome:
        """Poll one source, plan its next poll, then send what became due: awaited if
        `deliver` (one-off polls), in the background for scheduled polls, so a channel that
        is slow or throttled (Apprise waits 5.5 s between two e-mails to one server) never
        holds up the source's next poll. A database that cannot be written (disk full,
        locked by another process) costs this poll only: nothing was recorded, so the same
        lines are new again next time."""
        if self.broken is not None:
            return PollOutcome(source=source.name, error=f"database: {self.broken}")
        try:
            async with self._poll_slots:
                if not self.coord.holds_source(source.name):
                    return self._not_held(source)
                self.store.check_file()
                outcome = await self._tracked(
                    poll_source(self.config, source, self.client, self.store, self.clock)
                )
        except DatabaseUnreachable as exc:  # PostgreSQL gone: hold nothing (replicas.py)
            self._unreachable(exc)
            return PollOutcome(source=source.name, error=f"database: {exc}")
        except DATABASE_ERRORS + (DatabaseBroken,) as exc:
            if self.database_failed(exc):
                return PollOutcome(source=source.name, error=f"database: {self.broken}")
            log.error(
                "%s: cannot write the database (%s); the poll will be repeated", source.name, exc
            )
            outcome = PollOutcome(source=source.name, error=f"database: {exc}", failures=1)
        self._healthy[source.name] = outcome.error is None
        if outcome.found_new:
            self._last_new[source.name] = self.monotonic()
        self._plan_next(source, outcome)
        if deliver:
            await self.drain()
        else:
            self._drain_in_background()
        return outcome

    def _not_held(self, source: Source) -> PollOutcome:
        """A poll of a source another replica holds (or this one no longer trusts its lease
        of: frozen longer than it, cut off): nothing is fetched; its job waits until a
        renewal gives it back (`_held_changed`)."""
        self._polling.discard(source.name)
        job = self.scheduler.get_job(_job_id(source)) if self.scheduler else None
        if job is not None:
            job.pause()
        return PollOutcome(source=source.name)

    def _unreachable(self, exc: DatabaseUnreachable) -> None:
        """The store lost the PostgreSQL database: the replica holds nothing from now on
        (its view may be stale); its coordination reconnects and rejoins."""
        self.coord.lost(exc)
        self._held_changed(frozenset())

    def _held_changed(self, held: frozenset[str]) -> None:
        """After each renewal (and at a cut): pause the jobs of sources no longer held,
        start those newly held where their last holder left them (`_take_over`)."""
        self.outbox.owner = self.coord.owner  # a new name after a rejoin
        sending = {c.name for c in self.config.channels if self.coord.holds_channel(c.name)}
        if sending - self._sending and self.scheduler is not None:
            self._drain_in_background()  # a channel taken over: its backlog goes out now
        self._sending = sending
        if self.scheduler is None:
            return
        gained = held - self._polling
        lost = self._polling - held
        self._polling = set(held)
        for source in self.config.sources:
            job = self.scheduler.get_job(_job_id(source)) if source.name in lost else None
            if job is not None:
                job.pause()
        if gained:
            self._take_over(gained)
        if gained or lost:
            log.info(
                "replica %s: now polling %d source(s) (+%d, -%d)",
                self.coord.owner,
                len(held),
                len(gained),
                len(lost),
            )
            sdnotify.notify(*self._status_fields())

    def _take_over(self, names: Collection[str]) -> None:
        """Schedule the sources this replica just took: each at the next poll its last
        holder planned (no sooner, no later than one interval from now), else now."""
        planned: dict[str, float | None] = {}
        with contextlib.suppress(*DATABASE_ERRORS):  # then: poll now
            planned = {state.name: state.next_poll for state in self.store.source_states()}
        now = self.clock()
        for source in self.config.sources:
            if source.name not in names or self.scheduler is None:
                continue
            job = self.scheduler.get_job(_job_id(source))
            due = planned.get(source.name)
            delay = min(max((due or now) - now, 0.0), source.interval)
            if job is not None:
                job.modify(next_run_time=self.scheduler.at(delay))

    def _drain_in_background(self) -> None:
        """Start a drain without waiting for it; drains asked for while a channel's task
        runs are folded into it (Outbox.drain), and a stop waits for its sends in flight."""
        task = asyncio.get_running_loop().create_task(self.drain())
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def idle(self) -> None:
        """Wait until no poll, drain or client close started by this daemon is running."""
        while pending := self._busy():
            await asyncio.wait(pending)

    def _busy(self) -> set[asyncio.Task[Any]]:
        """The tracked tasks still running."""
        return {task for task in self._in_flight if not task.done()}

    def _plan_next(self, source: Source, outcome: PollOutcome) -> None:
        try:
            self._schedule_next(source, outcome)
        except DatabaseUnreachable as exc:
            self._unreachable(exc)
        except DATABASE_ERRORS as exc:  # only the next-poll time shown by `ticker status`
            if self.database_failed(exc):
                return
            log.warning("%s: cannot record the next poll time: %s", source.name, exc)

    def _schedule_next(self, source: Source, outcome: PollOutcome) -> None:
        last_new = self._last_new.get(source.name)
        moving = last_new is not None and self.monotonic() - last_new < MOVING_WINDOW
        delay = next_delay(
            source,
            failures=outcome.failures,
            retry_after=outcome.retry_after,
            moving=moving,
            rng=self._rng,
        )
        job = self.scheduler.get_job(_job_id(source)) if self.scheduler else None
        if job is not None and self.scheduler is not None:
            job.modify(next_run_time=self.scheduler.at(delay))
        self.store.set_next_poll(source.name, self.clock() + delay)  # shown by `ticker status`
        if outcome.failures > 1:
            log.info("%s: next try in %.0f s", source.name, delay)

    async def drain(self) -> None:
        """Send every due delivery, then tell systemd how things stand. If the database
        cannot be written, nothing is claimed, so nothing is sent: deliveries wait; a send
        whose mark cannot be written holds its channel until it can (Outbox)."""
        if self.coord.problem is not None:
            return  # cut off from PostgreSQL: nothing is sent until it is back
        try:
            await self._tracked(self.outbox.drain())
            sdnotify.notify(f"STATUS={self.status_line()}")
        except DatabaseUnreachable as exc:
            self._unreachable(exc)
        except DATABASE_ERRORS as exc:
            if self.database_failed(exc):
                return
            log.error("outbox: cannot use the database (%s); deliveries wait", exc)

    def status_line(self) -> str:
        """One line for systemd's STATUS=: sources OK, last alert, pending deliveries; for a
        replica, how many sources it holds, or that it cannot reach the database."""
        if self.coord.problem is not None:
            return f"database unreachable, polling and sending nothing: {self.coord.problem}"
        held = self.coord.held_sources()
        share = "" if held is None else f"replica holding {len(held)} source(s); "
        ok = sum(self._healthy.get(s.name, True) for s in self.config.sources)
        last = self.store.last_alert_time()
        when = datetime.fromtimestamp(last).strftime("%H:%M") if last else "none yet"
        pending = self.store.pending_count()
        return (
            f"{share}{ok}/{len(self.config.sources)} sources OK; last alert {when}; "
            f"{pending} pending deliveries"
        )

    async def housekeeping(self) -> None:
        """Forget finished rows older than the retention period."""
        before = self.clock() - self.config.settings.retention_days * 86400
        try:
            self.store.check_file()
            removed = self.store.prune(before)
        except DatabaseUnreachable as exc:
            self._unreachable(exc)
            return
        except DATABASE_ERRORS + (DatabaseBroken,) as exc:
            if self.database_failed(exc):
                return
            log.warning("housekeeping skipped: %s", exc)
            return
        if any(removed.values()):
            log.info("housekeeping: removed %s", removed)

    def _add_poll_job(self, scheduler: SteadyScheduler, source: Source, first: datetime) -> None:
        # The interval is a fallback: after each poll `_plan_next` sets the next run time.
        # A source another replica holds gets a paused job (no run time), started when a
        # renewal gives it to this one (`_held_changed`).
        held = self.coord.holds_source(source.name)
        if held:
            self._polling.add(source.name)
        else:
            self._polling.discard(source.name)
        scheduler.add_job(
            self.poll,
            "interval",
            args=[source],
            kwargs={"deliver": False},
            id=_job_id(source),
            seconds=source.interval,
            jitter=source.jitter,
            next_run_time=first if held else None,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def schedule(self, scheduler: SteadyScheduler) -> None:
        """Add one job per source, the drain timer and housekeeping to `scheduler`."""
        self.scheduler = scheduler
        now = scheduler.at(0)
        for source in self.config.sources:
            self._add_poll_job(scheduler, source, now)
        scheduler.add_job(
            self._timed_drain,
            "interval",
            id="drain",
            seconds=DRAIN_EVERY,
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            # A late run still runs (once): APScheduler's default skips a job more than
            # 1 s late, and its executor measures lateness on the wall clock, so a step
            # of it between a wake-up and the run (or a starved process) dropped the
            # start-up drain and held pending alerts for DRAIN_EVERY.
            misfire_grace_time=None,
        )
        scheduler.add_job(
            self.housekeeping,
            "interval",
            id="housekeeping",
            seconds=HOUSEKEEPING_EVERY,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=now + timedelta(seconds=60),
        )

    async def _timed_drain(self) -> None:
        """The drain timer's job: a drain, after making pending deliveries due if a reload
        could not (the database was locked then)."""
        if self._pending_due_later:
            self._make_pending_due()
        await self.drain()

    async def reload(self, load: Callable[[], tuple[Config, Sender]]) -> bool:
        """Re-read the config with `load`. An invalid config changes nothing (the daemon
        goes on with the old one); a valid one takes effect without a restart: sources
        added, removed or changed are (re)scheduled, channels get their new rules, and
        pending deliveries, which live in the database, are kept and made due now. READY=1
        follows RELOADING=1 whatever happens, or systemd would wait for the reload (and
        `systemctl reload` hang) until its timeout."""
        sdnotify.reloading()
        try:
            reloaded = self._reload_config(load)
        finally:
            sdnotify.notify("READY=1", *self._status_fields())
        if reloaded:
            await self.drain()
        return reloaded

    def _reload_config(self, load: Callable[[], tuple[Config, Sender]]) -> bool:
        try:
            config, sender = load()
            self.coord.configure(
                [s.name for s in config.sources], [c.name for c in config.channels]
            )
        except TickerError as exc:
            log.error("reload failed, still running on the previous config: %s", exc)
            self._record_reload(str(exc))
            return False
        self._apply(config, sender)
        self._record_reload(None)
        log.info(
            "config reloaded: %d source(s), %d channel(s)",
            len(config.sources),
            len(config.channels),
        )
        self._make_pending_due()  # a channel the user just fixed gets them now
        return True

    def _record_reload(self, error: str | None) -> None:
        """Keep a reload's outcome where `ticker status` reads it; a database that cannot
        be written now only costs that record."""
        try:
            self.store.record_service("reload", self.clock(), error)
        except DATABASE_ERRORS as exc:
            log.warning("cannot record the reload's outcome for `ticker status`: %s", exc)

    def _make_pending_due(self) -> None:
        """Cancel the deliveries of channels the config no longer has, and make every other
        pending delivery due now. A database that cannot be written (locked by another
        process, say) is logged once; the timed drain tries again."""
        try:
            self.outbox.cancel_removed()
            retried = self.outbox.retry_now()
        except DATABASE_ERRORS as exc:
            if not self._pending_due_later:
                log.error(
                    "cannot make pending deliveries due now (%s); tried again at the next drain",
                    exc,
                )
            self._pending_due_later = True
            return
        self._pending_due_later = False
        if retried:
            log.info("%d pending deliveries due now", retried)

    def _status_fields(self) -> tuple[str, ...]:
        """STATUS= for systemd, or nothing if the database cannot be read right now."""
        try:
            return (f"STATUS={self.status_line()}",)
        except DATABASE_ERRORS:
            return ()

    def _apply(self, config: Config, sender: Sender) -> None:
        old = {source.name: source for source in self.config.sources}
        new = {source.name: source for source in config.sources}
        if self.scheduler is not None:
            now = self.scheduler.at(0)
            for name, source in old.items():
                if new.get(name) != source:
                    self.scheduler.remove_job(_job_id(source))
            for name, source in new.items():
                if old.get(name) != source:
                    self._add_poll_job(self.scheduler, source, now)
        if config.settings.database != self.config.settings.database:
            log.warning("reload: a new database path takes effect on restart only")
        if _client_settings(config) != _client_settings(self.config):
            self._replace_client(config)
        self.outbox.reconfigure(sender, _shaping(config))
        self.config = config

    def _replace_client(self, config: Config) -> None:
        from ticker.fetch import make_client

        old, self.client = self.client, make_client(config.settings)
        busy = self._busy()

        async def close_when_idle() -> None:
            if busy:
                await asyncio.wait(busy, timeout=STOP_GRACE)
            await old.aclose()

        task = asyncio.get_running_loop().create_task(close_when_idle())
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then let in-flight work finish (bounded) and return."""
        from ticker.scheduler import SteadyScheduler

        scheduler = SteadyScheduler(self.clock, self.monotonic)
        self._stop = stop
        await self.coord.start()  # PostgreSQL: join the replicas, take a share of the leases
        self.outbox.owner = self.coord.owner
        if retried := self.outbox.retry_now():
            log.info("%d pending deliveries from before the restart are due now", retried)
        # Alone: processes of this host that are gone. Replicas: those not live, asked of
        # the coordination.
        if released := self.outbox.release_dead_claims():
            log.info("%d deliveries claimed by a process that is gone are free again", released)
        self.outbox.cancel_removed()  # channels that left the config while ticker was stopped
        self.schedule(scheduler)
        scheduler.start()
        renewing = asyncio.get_running_loop().create_task(self.coord.run(self._held_changed))
        watchdog = _start_watchdog(self.coord.in_touch)
        hearing = self._start_hearing()
        log.info(
            "watching %d source(s), %d channel(s); database %s",
            len(self.config.sources),
            len(self.config.channels),
            self.store.path,
        )
        sdnotify.notify("READY=1", *self._status_fields())
        try:
            await stop.wait()
        finally:
            sdnotify.notify("STOPPING=1")
            scheduler.pause()
            await self._finish_in_flight()
            scheduler.shutdown(wait=False)
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
            await self.coord.stop()  # hand the leases back, for the others to take now
            if watchdog is not None:
                watchdog.cancel()
            if hearing is not None:
                hearing.set()
        if self.broken is not None:
            raise DatabaseBroken(self.store.path, self.broken)

    def _start_hearing(self) -> threading.Event | None:
        """PostgreSQL: a thread of its own LISTENs for the deliveries other replicas record
        (Store._announce), so that the channel's holder sends them at once rather than at
        its next timed drain. Returns what stops it; None on SQLite (one process)."""
        target = self.store.path
        if isinstance(target, Path):
            return None
        from ticker import pg

        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def heard(channel: str) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: ticker is stopping
                loop.call_soon_threadsafe(self._heard, channel)

        listener = threading.Thread(
            target=pg.listen,
            args=(target, WAKE_TOPIC, heard, stop),
            name="ticker-listen",
            daemon=True,
        )
        listener.start()
        return stop

    def _heard(self, channel: str) -> None:
        """Another replica recorded a delivery to `channel`: send it if this one holds it."""
        if self.broken is None and self.coord.holds_channel(channel):
            self._drain_in_background()

    def database_failed(self, exc: BaseException) -> bool:
        """If `exc` means the database went bad for good (dbfile.fatal_reason: damaged,
        I/O errors, deleted or replaced), stop: nothing more is polled or sent from it, a
        critical line is logged and one health alert goes out directly (the outbox is in
        the broken file), and `run` raises DatabaseBroken. True if so; False for errors
        that pass (locked, busy, full), which the caller handles as before."""
        reason = dbfile.fatal_reason(exc)
        if reason is None:
            return False
        if self.broken is None:
            self.broken = reason
            log.critical("database %s %s; ticker stops", self.store.path, reason)
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.pause()
            self._alert = asyncio.get_running_loop().create_task(self._alert_health(reason))
            if self._stop is not None:
                self._stop.set()
        return True

    async def _alert_health(self, reason: str) -> None:
        """Tell the channels with `health = true` that ticker stopped, sending directly."""
        message = Message(
            title="ticker: database unusable, ticker stopped",
            body=f"The database {self.store.path} {reason}. ticker has stopped polling and "
            "delivering. Restore a backup or recover the file ('Recovering the database' in "
            "the README), then start ticker again.",
        )
        sender = self.outbox.sender
        for channel in (c.name for c in self.config.channels if c.health):
            try:
                send = asyncio.to_thread(sender.send, channel, message)
                failure = await asyncio.wait_for(send, ALERT_GRACE)
            except TimeoutError:
                log.error("health alert to %s: no answer within %.0f s", channel, ALERT_GRACE)
                continue
            if failure is not None:
                log.error("health alert to %s failed: %s", channel, failure.reason)

    async def _finish_in_flight(self) -> None:
        """A clean stop: no new send starts; polls and other work get POLL_GRACE, then are
        cancelled; a send in flight is awaited (it is never cancelled before STOP_GRACE)
        until the channel answered and its mark is written, so a clean stop never sends an
        alert twice. The health alert of a broken database goes out first."""
        if self._alert is not None:
            await asyncio.wait({self._alert})
        sends = self.outbox.stop()
        work = self._busy()
        if work or sends:
            log.info(
                "stopping: waiting up to %.0f s for %d task(s), %.0f s for %d channel(s) sending",
                POLL_GRACE,
                len(work),
                STOP_GRACE,
                len(sends),
            )
            started = time.monotonic()
            _done, late = await asyncio.wait(work | sends, timeout=POLL_GRACE)
            for task in late - sends:
                task.cancel()
            if late & sends:
                left = STOP_GRACE - (time.monotonic() - started)
                _done, cut = await asyncio.wait(late & sends, timeout=max(left, 0.0))
                if cut:
                    log.error(
                        "stopping: %d channel(s) still sending after %.0f s; "
                        "those messages may be sent again after the restart",
                        len(cut),
                        STOP_GRACE,
                    )
        if unrecorded := self.outbox.land_held():
            log.error(
                "stopping: %d alert(s) sent or failed but not recorded (the database refuses "
                "writes); they will be sent again after the restart",
                unrecorded,
            )


def _job_id(source: Source) -> str:
    return f"poll:{source.name}"


def _shaping(config: Config) -> dict[str, Shaping]:
    # Each channel's limits are asked of the sender when a message is split (Outbox): the
    # sender may then import Apprise, which a poll with nothing to send never needs.
    return {c.name: Shaping.of(c) for c in config.channels}


def _client_settings(config: Config) -> tuple[object, ...]:
    settings = config.settings
    return settings.user_agent, settings.timeout


def _start_watchdog(fed: Callable[[], bool] | None = None) -> asyncio.Task[None] | None:
    """WATCHDOG=1 from the event loop at half systemd's interval: a blocked loop stops the
    pings, and systemd restarts the service; so does `fed` saying False (a replica a ttl
    without its database)."""
    interval = sdnotify.watchdog_interval()
    if interval is None:
        return None
    log.info("systemd watchdog: pinging every %.1f s", interval / 2)
    return asyncio.get_running_loop().create_task(sdnotify.watchdog_loop(interval, fed=fed))


async def poll_once(
    config: Config,
    sources: tuple[Source, ...],
    store: Store,
    sender: Sender,
    clock: Callable[[], float] = time.time,
    *,
    deliver: bool = True,
) -> list[PollOutcome]:
    """`ticker poll`: poll `sources` once each, concurrently, then send what is due (unless
    not `deliver`: a daemon running on the database delivers it). Raises DatabaseBroken if
    the database went bad (dbfile.fatal_reason)."""
    from ticker.fetch import make_client

    async with make_client(config.settings) as client:
        # One-off: every source it is asked for, as before (replicas poll on their own).
        daemon = Daemon(config, store, client, sender, clock, coordination=Alone())
        outcomes = await asyncio.gather(
            *(_poll_checked(config, s, client, store, clock) for s in sources)
        )
        if deliver:
            daemon.outbox.cancel_removed()
            await daemon.drain()
        if daemon.broken is not None:
            raise DatabaseBroken(store.path, daemon.broken)
    return list(outcomes)


async def _poll_checked(
    config: Config,
    source: Source,
    client: httpx.AsyncClient,
    store: Store,
    clock: Callable[[], float],
) -> PollOutcome:
    """poll_source, with the database file checked first, and its fatal errors raised as
    DatabaseBroken (the ones that pass are left to the caller, as before)."""
    store.check_file()
    try:
        return await poll_source(config, source, client, store, clock)
    except DATABASE_ERRORS as exc:
        reason = dbfile.fatal_reason(exc)
        if reason is None:
            raise
        raise DatabaseBroken(store.path, reason) from None


async def run_until_signalled(
    daemon: Daemon, load: Callable[[], tuple[Config, Sender]] | None = None
) -> None:
    """Run `daemon` until SIGINT or SIGTERM; SIGHUP re-reads the config with `load`."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[bool]] = set()

    def reload() -> None:
        if load is not None:
            task = loop.create_task(daemon.reload(load))
            reloads.add(task)
            task.add_done_callback(_reload_done)

    def _reload_done(task: asyncio.Task[bool]) -> None:
        # Retrieve the exception of a reload that failed in an unforeseen way: it is logged
        # here with its traceback, not as "Task exception was never retrieved" at exit.
        reloads.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("reload failed: %s", exc, exc_info=exc)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        await daemon.run(stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        if reloads:  # a reload still draining: give it the same grace as other work
            await asyncio.wait(set(reloads), timeout=STOP_GRACE)
    log.info("stopped")
