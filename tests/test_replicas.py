"""ticker.replicas: `Leased` coordinations against a real PostgreSQL (tests/postgres.py), with
the tests' own clocks (the boot clock each replica trusts its leases by, and the server time
given to the lease functions), so expiry needs no sleep; and `Alone` for SQLite."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ticker.errors import ConfigError, DatabaseUnreachable
from ticker.replicas import MARGIN, Alone, Leased, boot_seconds, lease_seconds

T0 = 1_764_000_000.0
TTL = 30.0
SOURCES = [f"source-{i:02d}" for i in range(30)]
CHANNELS = ["mail", "telegram", "desktop"]


@dataclass
class Clocks:
    """One clock for all the replicas of a test: `boot` (what each trusts its leases by) and
    `server` (what the lease functions are given as the server's time), moved together."""

    boot: float = 1000.0
    server: float = T0

    def advance(self, seconds: float) -> None:
        self.boot += seconds
        self.server += seconds


@pytest.fixture
def replicas(postgres_db: str) -> Iterator[Any]:
    """Makes `Leased` coordinations on the test's database, sharing one Clocks; closes
    their connections at the end."""
    pytest.importorskip("psycopg")
    clocks = Clocks()
    made: list[Leased] = []

    def make(ttl: float = TTL, sources: list[str] = SOURCES) -> Leased:
        coord = Leased(
            postgres_db,
            sources,
            CHANNELS,
            ttl,
            elapsed=lambda: clocks.boot,
            now=lambda: clocks.server,
            started=lambda: clocks.server,
        )
        made.append(coord)
        return coord

    make.clocks = clocks  # type: ignore[attr-defined]
    yield make
    for coord in made:
        if coord._conn is not None:
            coord._conn.close()


def settle(*coords: Leased) -> None:
    """Renewal rounds until the shares stop moving (bounded: a few rounds suffice)."""
    for _ in range(4):
        for coord in coords:
            coord.renew()


def test_three_replicas_share_sources_and_channels_evenly(replicas: Any) -> None:
    three = [replicas() for _ in range(3)]
    for coord in three:
        coord.join()
    settle(*three)
    held = [coord.held_sources() for coord in three]
    assert [len(mine) for mine in held] == [10, 10, 10]
    assert sorted(s for mine in held for s in mine) == SOURCES
    channels = [[c for c in CHANNELS if coord.holds_channel(c)] for coord in three]
    assert sorted(len(mine) for mine in channels) == [1, 1, 1]
    for coord, mine in zip(three, held, strict=True):
        assert all(coord.holds_source(s) == (s in mine) for s in SOURCES)
    names = {coord.owner for coord in three}
    assert len(names) == 3 and all(three[0].alive(name) for name in names)


def test_one_leaves_and_the_others_take_its_share_at_once(replicas: Any) -> None:
    a, b, c = (replicas() for _ in range(3))
    for coord in (a, b, c):
        coord.join()
    settle(a, b, c)
    gone = a.owner
    a.leave()
    assert not a.holds_source(SOURCES[0]) and a.held_sources() == frozenset()
    settle(b, c)  # no ttl to wait: the leases were handed back
    assert sorted(b.held_sources() | c.held_sources()) == SOURCES
    assert len(b.held_sources()) == len(c.held_sources()) == 15
    assert sorted(ch for ch in CHANNELS if b.holds_channel(ch) or c.holds_channel(ch)) == sorted(
        CHANNELS
    )
    assert not b.alive(gone)  # its claims may be released


def test_a_cut_replica_holds_nothing_then_rejoins_as_a_new_one(
    replicas: Any, postgres_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c = (replicas() for _ in range(3))
    for coord in (a, b, c):
        coord.join()
    settle(a, b, c)
    before = a.owner
    assert postgres_server.terminate(before) == 1  # the server ends a's lease connection
    with caplog.at_level(logging.ERROR, logger="ticker.replicas"):
        with pytest.raises(DatabaseUnreachable):
            a.renew()
        with pytest.raises(DatabaseUnreachable):
            a.renew()  # still cut: no second error logged
    assert a.held_sources() == frozenset()
    assert not any(a.holds_source(s) for s in SOURCES)
    assert not any(a.holds_channel(ch) for ch in CHANNELS)
    assert not a.in_touch() and a.problem is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "PostgreSQL database t" in errors[0]
    assert "holds nothing" in errors[0]

    replicas.clocks.advance(TTL + 1)  # a's leases expire on the server
    settle(b, c)
    assert sorted(b.held_sources() | c.held_sources()) == SOURCES
    assert not b.alive(before)

    a.join()  # back: a new replica, which gets its share again
    assert a.owner != before and a.in_touch()
    settle(a, b, c)
    assert [len(x.held_sources()) for x in (a, b, c)] == [10, 10, 10]


def test_a_frozen_replica_trusts_nothing_when_it_resumes(replicas: Any) -> None:
    a, b = replicas(), replicas()
    a.join()
    b.join()
    settle(a, b)
    mine = sorted(a.held_sources())
    mail = next(ch for ch in CHANNELS if a.holds_channel(ch))
    # Still trusted just before ttl x (1 - MARGIN) after the last renewal was sent...
    replicas.clocks.advance(TTL * (1 - MARGIN) - 0.5)
    assert a.holds_source(mine[0]) and a.holds_channel(mail)
    # ...and no longer after it: a process frozen that long (SIGSTOP) resumes, and before
    # any renewal it neither polls nor sends.
    replicas.clocks.advance(1.0)
    assert not a.holds_source(mine[0]) and not a.holds_channel(mail)
    assert a.held_sources() == frozenset()
    assert a.alive("someone:1:gone")  # blind: never release another's claims
    # Meanwhile the server let its leases go, and b took them.
    replicas.clocks.advance(TTL * MARGIN)
    settle(b)
    assert sorted(b.held_sources()) == SOURCES
    # a renews: its share only, from the leases still free.
    a.renew()
    assert a.held_sources() <= set(SOURCES) - b.held_sources()


def test_the_watchdog_is_fed_only_within_a_ttl_of_the_last_renewal(replicas: Any) -> None:
    a = replicas()
    assert not a.in_touch()  # not joined yet
    a.join()
    assert a.in_touch()
    replicas.clocks.advance(TTL - 0.1)
    assert a.in_touch()
    replicas.clocks.advance(0.2)  # a renewal that hangs, or a frozen process
    assert not a.in_touch()
    a.renew()
    assert a.in_touch()


def test_a_source_named_like_a_channel_lease_is_a_config_error(replicas: Any) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        replicas(sources=["channel:mail"])


def test_the_renew_loop_drops_everything_at_a_cut_and_rejoins(
    replicas: Any, postgres_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Real time here, with a short ttl (renewals every 0.3 s); every wait is bounded.
    a = replicas(ttl=0.9)
    a.elapsed, a.now = boot_seconds, lambda: None  # the machine's and the server's clocks
    seen: list[frozenset[str]] = []

    async def scenario() -> None:
        await a.start()
        first = a.owner
        assert len(a.held_sources()) == 30
        loop = asyncio.create_task(a.run(seen.append))
        try:
            assert postgres_server.terminate(first) == 1
            await _until(lambda: seen and seen[-1] == frozenset())
            assert a.problem is not None and not a.holds_source(SOURCES[0])
            await _until(lambda: a.owner != first and len(a.held_sources()) == 30)
            assert a.problem is None
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
            await a.stop()

    with caplog.at_level(logging.INFO, logger="ticker.replicas"):
        asyncio.run(scenario())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert any("rejoined as a new replica" in r.getMessage() for r in caplog.records)


async def _until(condition: Any, timeout: float = 20.0) -> None:
    """Wait (bounded) until `condition()` holds, looking every 50 ms."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def test_alone_holds_everything_and_knows_its_own_host(tmp_path: Any) -> None:
    alone = Alone()
    assert alone.holds_source("any") and alone.holds_channel("any")
    assert alone.alive(alone.owner)
    host = os.uname().nodename
    assert not alone.alive("elsewhere.example:1:ab")  # one SQLite database, one host
    assert alone.alive(f"{host}:{os.getppid()}:ab")  # a process of this host that runs


def test_lease_seconds_default_and_setting(tmp_path: Any) -> None:
    from conftest import source_config

    config = source_config(
        tmp_path,
        {"name": "fast", "url": "http://localhost/a", "interval": 4, "selector": "li"},
        {"name": "slow", "url": "http://localhost/b", "interval": 60, "selector": "li"},
    )
    assert lease_seconds(config) == 10.0  # 1.5 x 4 s, but at least 10 s
    config = source_config(
        tmp_path, {"name": "s", "url": "http://localhost/a", "interval": 30, "selector": "li"}
    )
    assert lease_seconds(config) == 45.0
    config = source_config(
        tmp_path, {"name": "s", "url": "http://localhost/a", "selector": "li"}, lease_seconds=3
    )
    assert lease_seconds(config) == 3.0


def test_config_check_refuses_a_lease_too_short(tmp_path: Any) -> None:
    from conftest import source_config

    with pytest.raises(ConfigError) as raised:
        source_config(
            tmp_path, {"name": "s", "url": "http://x/", "selector": "li"}, lease_seconds=1
        )
    message = str(raised.value)
    assert "ticker.lease_seconds" in message and "between 2 and 3600" in message


def test_status_lists_the_replicas_and_who_holds_what(replicas: Any, postgres_db: str) -> None:
    import json

    from ticker import status as reporting

    empty = reporting.Status(Path("db"), T0, (), ())
    assert reporting.with_replicas(empty, postgres_db).replicas == ()  # none ran yet
    a, b = replicas(), replicas()
    a.join()
    b.join()
    settle(a, b)
    gone = replicas()
    gone.join()
    gone.leave()
    report = reporting.with_replicas(empty, postgres_db, now=replicas.clocks.server)
    assert report.replicas is not None
    rows = {row.name: row for row in report.replicas}
    assert [rows[x.owner].live for x in (a, b, gone)] == [True, True, False]
    assert sorted(rows[a.owner].sources + rows[b.owner].sources) == SOURCES
    assert rows[a.owner].sources_held == len(rows[a.owner].sources) == 15
    assert sorted(rows[a.owner].channels + rows[b.owner].channels) == sorted(CHANNELS)
    text = reporting.as_text(report, verbose=True)
    assert "HOST" in text and "HEARTBEAT" in text and a.owner in text
    assert f"{a.owner} holds sources: " + ", ".join(rows[a.owner].sources) in " ".join(text.split())
    assert "holds sources" not in reporting.as_text(report)  # who holds what: with -v only
    listed = json.loads(reporting.as_json(report))["replicas"]
    assert {r["name"]: r["live"] for r in listed} == {
        a.owner: True,
        b.owner: True,
        gone.owner: False,
    }
    assert "replicas" not in reporting.status_json(empty)  # SQLite: unchanged


def test_a_replica_rejoins_only_once_its_store_reaches_the_database_too(replicas: Any) -> None:
    # The store's connection lost the database while the lease connection did not: joining
    # again would only fail the next poll. The probe (the store's) keeps it out until then.
    a = replicas()
    store_down = [True]

    def probe() -> None:
        if store_down[0]:
            raise DatabaseUnreachable("PostgreSQL database t at h:5432", "cannot be reached: x")

    a.probe = probe
    with pytest.raises(DatabaseUnreachable):
        a.join()
    assert a._conn is None and a.held_sources() == frozenset()
    store_down[0] = False
    assert len(a.join()) == 30
