"""The web server's one read-only database connection, used from one worker thread.

SQLite connections belong to the thread that made them, and the event loop must not wait
on a query: every read runs on a single dedicated thread, in turn (a query over the alerts
index takes a millisecond or so, so one thread serves many readers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ticker import status as reporting
from ticker import tail as tailing
from ticker.config import Config
from ticker.dburl import Database
from ticker.store import AlertView, Store

T = TypeVar("T")
HOUR = 3600.0


@dataclass(frozen=True)
class Hourly:
    """Lines first seen per source in each of the last hours, oldest hour first."""

    start: float  # the Unix time the first hour begins
    counts: dict[str, list[int]]


class Reader:
    """A read-only Store on its own thread; every method is awaited from the event loop."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ticker-db")
        self._store: Store | None = None

    async def call(self, work: Callable[[Store], T]) -> T:
        """`work(store)` run on the database thread (the store opened on first use)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run, work)

    def _run(self, work: Callable[[Store], T]) -> T:
        if self._store is None:
            self._store = Store.open_readonly(self.database)
        return work(self._store)

    def close(self) -> None:
        """Close the connection (on its thread) and stop the thread."""

        def shut() -> None:
            if self._store is not None:
                self._store.close()
                self._store = None

        self._executor.submit(shut).result()
        self._executor.shutdown()

    async def alerts(
        self,
        limit: int,
        *,
        after: int = 0,
        source: str | None = None,
        grep: str | None = None,
        oldest: bool = False,
    ) -> list[AlertView]:
        """The newest `limit` alerts after id `after` matching the filters (with `oldest`,
        the first `limit` after it), oldest first."""
        return await self.call(
            lambda store: store.recent_alerts(
                limit, source=source, grep=grep, after_id=after, oldest=oldest
            )
        )

    async def page(
        self, limit: int, *, source: str | None, grep: str | None
    ) -> tuple[int, list[AlertView]]:
        """The id of the newest alert and the newest `limit` alerts matching the filters,
        read in one snapshot (the live stream of the page starts after that id)."""

        def read(store: Store) -> tuple[int, list[AlertView]]:
            with store.read_snapshot():
                return store.last_alert_id(), store.recent_alerts(limit, source=source, grep=grep)

        return await self.call(read)

    async def last_id(self) -> int:
        """The id of the newest alert (0 if none)."""
        return await self.call(lambda store: store.last_alert_id())

    async def status(self, config: Config, now: float) -> reporting.Status:
        """What `ticker status` shows (secrets never read: channel URLs are not touched)."""
        return await self.call(lambda store: reporting.read_status(config, store, now))

    async def hourly(self, now: float, hours: int = 24) -> Hourly:
        """Lines per source per hour over the last `hours` whole hours and this one."""
        start = (now // HOUR - hours + 1) * HOUR
        edges = [start + HOUR * index for index in range(hours)]

        def read(store: Store) -> Hourly:
            with store.read_snapshot():
                since = [store.lines_since(edge) for edge in edges]
            counts: dict[str, list[int]] = {}
            for name in sorted({name for seen in since for name in seen}):
                total = [seen.get(name, 0) for seen in since] + [0]
                counts[name] = [total[i] - total[i + 1] for i in range(hours)]
            return Hourly(start, counts)

        return await self.call(read)


def alert_record(alert: AlertView, group: int | None = None) -> dict[str, object]:
    """An alert with exactly the fields of `ticker tail --json` (tail.alert_json builds
    both, so the two never drift apart)."""
    return tailing.alert_json(alert, group)


def status_record(status: reporting.Status) -> dict[str, object]:
    """The status with exactly the fields of `ticker status --json` (status.status_json)."""
    return reporting.status_json(status)
