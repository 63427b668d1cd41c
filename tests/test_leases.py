"""ticker.leases against a real PostgreSQL server (tests/postgres.py, one per session; a fresh
database per test). Time is the tests' own: every call gets `now`, so expiry needs no sleep."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="psycopg is not installed (the test or postgres extra)")

from ticker import leases  # noqa: E402  # needs psycopg
from ticker.errors import DatabaseUnreachable, StoreError  # noqa: E402
from ticker.leases import Replica  # noqa: E402

T0 = 1_764_000_000.0
TTL = 30.0


@pytest.fixture
def connect(postgres_db: str) -> Iterator[Any]:
    """Opens connections to the test's database (the lease tables migrated), each its own,
    as replicas would; closes them all at the end."""
    opened = []

    def open_one(name: str = "ticker") -> Any:
        conn = leases.connect(postgres_db, application_name=name)
        opened.append(conn)
        return conn

    leases.migrate(open_one())
    yield open_one
    for conn in opened:
        conn.close()


def replica(n: int) -> Replica:
    return Replica(f"host{n}:{100 + n}:r{n}", f"host{n}", 100 + n, T0)


def names(count: int) -> list[str]:
    return [f"source-{i:04d}" for i in range(count)]


def test_migrate_is_idempotent_and_concurrent(postgres_db: str) -> None:
    conns = [leases.connect(postgres_db) for _ in range(3)]
    versions: list[int] = []
    threads = [
        threading.Thread(target=lambda c=c: versions.append(leases.migrate(c))) for c in conns
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert versions == [len(leases.MIGRATIONS)] * 3
    assert leases.migrate(conns[0]) == len(leases.MIGRATIONS)
    rows = conns[0].execute("SELECT component, version FROM schema_versions").fetchall()
    assert rows == [("leases", n) for n in range(1, len(leases.MIGRATIONS) + 1)]
    for conn in conns:
        conn.close()


def test_never_two_owners_for_one_source_under_concurrency(connect: Any) -> None:
    # Four replicas on four connections race, round after round, to take every source (no
    # fair share). Each round starts together, one ttl after the last, when every lease has
    # expired: within a round, no source may be handed to two replicas.
    workers, rounds, sources = 4, 30, names(200)
    leases.release(connect(), replica(9), leases.acquire(connect(), replica(9), sources, 1, now=T0))
    got = [[set[str]() for _ in range(workers)] for _ in range(rounds)]
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def work(n: int, conn: Any) -> None:
        try:
            for r in range(rounds):
                start.wait(timeout=30)
                now = T0 + (r + 1) * (TTL + 1)
                got[r][n].update(leases.acquire(conn, replica(n), sources, TTL, False, now))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=work, args=(n, connect(f"r{n}"))) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    for taken in got:
        everything = [source for mine in taken for source in mine]
        assert sorted(everything) == sources  # each exactly once
    shared = sum(1 for taken in got if sum(1 for mine in taken if mine) > 1)
    print(f"rounds in which several replicas got sources: {shared}/{rounds}")


def test_replicas_converge_on_an_even_spread(connect: Any) -> None:
    sources = names(31)
    three = [(replica(n), connect(f"r{n}")) for n in range(3)]
    # The first to start takes everything, then gives up its surplus as the others join.
    first, conn = three[0]
    assert len(leases.acquire(conn, first, sources, TTL, now=T0)) == 31
    for _ in range(3):  # renew rounds, every few seconds in a daemon
        held = {me.name: leases.acquire(c, me, sources, TTL, now=T0 + 1) for me, c in three}
    assert max(len(mine) for mine in held.values()) == 11  # ceil(31 / 3): [11, 11, 9]
    assert sorted(s for mine in held.values() for s in mine) == sources
    assert leases.fair_share(3000, 3) == 1000


def test_a_dead_replicas_sources_are_taken_within_one_ttl(connect: Any) -> None:
    sources = names(30)
    a, b, c = ((replica(n), connect(f"r{n}")) for n in range(3))
    for now in (T0, T0 + 1):
        for me, conn in (a, b, c):
            leases.acquire(conn, me, sources, TTL, now=now)
    assert len(leases.holders(b[1], now=T0 + 1)) == 30
    # a stops renewing at T0 + 1. Before its ttl runs out, nobody takes its sources:
    for me, conn in (b, c):
        assert len(leases.acquire(conn, me, sources, TTL, now=T0 + 1 + TTL - 0.5)) == 10
    # Once it has, the two survivors share all thirty.
    later = T0 + 1 + TTL + 0.5
    survivors = [leases.acquire(conn, me, sources, TTL, now=later) for me, conn in (b, c)]
    assert sorted(len(mine) for mine in survivors) == [15, 15]
    assert sorted(survivors[0] + survivors[1]) == sources
    assert leases.renew(a[1], a[0], TTL, now=later) == []  # a comes back: it holds nothing
    listed = {state.name: state for state in leases.replicas(b[1], now=later)}
    assert listed[b[0].name].live and listed[b[0].name].sources_held == 15


def test_renew_keeps_what_is_held_and_drops_what_expired(connect: Any) -> None:
    me, conn = replica(1), connect()
    assert leases.acquire(conn, me, names(3), TTL, now=T0) == names(3)
    assert leases.renew(conn, me, TTL, now=T0 + TTL - 1) == names(3)  # good until T0 + 2*TTL - 1
    assert leases.renew(conn, me, TTL, now=T0 + 2 * TTL - 2) == names(3)
    assert leases.renew(conn, me, TTL, now=T0 + 4 * TTL) == []  # too late


def test_a_clean_stop_frees_its_sources_at_once(connect: Any) -> None:
    sources = names(10)
    a, b = (replica(1), connect("a")), (replica(2), connect("b"))
    assert len(leases.acquire(a[1], a[0], sources, TTL, now=T0)) == 10
    assert leases.acquire(b[1], b[0], sources, TTL, now=T0) == []  # a holds them all
    leases.leave(a[1], a[0], now=T0 + 1)
    assert leases.acquire(b[1], b[0], sources, TTL, now=T0 + 1) == sources  # no ttl to wait
    gone = {s.name: s for s in leases.replicas(b[1], now=T0 + 1)}[a[0].name]
    assert (gone.live, gone.sources_held, gone.host, gone.pid) == (False, 0, "host1", 101)


def test_release_frees_only_the_sources_named(connect: Any) -> None:
    me, conn = replica(1), connect()
    leases.acquire(conn, me, names(4), TTL, now=T0)
    leases.release(conn, me, names(4)[:1], now=T0)
    assert sorted(leases.holders(conn, now=T0)) == names(4)[1:]
    assert leases.replicas(conn, now=T0)[0].sources_held == 3


def test_sources_removed_from_the_config_are_freed(connect: Any) -> None:
    me, conn = replica(1), connect()
    leases.acquire(conn, me, names(4), TTL, now=T0)
    assert leases.acquire(conn, me, names(2), TTL, now=T0 + 1) == names(2)
    assert sorted(leases.holders(conn, now=T0 + 1)) == names(2)


def test_status_lists_each_replica_with_its_heartbeat(connect: Any) -> None:
    sources = names(6)
    pairs = [(replica(n), connect()) for n in (1, 2)]
    for me, conn in pairs:
        leases.acquire(conn, me, sources, TTL, now=T0 + 5)
    for me, conn in pairs:
        leases.acquire(conn, me, sources, TTL, now=T0 + 6)
    states = leases.replicas(pairs[0][1], now=T0 + 6)
    assert [(s.host, s.pid, s.started, s.heartbeat, s.live) for s in states] == [
        ("host1", 101, T0, T0 + 6, True),
        ("host2", 102, T0, T0 + 6, True),
    ]
    assert [s.sources_held for s in states] == [3, 3]
    held = leases.holders(pairs[0][1], now=T0 + 6)
    assert sorted(held.values()) == sorted([pairs[0][0].name] * 3 + [pairs[1][0].name] * 3)


def test_a_replica_cut_off_from_the_database_errors_and_the_others_take_over(
    connect: Any, postgres_server: Any
) -> None:
    sources = names(9)
    a, b, c = ((replica(n), connect(f"replica-{n}")) for n in range(3))
    for me, conn in (a, b, c):
        leases.acquire(conn, me, sources, TTL, now=T0)
    for me, conn in (a, b, c):
        leases.acquire(conn, me, sources, TTL, now=T0 + 1)
    assert postgres_server.terminate("replica-0") == 1  # the server ends a's connection

    with pytest.raises(DatabaseUnreachable) as raised:
        leases.renew(a[1], a[0], TTL, now=T0 + 2)
    assert isinstance(raised.value, StoreError)
    message = str(raised.value)
    assert "cannot be reached" in message and "PostgreSQL database t" in message
    assert "password" not in message
    with pytest.raises(DatabaseUnreachable):  # and so on until it reconnects
        leases.acquire(a[1], a[0], sources, TTL, now=T0 + 3)

    later = T0 + 1 + TTL + 0.5  # a's last renewal + ttl
    taken = [leases.acquire(conn, me, sources, TTL, now=later) for me, conn in (b, c)]
    assert sorted(taken[0] + taken[1]) == sources


def test_connecting_to_no_server_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(DatabaseUnreachable) as raised:
        leases.connect(f"host={tmp_path} port=5999 dbname=ticker user=u password=hunter2")
    message = str(raised.value)
    assert message.startswith(f"PostgreSQL database ticker at {tmp_path}:5999: cannot be reached")
    assert "hunter2" not in message


def test_a_lock_timeout_is_not_taken_for_an_outage(connect: Any) -> None:
    # psycopg counts lock and deadlock errors as OperationalError too; only a lost
    # connection means "cannot be reached".
    import psycopg

    holder, waiter = connect(), connect()
    waiter.execute("SET lock_timeout = '50ms'")
    with holder.transaction():
        holder.execute("LOCK TABLE leases")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            leases.acquire(waiter, replica(1), names(2), TTL, now=T0)
    assert leases.acquire(waiter, replica(1), names(2), TTL, now=T0) == names(2)


def test_sources_and_channels_have_separate_fair_shares(connect: Any) -> None:
    sources, channels = names(6), ["mail", "telegram"]
    a, b = (replica(1), connect("a")), (replica(2), connect("b"))
    first = leases.take(a[1], a[0], sources, channels, TTL, now=T0)
    assert (first.sources, first.channels) == (sources, channels)  # alone: everything
    assert first.live == {a[0].name}
    for now in (T0 + 1, T0 + 2):  # b joins; a gives up its surplus; b takes it
        held = [leases.take(c, me, sources, channels, TTL, now=now) for me, c in (a, b)]
    assert [len(h.sources) for h in held] == [3, 3]
    assert [len(h.channels) for h in held] == [1, 1]  # not 2 + 0: a share per group
    assert sorted(held[0].channels + held[1].channels) == channels
    assert held[1].live == {a[0].name, b[0].name}
    # One channel, two replicas: ceil(1 / 2) = 1, so one of them holds it.
    one = [leases.take(c, me, sources, ["mail"], TTL, now=T0 + 3) for me, c in (a, b)]
    assert sorted(h.channels for h in one) == [[], ["mail"]]
    # `replicas` counts sources only; `holders` names channel leases "channel:<name>".
    counts = [s.sources_held for s in leases.replicas(a[1], now=T0 + 3)]
    assert counts == [3, 3]
    assert leases.holders(a[1], now=T0 + 3)["channel:mail"] in {a[0].name, b[0].name}


def test_acquire_alone_frees_the_channels_a_take_held(connect: Any) -> None:
    me, conn = replica(1), connect()
    leases.take(conn, me, names(2), ["mail"], TTL, now=T0)
    assert leases.acquire(conn, me, names(2), TTL, now=T0 + 1) == names(2)
    assert sorted(leases.holders(conn, now=T0 + 1)) == names(2)
    leases.take(conn, me, names(2), ["mail"], TTL, now=T0 + 2)
    leases.release(conn, me, names(2)[:1], now=T0 + 2)
    assert leases.replicas(conn, now=T0 + 2)[0].sources_held == 1  # the channel not counted


def test_a_source_named_like_a_channel_lease_is_refused(connect: Any) -> None:
    with pytest.raises(ValueError, match="channel:"):
        leases.take(connect(), replica(1), ["channel:mail"], ["mail"], TTL, now=T0)


def test_a_connection_with_a_timeout_gives_up_on_unanswered_packets(postgres_db: str) -> None:
    # Over TCP a network that drops packets would hang a call for minutes; with a timeout
    # libpq's tcp_user_timeout and keepalives end it (the values reach libpq).
    conn = leases.connect(postgres_db, "r", timeout=3)
    try:
        params = conn.info.get_parameters()
        assert params.get("tcp_user_timeout") == "3000"
        assert params.get("keepalives_idle") == "3"
    finally:
        conn.close()
