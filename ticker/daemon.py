"""`ticker run`: APScheduler wiring, one interval job per source, the outbox drain,
housekeeping, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ticker.config import Config, Source
from ticker.outbox import Outbox, Sender, Shaping
from ticker.poll import PollOutcome, poll_source
from ticker.store import Store

DRAIN_EVERY = 15.0  # seconds; retries become due between polls too
HOUSEKEEPING_EVERY = 3600.0
STOP_GRACE = 10.0  # seconds an in-flight poll or delivery gets to finish on shutdown
log = logging.getLogger(__name__)


class Daemon:
    """Polls every source on its own interval and drains the outbox after each poll."""

    def __init__(
        self,
        config: Config,
        store: Store,
        client: httpx.AsyncClient,
        sender: Sender,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.clock = clock
        shaping = {c.name: Shaping.of(c, sender.limits(c.name)) for c in config.channels}
        self.outbox = Outbox(store, sender, shaping, clock)
        self._in_flight: set[asyncio.Task[Any]] = set()

    async def _tracked(self, work: Awaitable[Any]) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            return await work
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def poll(self, source: Source) -> PollOutcome:
        """Poll one source, then send what became due."""
        outcome = await self._tracked(
            poll_source(self.config, source, self.client, self.store, self.clock)
        )
        if outcome.record is not None and outcome.record.alerts:
            await self.drain()
        return outcome

    async def drain(self) -> None:
        """Send every due delivery."""
        await self._tracked(self.outbox.drain())

    async def housekeeping(self) -> None:
        """Forget finished rows older than the retention period."""
        before = self.clock() - self.config.settings.retention_days * 86400
        removed = self.store.prune(before)
        if any(removed.values()):
            log.info("housekeeping: removed %s", removed)

    def schedule(self, scheduler: AsyncIOScheduler) -> None:
        """Add one job per source, the drain timer and housekeeping to `scheduler`."""
        now = datetime.now(UTC)
        for source in self.config.sources:
            scheduler.add_job(
                self.poll,
                "interval",
                args=[source],
                id=f"poll:{source.name}",
                seconds=source.interval,
                jitter=source.jitter,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.add_job(
            self.drain,
            "interval",
            id="drain",
            seconds=DRAIN_EVERY,
            next_run_time=now,
            max_instances=1,
            coalesce=True,
        )
        scheduler.add_job(
            self.housekeeping,
            "interval",
            id="housekeeping",
            seconds=HOUSEKEEPING_EVERY,
            max_instances=1,
            coalesce=True,
            next_run_time=now + timedelta(seconds=60),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then let in-flight work finish (bounded) and return."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        if retried := self.store.retry_pending_now(self.clock()):
            log.info("%d pending deliveries from before the restart are due now", retried)
        self.schedule(scheduler)
        scheduler.start()
        log.info(
            "watching %d source(s), %d channel(s); database %s",
            len(self.config.sources),
            len(self.config.channels),
            self.store.path,
        )
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            await self._finish_in_flight()
            scheduler.shutdown(wait=False)

    async def _finish_in_flight(self) -> None:
        pending = {task for task in self._in_flight if not task.done()}
        if not pending:
            return
        log.info("stopping: waiting up to %.0f s for %d task(s)", STOP_GRACE, len(pending))
        _done, late = await asyncio.wait(pending, timeout=STOP_GRACE)
        for task in late:
            task.cancel()


async def poll_once(
    config: Config,
    sources: tuple[Source, ...],
    store: Store,
    sender: Sender,
    clock: Callable[[], float] = time.time,
) -> list[PollOutcome]:
    """`ticker poll`: poll `sources` once each, concurrently, then send what is due."""
    from ticker.fetch import make_client

    async with make_client(config.settings) as client:
        daemon = Daemon(config, store, client, sender, clock)
        outcomes = await asyncio.gather(
            *(poll_source(config, s, client, store, clock) for s in sources)
        )
        await daemon.drain()
    return list(outcomes)


async def run_until_signalled(daemon: Daemon) -> None:
    """Run `daemon` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await daemon.run(stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    log.info("stopped")
