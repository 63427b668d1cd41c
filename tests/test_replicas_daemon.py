"""The daemon as a replica: it polls only the sources its coordination holds, takes over
sources where their last holder left them, holds nothing and sends nothing when the
database is unreachable, and stops feeding systemd's watchdog a ttl after the database
went away. A fake coordination on SQLite here; `Leased` on a real PostgreSQL for the
watchdog (tests/test_replicas.py has the rest of it)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Clock, Recorder, queued_datagrams, source_config
from servers import PageServer

from ticker import sdnotify
from ticker.config import Config
from ticker.daemon import Daemon
from ticker.errors import DatabaseUnreachable
from ticker.fetch import make_client
from ticker.replicas import Listener
from ticker.scheduler import SteadyScheduler
from ticker.store import Store

PAGE = "<ul><li>Storm reaches the coast</li></ul>"
UNREACHABLE = DatabaseUnreachable(
    "PostgreSQL database ticker at db.example:5432", "cannot be reached: connection lost"
)


class FakeCoordination:
    """A coordination the test sets by hand: what it holds, whether its view is stale."""

    problem: str | None = None

    def __init__(self, held: Sequence[str]) -> None:
        self.held = set(held)
        self.stale = False
        self.lost_with: list[DatabaseUnreachable] = []
        self.owner = "host:1:fake"

    def holds_source(self, name: str) -> bool:
        return name in self.held and not self.stale

    def holds_channel(self, name: str) -> bool:
        return self.problem is None and not self.stale

    def alive(self, owner: str) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def run(self, listener: Listener) -> None:
        return None

    async def stop(self) -> None:
        return None

    def lost(self, exc: DatabaseUnreachable) -> None:
        self.lost_with.append(exc)
        self.problem = str(exc)
        self.held = set()

    def in_touch(self) -> bool:
        return self.problem is None

    def held_sources(self) -> frozenset[str]:
        return frozenset(self.held) if not self.stale else frozenset()

    def configure(self, sources: Sequence[str], channels: Sequence[str]) -> None:
        return None


def two_sources(tmp_path: Path, url: str) -> Config:
    return source_config(
        tmp_path,
        {"name": "a", "url": url, "selector": "li", "interval": 60},
        {"name": "b", "url": url, "selector": "li", "interval": 60},
    )


def run_with_daemon(config: Config, coord: FakeCoordination, body: Any) -> None:
    """Run `body(daemon, scheduler)` with a daemon on `coord`, its jobs in a paused
    scheduler (they never fire by themselves: the test runs the polls)."""
    store = Store.open(config.settings.database)
    clock = Clock()

    async def run() -> None:
        async with make_client(config.settings) as client:
            daemon = Daemon(config, store, client, Recorder(), clock, coordination=coord)
            scheduler = SteadyScheduler(clock, clock)
            daemon.schedule(scheduler)
            scheduler.start(paused=True)
            try:
                await body(daemon, scheduler, clock)
            finally:
                scheduler.shutdown(wait=False)
                await daemon.idle()

    try:
        asyncio.run(run())
    finally:
        store.close()


def test_a_replica_polls_only_what_it_holds_and_takes_over_where_the_last_left(
    tmp_path: Path,
) -> None:
    with PageServer([PAGE]) as site:
        config = two_sources(tmp_path, site.url)
        coord = FakeCoordination(held=["a"])

        async def body(daemon: Daemon, scheduler: SteadyScheduler, clock: Clock) -> None:
            a, b = config.source("a"), config.source("b")
            assert scheduler.get_job("poll:b").next_run_time is None  # paused: not held
            assert scheduler.get_job("poll:a").next_run_time is not None
            skipped = await daemon.poll(b, deliver=False)
            assert site.requests == 0 and skipped.record is None and skipped.error is None
            await daemon.poll(a, deliver=False)
            assert site.requests == 1
            # Another replica polled b and planned its next poll 20 s from now; then b's
            # lease comes to this replica: b is polled then, not now, not an interval later.
            daemon.store.record_poll("b", b.url, [], clock(), [])
            daemon.store.set_next_poll("b", clock() + 20)
            coord.held = {"a", "b"}
            daemon._held_changed(frozenset(coord.held))
            due = scheduler.get_job("poll:b").next_run_time
            assert due == datetime.fromtimestamp(clock() + 20, UTC)
            # And a, taken by another replica, is paused.
            coord.held = {"b"}
            daemon._held_changed(frozenset(coord.held))
            assert scheduler.get_job("poll:a").next_run_time is None
            await daemon.poll(a, deliver=False)  # a run already under way: still skipped
            assert site.requests == 1

        run_with_daemon(config, coord, body)


def test_a_stale_view_skips_the_poll_and_the_next_renewal_restarts_it(tmp_path: Path) -> None:
    # A replica frozen longer than its lease resumes: the overdue poll must not run on the
    # lease it no longer trusts; when a renewal gives the source back, polling resumes.
    with PageServer([PAGE]) as site:
        config = two_sources(tmp_path, site.url)
        coord = FakeCoordination(held=["a", "b"])

        async def body(daemon: Daemon, scheduler: SteadyScheduler, clock: Clock) -> None:
            a = config.source("a")
            coord.stale = True
            await daemon.poll(a, deliver=False)
            assert site.requests == 0
            assert scheduler.get_job("poll:a").next_run_time is None
            coord.stale = False  # renewed: held all along
            daemon._held_changed(coord.held_sources())
            assert scheduler.get_job("poll:a").next_run_time is not None
            await daemon.poll(a, deliver=False)
            assert site.requests == 1

        run_with_daemon(config, coord, body)


def test_a_store_that_loses_the_database_makes_the_replica_hold_nothing(
    tmp_path: Path, notify_socket: socket.socket
) -> None:
    with PageServer([PAGE]) as site:
        config = two_sources(tmp_path, site.url)
        coord = FakeCoordination(held=["a", "b"])

        async def body(daemon: Daemon, scheduler: SteadyScheduler, clock: Clock) -> None:
            def gone() -> None:
                raise UNREACHABLE

            daemon.store.check_file = gone  # type: ignore[method-assign]
            outcome = await daemon.poll(config.source("a"), deliver=False)
            assert outcome.error is not None and "cannot be reached" in outcome.error
            assert coord.lost_with == [UNREACHABLE]
            assert all(scheduler.get_job(f"poll:{n}").next_run_time is None for n in "ab")
            sent = daemon.outbox.sender
            await daemon.drain()  # nothing is claimed or sent while cut off
            assert isinstance(sent, Recorder) and sent.messages == []
            line = daemon.status_line()
            assert line.startswith("database unreachable, polling and sending nothing")
            assert "db.example:5432" in line

        run_with_daemon(config, coord, body)
        assert site.requests == 0


def test_the_watchdog_stops_a_ttl_after_the_database_went_away(
    postgres_db: str, notify_socket: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    from ticker.replicas import Leased

    boot = [1000.0]
    coord = Leased(postgres_db, ["a"], ["me"], 3.0, elapsed=lambda: boot[0])
    coord.join()

    turns = [0]

    def beat() -> None:
        turns[0] += 1

    async def scenario() -> None:
        task = asyncio.create_task(sdnotify.watchdog_loop(0.1, beat, fed=coord.in_touch))
        try:
            await _pings(notify_socket, 1)  # fed: pings go out
            # A ttl without a renewal (a hung connection, a cut), while the loop sleeps:
            # every turn from now on sees it.
            boot[0] += 3.1
            queued_datagrams(notify_socket)  # the pings of before
            turns[0] = 0
            await _until(lambda: turns[0] >= 3)  # three turns of the loop: no ping
            assert queued_datagrams(notify_socket) == []
            coord.renew()  # the database answers again
            await _pings(notify_socket, 1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            coord.leave()

    with caplog.at_level(logging.ERROR, logger="ticker.sdnotify"):
        asyncio.run(asyncio.wait_for(scenario(), timeout=20))
    assert [r.getMessage() for r in caplog.records] == [
        "systemd watchdog: no ping while the database cannot be reached"
    ]


async def _pings(sock: socket.socket, count: int) -> None:
    """Wait (bounded) until `count` WATCHDOG=1 pings have arrived."""
    seen = 0
    async with asyncio.timeout(10):
        while seen < count:
            seen += sum(1 for d in queued_datagrams(sock) if d == ["WATCHDOG=1"])
            await asyncio.sleep(0.02)


async def _until(condition: Any, at_most: float = 10.0, step: float = 0.01) -> None:
    """Wait (bounded: `at_most` seconds) until `condition()` holds."""
    async with asyncio.timeout(at_most):
        while not condition():
            await asyncio.sleep(step)


def test_two_daemons_share_the_sources_and_a_survivor_takes_over(
    tmp_path: Path, postgres_db: str
) -> None:
    # Two daemons in one process, on one store, with real `Leased` coordinations on the
    # PostgreSQL server (short leases: 1.5 s, renewed every 0.5 s), their real schedulers.
    from ticker.replicas import Leased

    polls: list[tuple[str, str, float, float]] = []  # (daemon, source, began, ended)

    class Spy(Daemon):
        label = ""

        async def poll(self, source: Any, *, deliver: bool = True) -> Any:
            began = asyncio.get_running_loop().time()
            outcome = await super().poll(source, deliver=deliver)
            if outcome.record is not None or outcome.error is not None:  # it fetched
                polls.append((self.label, source.name, began, asyncio.get_running_loop().time()))
            return outcome

    names = ["a", "b", "c", "d"]
    with PageServer([PAGE]) as site:
        config = source_config(
            tmp_path,
            *({"name": n, "url": site.url, "selector": "li", "interval": 1} for n in names),
        )
        store = Store.open(config.settings.database)

        def polled_by(label: str, since: float) -> set[str]:
            return {source for who, source, began, _ in polls if who == label and began >= since}

        async def scenario() -> None:
            loop = asyncio.get_running_loop()
            async with make_client(config.settings) as client:
                daemons, stops, runs = [], [], []
                for label in ("A", "B"):
                    coord = Leased(postgres_db, names, ["me"], 1.5)
                    daemon = Spy(config, store, client, Recorder(), coordination=coord)
                    daemon.label = label
                    stop = asyncio.Event()
                    daemons.append(daemon)
                    stops.append(stop)
                    runs.append(loop.create_task(daemon.run(stop)))
                try:
                    # An even spread: each polls two sources, and only those.
                    await _until(
                        lambda: (
                            len(polled_by("A", loop.time() - 1.2)) == 2
                            and len(polled_by("B", loop.time() - 1.2)) == 2
                        ),
                        at_most=30.0,
                        step=0.05,
                    )
                    now = loop.time()
                    assert not polled_by("A", now - 1.2) & polled_by("B", now - 1.2)
                    # A stops cleanly: B polls all four.
                    stops[0].set()
                    await runs[0]
                    stopped = loop.time()
                    await _until(
                        lambda: polled_by("B", stopped) == set(names), at_most=30.0, step=0.05
                    )
                finally:
                    for stop in stops:
                        stop.set()
                    await asyncio.gather(*runs, return_exceptions=True)

        try:
            asyncio.run(scenario())
        finally:
            store.close()
    # Never two daemons polling one source at once.
    for source in names:
        mine = sorted((began, ended, who) for who, s, began, ended in polls if s == source)
        for (_, ended, who), (began, _, other) in zip(mine, mine[1:], strict=False):
            assert who == other or began >= ended, (source, who, other)


def test_a_killed_daemons_sources_are_taken_within_two_poll_intervals(
    tmp_path: Path, postgres_db: str
) -> None:
    # A "killed" replica: its daemon stops without handing its leases back, so they run out
    # on their own. The survivor must poll every source within ttl x (1 + 1/3) after the
    # last renewal, plus one interval: the lease is 1.5 x the 1 s interval here, the
    # default ratio. The bound is loose (a loaded machine); the figure is printed.
    from ticker.replicas import RENEW_EVERY, Leased

    polls: list[tuple[int, str, float]] = []
    names = ["a", "b", "c", "d"]
    ttl, interval = 1.5, 1.0

    class Spy(Daemon):
        number = 0

        async def poll(self, source: Any, *, deliver: bool = True) -> Any:
            outcome = await super().poll(source, deliver=deliver)
            if outcome.record is not None or outcome.error is not None:
                polls.append((self.number, source.name, asyncio.get_running_loop().time()))
            return outcome

    with PageServer([PAGE]) as site:
        config = source_config(
            tmp_path,
            *({"name": n, "url": site.url, "selector": "li", "interval": interval} for n in names),
        )
        store = Store.open(config.settings.database)
        took: list[float] = []

        async def scenario() -> None:
            loop = asyncio.get_running_loop()
            async with make_client(config.settings) as client:
                coords = [Leased(postgres_db, names, ["me"], ttl) for _ in range(2)]
                daemons = [Spy(config, store, client, Recorder(), coordination=c) for c in coords]
                daemons[1].number = 1
                stops = [asyncio.Event(), asyncio.Event()]
                runs = [loop.create_task(d.run(s)) for d, s in zip(daemons, stops, strict=True)]
                try:
                    await _until(
                        lambda: (
                            {s for n, s, _ in polls if n == 0}
                            and {s for n, s, _ in polls if n == 1}
                        ),
                        at_most=30.0,
                        step=0.05,
                    )
                    victim = coords[0]

                    async def killed() -> None:  # no `leave`: the leases run out
                        if victim._conn is not None:
                            victim._conn.close()

                    victim.stop = killed  # type: ignore[method-assign]
                    mine = set(victim.held_sources())
                    last_renewal = loop.time()  # at most this late
                    stops[0].set()
                    await runs[0]
                    await _until(
                        lambda: mine <= {s for n, s, t in polls if n == 1 and t > last_renewal},
                        at_most=30.0,
                        step=0.05,
                    )
                    took.append(loop.time() - last_renewal)
                finally:
                    for stop in stops:
                        stop.set()
                    await asyncio.gather(*runs, return_exceptions=True)

        try:
            asyncio.run(scenario())
        finally:
            store.close()
    print(f"takeover: {took[0]:.2f} s (ttl {ttl} s, interval {interval} s)")
    assert took[0] < ttl * (1 + RENEW_EVERY) + interval + 3.0  # 3 s: a loaded machine


class ChannelHolder(FakeCoordination):
    """A fake coordination that holds the given sources and channels, and only those."""

    def __init__(self, sources: Sequence[str], channels: Sequence[str]) -> None:
        super().__init__(held=sources)
        self.channels = set(channels)

    def holds_channel(self, name: str) -> bool:
        return name in self.channels


def test_the_channels_holder_sends_at_once_what_another_replica_recorded(
    tmp_path: Path, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Replica A polls the source, replica B holds the channel: B hears of A's new delivery
    # (NOTIFY at A's commit, LISTEN in B) and sends it at once. The drain timer is set to an
    # hour here, so without the notification nothing would be sent within the test.
    from ticker import daemon as daemon_module
    from ticker.dburl import PostgresTarget

    monkeypatch.setattr(daemon_module, "DRAIN_EVERY", 3600.0)
    news = "<ul><li>Rescue teams reach the valley</li><li>Storm reaches the coast</li></ul>"
    with PageServer([PAGE, news]) as site:
        config = source_config(
            tmp_path, {"name": "a", "url": site.url, "selector": "li", "interval": 1}
        )
        channel = config.channels[0].name
        target = PostgresTarget.from_conninfo(postgres_db)
        stores = [Store.open(target), Store.open(target)]
        senders = [Recorder(), Recorder()]
        holders = [ChannelHolder(["a"], []), ChannelHolder([], [channel])]

        async def scenario() -> None:
            loop = asyncio.get_running_loop()
            async with make_client(config.settings) as client:
                daemons = [
                    Daemon(config, store, client, sender, coordination=coord)
                    for store, sender, coord in zip(stores, senders, holders, strict=True)
                ]
                stop = asyncio.Event()
                runs = [loop.create_task(daemon.run(stop)) for daemon in daemons]
                try:
                    await _until(lambda: bool(senders[1].messages), at_most=30.0, step=0.05)
                finally:
                    stop.set()
                    await asyncio.gather(*runs, return_exceptions=True)

        try:
            asyncio.run(scenario())
        finally:
            for store in stores:
                store.close()
    assert [m.body for m in senders[1].messages if "Rescue teams" in m.body]
    assert senders[0].messages == []  # A holds no channel: it sent nothing
