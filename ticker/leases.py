"""Per-source leases in PostgreSQL, so that replicas of `ticker run` poll each source once.

Two tables (MIGRATIONS, applied by `migrate`):

    leases    source, owner, expires, acquired: one row per source; a lease whose owner is
              NULL or whose `expires` has passed is free
    replicas  name, host, pid, started, heartbeat, expires, sources_held: one row per
              replica, its last heartbeat; `ticker status` lists them

A replica calls `acquire` (or `take`, which leases its channels too, as `channel:<name>`,
with a fair share of their own) every renew interval (a third of the ttl) with every source of
its config: in one transaction it writes its heartbeat, keeps (renews) what it holds, gives up
what is above its fair share, and takes free or expired leases up to that share with
`SELECT ... FOR UPDATE SKIP LOCKED`, so two replicas never take the same row and never wait
for each other. The fair share is ceil(sources / live replicas), live meaning a heartbeat
that has not expired: three replicas and 3,000 sources hold at most 1,000 each, and when one
dies (its heartbeat and its leases expire together, one ttl after its last renewal) the
others' share grows and their next `acquire` takes its sources: within one ttl plus one renew
interval. A replica that cannot reach the database gets DatabaseUnreachable, must stop
polling (it may no longer hold what it thinks), and its leases run out the same way.

Times are Unix seconds: the caller's `now` (tests move it by hand, without sleeping) or, when
None, the database server's clock, one clock for every replica whatever their machines' clocks
say; production code passes None.

This module holds its own SQL: store.py is the SQLite engine, and leases exist only on
PostgreSQL (one process on SQLite needs none).
"""

from __future__ import annotations

import math
import os
import secrets
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ticker.errors import DatabaseUnreachable
from ticker.pg import CONNECT_TIMEOUT, MIGRATION_LOCK, SERVER_GONE

Connection = psycopg.Connection[Any]

COMPONENT = "leases"  # this module's rows in schema_versions
FORGET_AFTER = 24 * 3600.0  # seconds a dead replica stays listed (each start is a new replica)
CHANNEL_PREFIX = "channel:"  # a channel's lease: "channel:<name>", beside the sources' leases

MIGRATIONS: tuple[str, ...] = (
    # 1: leases and the replicas' heartbeats. Times are Unix seconds (float8), as the rest of
    # ticker keeps them, so the caller's clock and the server's compare directly.
    """
    CREATE TABLE leases (
        source TEXT PRIMARY KEY,
        owner TEXT,
        expires DOUBLE PRECISION NOT NULL DEFAULT 0,
        acquired DOUBLE PRECISION
    );
    CREATE INDEX leases_owner ON leases (owner);
    CREATE TABLE replicas (
        name TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL,
        expires DOUBLE PRECISION NOT NULL,
        sources_held INTEGER NOT NULL DEFAULT 0
    );
    """,
)


@dataclass(frozen=True)
class Replica:
    """One `ticker run` process among replicas: `name` is unique to this start of it."""

    name: str
    host: str
    pid: int
    started: float  # Unix seconds

    @classmethod
    def here(cls, started: float) -> Replica:
        """This process, started at `started`; a new name at each start (host:pid:random),
        so a restarted process never inherits a dead one's leases by its pid."""
        host, pid = socket.gethostname(), os.getpid()
        return cls(f"{host}:{pid}:{secrets.token_hex(4)}", host, pid, started)


@dataclass(frozen=True)
class ReplicaState:
    """A replica as `ticker status` shows it."""

    name: str
    host: str
    pid: int
    started: float
    heartbeat: float  # its last heartbeat
    expires: float  # when it counts as gone, unless it beats again
    sources_held: int  # 0 once it is gone
    live: bool


def connect(
    conninfo: str, application_name: str = "ticker", timeout: float | None = None
) -> Connection:
    """An autocommit connection to `conninfo`; DatabaseUnreachable if the server cannot be
    reached or refuses (the message names host, port and database, never a password).
    `timeout` (seconds): over TCP, a call whose packets go unanswered that long fails
    (tcp_user_timeout, and keepalives on an idle connection) instead of hanging until the
    kernel gives up, minutes later; a network that drops packets is then an outage too."""
    extra: dict[str, int] = {}
    if timeout is not None:
        seconds = max(int(timeout), 1)
        extra = {
            "tcp_user_timeout": seconds * 1000,
            "keepalives": 1,
            "keepalives_idle": seconds,
            "keepalives_interval": max(seconds // 3, 1),
            "keepalives_count": 3,
        }
    try:
        return psycopg.connect(
            make_conninfo(conninfo, **extra) if extra else conninfo,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name,
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnreachable(_where(conninfo), _reason(exc)) from exc


def migrate(conn: Connection) -> int:
    """Bring the lease tables to the newest version (idempotent; replicas starting at once
    take turns on an advisory lock); the version reached."""
    with _reachable(conn), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions ("
            " component TEXT NOT NULL, version INTEGER NOT NULL,"
            " applied TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        )
        row = conn.execute(
            "SELECT coalesce(max(version), 0) FROM schema_versions WHERE component = %s",
            (COMPONENT,),
        ).fetchone()
        version = int(row[0]) if row else 0
        for number in range(version + 1, len(MIGRATIONS) + 1):
            conn.execute(MIGRATIONS[number - 1])
            conn.execute(
                "INSERT INTO schema_versions (component, version) VALUES (%s, %s)",
                (COMPONENT, number),
            )
    return len(MIGRATIONS)


def fair_share(sources: int, live_replicas: int) -> int:
    """The most sources one replica may hold: ceil(sources / live replicas)."""
    return math.ceil(sources / max(live_replicas, 1))


def acquire(
    conn: Connection,
    replica: Replica,
    sources: Sequence[str],
    ttl: float,
    fair_share: bool = True,
    now: float | None = None,
) -> list[str]:
    """Heartbeat, renew, give up, take: the sources (of `sources`) that `replica` holds for
    the next `ttl` seconds, sorted. Takes only free or expired leases (never one that
    another replica holds); with `fair_share`, holds at most ceil(sources / live replicas)
    and frees the surplus for the others. Every other lease it held (sources removed from
    the config, channels) is freed: `take` leases sources and channels together."""
    return take(conn, replica, sources, (), ttl, fair_share, now).sources


@dataclass(frozen=True)
class Held:
    """What one `take` gave a replica, until `moment + ttl` on the server's clock."""

    sources: list[str]  # sorted
    channels: list[str]  # channel names (not lease names), sorted
    moment: float  # the server's time of the take (or the caller's `now`)
    live: frozenset[str]  # the names of the live replicas then, this one included


def channel_lease(channel: str) -> str:
    """The lease name of a channel: one sender per channel at a time."""
    return CHANNEL_PREFIX + channel


def take(
    conn: Connection,
    replica: Replica,
    sources: Sequence[str],
    channels: Sequence[str],
    ttl: float,
    fair_share: bool = True,
    now: float | None = None,
) -> Held:
    """`acquire` for sources and channels at once, in one transaction, each with its own
    fair share (ceil(sources / live) and ceil(channels / live): a replica may hold every
    channel of a config with fewer channels than replicas). Channel leases are named
    `channel:<name>` (a source may not be named so: ValueError). Leases held of names in
    neither list are freed."""
    if clash := sorted(s for s in sources if s.startswith(CHANNEL_PREFIX)):
        raise ValueError(f"source names may not start with {CHANNEL_PREFIX!r}: {clash}")
    groups = [sorted(set(sources)), sorted({channel_lease(c) for c in channels})]
    with _reachable(conn), conn.transaction():
        moment = _now(conn, now)
        _add_sources(conn, groups[0] + groups[1])
        renewed = _renew_held(conn, replica, moment, ttl)
        held = _drop_unwanted(conn, replica, renewed, groups[0] + groups[1])
        live = _live_others(conn, replica, moment) | {replica.name}
        taken = [
            _take_share(conn, replica, wanted, held, len(live) if fair_share else 1, moment, ttl)
            for wanted in groups
        ]
        _beat(conn, replica, moment, ttl, len(taken[0]))
    prefix = len(CHANNEL_PREFIX)
    return Held(sorted(taken[0]), sorted(n[prefix:] for n in taken[1]), moment, frozenset(live))


def _take_share(
    conn: Connection,
    replica: Replica,
    wanted: list[str],
    held_now: list[str],
    live: int,
    moment: float,
    ttl: float,
) -> list[str]:
    """Of the group `wanted`: keep what is held up to the fair share, free the surplus,
    take free leases up to it; what is held of the group then."""
    group = set(wanted)
    held = [name for name in held_now if name in group]
    cap = _share(len(wanted), live)
    if len(held) > cap:
        _free(conn, replica, held[cap:])
        return held[:cap]
    if len(held) < cap:
        held += _take(conn, replica, wanted, cap - len(held), moment, ttl)
    return held


def renew(conn: Connection, replica: Replica, ttl: float, now: float | None = None) -> list[str]:
    """Extend every lease `replica` still holds by `ttl` seconds, and its heartbeat; the
    sources it holds, sorted. A lease that expired is not renewed (another replica may have
    taken it): `acquire` takes it again if it is still free."""
    with _reachable(conn), conn.transaction():
        moment = _now(conn, now)
        held = _renew_held(conn, replica, moment, ttl)
        _beat(conn, replica, moment, ttl, len(held))
    return held


def release(
    conn: Connection,
    replica: Replica,
    sources: Sequence[str] | None = None,
    now: float | None = None,
) -> None:
    """Free `replica`'s leases of `sources` (None: all of them), for the others to take at
    once rather than after they expire."""
    with _reachable(conn), conn.transaction():
        moment = _now(conn, now)
        if sources is None:
            conn.execute(
                "UPDATE leases SET owner = NULL, expires = 0 WHERE owner = %s", (replica.name,)
            )
        else:
            _free(conn, replica, list(sources))
        conn.execute(
            "UPDATE replicas SET sources_held ="
            " (SELECT count(*) FROM leases WHERE owner = %(name)s AND expires > %(now)s"
            " AND left(source, %(cut)s) <> %(prefix)s) WHERE name = %(name)s",
            {
                "name": replica.name,
                "now": moment,
                "cut": len(CHANNEL_PREFIX),
                "prefix": CHANNEL_PREFIX,
            },
        )


def leave(conn: Connection, replica: Replica, now: float | None = None) -> None:
    """A clean stop: free every lease of `replica` and mark it gone (it stays listed, not
    live, until FORGET_AFTER)."""
    release(conn, replica, None, now)
    with _reachable(conn), conn.transaction():
        conn.execute(
            "UPDATE replicas SET expires = %s, sources_held = 0 WHERE name = %s",
            (_now(conn, now), replica.name),
        )


def replicas(conn: Connection, now: float | None = None) -> list[ReplicaState]:
    """Every replica listed (live or gone within FORGET_AFTER), oldest start first."""
    with _reachable(conn), conn.transaction():
        moment = _now(conn, now)
        rows = conn.execute(
            "SELECT name, host, pid, started, heartbeat, expires, sources_held"
            " FROM replicas ORDER BY started, name"
        ).fetchall()
    return [_state(*row, moment=moment) for row in rows]


def _state(
    name: str,
    host: str,
    pid: int,
    started: float,
    heartbeat: float,
    expires: float,
    sources_held: int,
    *,
    moment: float,
) -> ReplicaState:
    live = expires > moment
    held = sources_held if live else 0  # a gone replica's leases expired with its heartbeat
    return ReplicaState(name, host, pid, started, heartbeat, expires, held, live)


def holders(conn: Connection, now: float | None = None) -> dict[str, str]:
    """Who holds what: source -> replica name, for every lease not expired."""
    with _reachable(conn), conn.transaction():
        moment = _now(conn, now)
        rows = conn.execute(
            "SELECT source, owner FROM leases WHERE owner IS NOT NULL AND expires > %s",
            (moment,),
        ).fetchall()
    return dict(rows)


_share = fair_share  # acquire's parameter of that name hides the function inside it


def _add_sources(conn: Connection, wanted: list[str]) -> None:
    # A hashed EXCEPT finds the missing rows (usually none) in ~1 ms for 3,000 sources, where
    # `source = ANY(%s)` compares every row with every element once psycopg prepares the
    # statement (a generic plan's array is a parameter, so PostgreSQL cannot hash it).
    # Inserted in sorted order: replicas adding the same new sources at once then wait for
    # each other in one order, never in a deadlock.
    rows = conn.execute(
        "SELECT s FROM unnest(%s::text[]) AS s EXCEPT SELECT source FROM leases", (wanted,)
    ).fetchall()
    if rows:
        conn.execute(
            "INSERT INTO leases (source) SELECT s FROM unnest(%s::text[]) AS s ORDER BY s"
            " ON CONFLICT DO NOTHING",
            (sorted(source for (source,) in rows),),
        )


def _renew_held(conn: Connection, replica: Replica, moment: float, ttl: float) -> list[str]:
    rows = conn.execute(
        "UPDATE leases SET expires = %s WHERE owner = %s AND expires > %s RETURNING source",
        (moment + ttl, replica.name, moment),
    ).fetchall()
    return sorted(source for (source,) in rows)


def _drop_unwanted(
    conn: Connection, replica: Replica, held: list[str], wanted: list[str]
) -> list[str]:
    """Free the leases held of sources no longer wanted (removed from the config); the rest."""
    unwanted = set(held).difference(wanted)
    if unwanted:
        _free(conn, replica, sorted(unwanted))
    return [source for source in held if source not in unwanted]


def _live_others(conn: Connection, replica: Replica, moment: float) -> set[str]:
    rows = conn.execute(
        "SELECT name FROM replicas WHERE expires > %s AND name <> %s",
        (moment, replica.name),
    ).fetchall()
    return {name for (name,) in rows}


def _free(conn: Connection, replica: Replica, sources: list[str]) -> None:
    conn.execute(
        "UPDATE leases SET owner = NULL, expires = 0 FROM unnest(%s::text[]) AS f(source)"
        " WHERE leases.source = f.source AND owner = %s",
        (sources, replica.name),
    )


def _take(
    conn: Connection,
    replica: Replica,
    wanted: list[str],
    count: int,
    moment: float,
    ttl: float,
) -> list[str]:
    # SKIP LOCKED: rows another replica is taking right now are skipped, not waited for;
    # FOR UPDATE re-checks the condition on a row changed since this statement began, so a
    # lease another replica took and committed meanwhile is not taken again.
    rows = conn.execute(
        "WITH free AS ("
        " SELECT source FROM leases JOIN unnest(%(wanted)s::text[]) AS w(source) USING (source)"
        " WHERE owner IS NULL OR expires <= %(now)s"
        " ORDER BY source LIMIT %(count)s FOR UPDATE OF leases SKIP LOCKED)"
        " UPDATE leases SET owner = %(name)s, expires = %(until)s, acquired = %(now)s"
        " FROM free WHERE leases.source = free.source RETURNING leases.source",
        {
            "wanted": wanted,
            "now": moment,
            "count": count,
            "name": replica.name,
            "until": moment + ttl,
        },
    ).fetchall()
    return [source for (source,) in rows]


def _beat(conn: Connection, replica: Replica, moment: float, ttl: float, held: int) -> None:
    conn.execute(
        "INSERT INTO replicas (name, host, pid, started, heartbeat, expires, sources_held)"
        " VALUES (%(name)s, %(host)s, %(pid)s, %(started)s, %(now)s, %(until)s, %(held)s)"
        " ON CONFLICT (name) DO UPDATE SET heartbeat = EXCLUDED.heartbeat,"
        " expires = EXCLUDED.expires, sources_held = EXCLUDED.sources_held",
        {
            "name": replica.name,
            "host": replica.host,
            "pid": replica.pid,
            "started": replica.started,
            "now": moment,
            "until": moment + ttl,
            "held": held,
        },
    )
    conn.execute("DELETE FROM replicas WHERE expires < %s", (moment - FORGET_AFTER,))


def _now(conn: Connection, now: float | None) -> float:
    if now is not None:
        return now
    row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    return float(row[0])


@contextmanager
def _reachable(conn: Connection) -> Iterator[None]:
    """psycopg's connection errors (the server gone, the connection ended by it, a closed
    connection) as DatabaseUnreachable; other errors pass (a deadlock, also an
    OperationalError to psycopg, is a bug here, not an outage)."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        if conn.closed or (exc.sqlstate or "")[:2] == "08" or exc.sqlstate in SERVER_GONE:
            raise DatabaseUnreachable(_where(conn), _reason(exc)) from exc
        raise


def _where(conn: Connection | str) -> str:
    """The database, for messages: "PostgreSQL database NAME at HOST:PORT", from the
    connection's parameters (never the password, which a conninfo string may hold)."""
    try:
        if isinstance(conn, str):
            params = conninfo_to_dict(conn)
            host, port, dbname = params.get("host"), params.get("port"), params.get("dbname")
        else:
            host, port, dbname = conn.info.host, conn.info.port, conn.info.dbname
    except (psycopg.Error, ValueError):
        return "PostgreSQL database"
    return f"PostgreSQL database {dbname or '?'} at {host or 'localhost'}:{port or 5432}"


def _reason(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"cannot be reached: {first}"
