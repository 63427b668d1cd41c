"""The PostgreSQL engine of ticker.store: the connection, its schema, and its errors.

store.Store holds one set of queries, written in the SQL both SQLite and PostgreSQL accept
(`?` placeholders, `INSERT ... ON CONFLICT`, `RETURNING`). This module lets that Store run
on PostgreSQL (psycopg 3):

- `Connection`: what Store calls on a sqlite3.Connection (`execute`, `executemany`,
  `in_transaction`), on an autocommit psycopg connection. Each statement is translated
  once (and cached): `?` -> `%s`, `%` -> `%%`, SQLite's planner hints (`INDEXED BY`,
  `GROUP BY +col`) dropped, and LIKE made ILIKE (SQLite's LIKE ignores ASCII case).
  psycopg's errors become ticker's: a lost connection DatabaseUnreachable, any other
  DatabaseQueryFailed, so callers catch `store.DATABASE_ERRORS` and never psycopg's;
- `migrate`: the schema, written fresh at the SQLite schema's current version in plain
  SQL, versioned as ticker.leases does (`schema_versions`, component "store", an advisory
  lock so that replicas starting together take turns).

psycopg is imported here only, and only when a PostgreSQL database is opened; this module
is imported only then too (store.Store._open_postgres). What names a PostgreSQL database
(`PostgresTarget`, the config's) is in the light ticker.dburl, so `ticker tail` on SQLite
imports nothing new (tests/test_imports.py).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ticker.dburl import PostgresTarget
from ticker.errors import DatabaseMissing, DatabaseQueryFailed, DatabaseUnreachable

if TYPE_CHECKING:
    import psycopg

COMPONENT = "store"  # this schema's rows in schema_versions (leases has its own)
MIGRATION_LOCK = 0x7469636B6572  # pg_advisory_xact_lock key ("ticker"): one migrator at a time
CONNECT_TIMEOUT = 5  # seconds; libpq's default is to wait forever
SERVER_GONE = {"57P01", "57P02", "57P03"}  # admin_shutdown, crash_shutdown, cannot_connect_now
# Seconds between tries to dial a lost connection again (the first try comes at the next
# call): a database that stays away costs each call an error, not a 5 s connect timeout.
RECONNECT_WAIT = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
LISTEN_WAIT = 1.0  # seconds: how soon a listener (`listen`) notices it should stop
log = logging.getLogger(__name__)


# --- translating the Store's statements ---------------------------------------------------

_SQLITE_ONLY = (
    (re.compile(r"\s+INDEXED BY \w+"), ""),  # a planner hint; PostgreSQL plans by itself
    (re.compile(r"GROUP BY \+"), "GROUP BY "),  # `+col` keeps SQLite off an index
    (re.compile(r"\bLIKE\b"), "ILIKE"),  # SQLite's LIKE ignores (ASCII) case
)


@functools.lru_cache(maxsize=1024)
def translate(sql: str, parameters: bool = True) -> str:
    """The Store's statement `sql` (SQLite's dialect, `?` placeholders) for psycopg. Without
    `parameters`, psycopg sends the text as it is: `%` stays `%`."""
    for pattern, replacement in _SQLITE_ONLY:
        sql = pattern.sub(replacement, sql)
    return sql.replace("%", "%%").replace("?", "%s") if parameters else sql


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    """A tuple whose items are also found by column name, as sqlite3.Row's are."""
    index = {name: i for i, name in enumerate(names)}

    class Row(tuple[Any, ...]):
        __slots__ = ()

        def keys(self) -> tuple[str, ...]:
            return names

        def __getitem__(self, key: Any) -> Any:
            return tuple.__getitem__(self, index[key] if isinstance(key, str) else key)

    return Row


def _rows(cursor: Any) -> Any:
    """psycopg's row factory for Row: one class per column list."""
    names = tuple(column.name for column in cursor.description or ())
    return _row_class(names)


class Connection:
    """A psycopg connection (autocommit: the Store writes BEGIN and COMMIT itself) that
    takes the Store's statements as a sqlite3.Connection does."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        where: str,
        dial: Callable[[], psycopg.Connection[Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`dial` makes a new connection like `conn` (None: a lost one stays lost)."""
        self.raw = conn
        self.where = where
        self.dial = dial
        self.clock = clock
        self._transaction = False  # a BEGIN sent, its COMMIT or ROLLBACK not yet
        self._failed_dials = 0
        self._next_dial = float("-inf")  # no new connection tried before then (clock)

    def _ready(self, sql: str) -> None:
        """Dial again if the connection was lost (the server restarted, ended it, or the
        network went away): only between transactions (a transaction cut in the middle is
        lost: its statements fail until its ROLLBACK), and not more often than RECONNECT_WAIT
        says, so that a database that stays away costs each call nothing but the error."""
        if not self.raw.closed:
            return
        if sql.startswith("ROLLBACK"):
            self._transaction = False
        if self._transaction or self.dial is None:
            raise DatabaseUnreachable(self.where, "cannot be reached: the connection was lost")
        if self.clock() < self._next_dial:
            raise DatabaseUnreachable(self.where, "cannot be reached (reconnecting)")
        try:
            self.raw = self.dial()
        except DatabaseUnreachable:
            self._next_dial = self.clock() + reconnect_wait(self._failed_dials)
            self._failed_dials += 1
            raise
        self._failed_dials = 0

    def _track(self, sql: str) -> None:
        """Note a transaction begun or ended by `sql`, which the server took."""
        if sql.startswith("BEGIN"):
            self._transaction = True
        elif sql.startswith(("COMMIT", "ROLLBACK")):
            self._transaction = False

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        """Run one statement; its cursor (rows fetched already: fetchone, fetchall, iter).
        A connection the server ended while it lay idle (a restart, an idle timeout, a
        firewall) shows only when used: a BEGIN, or a read outside a transaction, then goes
        again once on a new one, rather than failing a poll and making a replica drop its
        leases (tests/test_failover.py)."""
        self._ready(sql)
        try:
            return self._execute(sql, parameters)
        except DatabaseUnreachable:
            if not (self.raw.closed and self.dial is not None and self._repeatable(sql)):
                raise
        self._ready(sql)
        return self._execute(sql, parameters)

    def _repeatable(self, sql: str) -> bool:
        """Whether `sql` may be sent again on a new connection: a BEGIN, or a read outside a
        transaction (a write may have landed before its connection went)."""
        return sql.startswith("BEGIN") or (sql.startswith("SELECT") and not self._transaction)

    def _execute(self, sql: str, parameters: Sequence[Any]) -> Any:
        with self.errors():
            if parameters:
                cursor = self.raw.execute(translate(sql), parameters)
            else:  # sent as it is (and may hold several statements)
                cursor = self.raw.execute(translate(sql, parameters=False))
        self._track(sql)
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each set of parameters (psycopg pipelines them)."""
        rows = list(parameters)
        if not rows:
            return
        self._ready(sql)
        with self.errors(), self.raw.cursor() as cursor:
            cursor.executemany(translate(sql), rows)

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (or failed and not yet rolled back); False on a
        connection that is gone (nothing to roll back there: the server did)."""
        from psycopg.pq import TransactionStatus

        if self.raw.closed:
            self._transaction = False  # the server rolled it back; the caller is told
            return False
        status = self.raw.info.transaction_status
        return status in (TransactionStatus.INTRANS, TransactionStatus.INERROR)

    def close(self) -> None:
        """Close the connection (never raises)."""
        self.raw.close()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """psycopg's errors as ticker's: DatabaseUnreachable if the connection is gone (the
        server stopped, ended it, or cannot be reached), else DatabaseQueryFailed."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise wrapped(exc, self.where, gone=self.raw.closed) from exc


def reconnect_wait(failures: int) -> float:
    """Seconds to wait before dialling a lost database again, after `failures` failed
    tries in a row (RECONNECT_WAIT, its last figure once they run out)."""
    return RECONNECT_WAIT[min(failures, len(RECONNECT_WAIT) - 1)]


def wrapped(exc: Exception, where: str, gone: bool = False) -> Exception:
    """The ticker error for psycopg's `exc` on the database `where`."""
    import psycopg

    sqlstate = getattr(exc, "sqlstate", None) or ""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    lost = isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and (
        gone or sqlstate[:2] == "08" or sqlstate in SERVER_GONE or not sqlstate
    )
    if lost:
        return DatabaseUnreachable(where, f"cannot be reached: {first}")
    return DatabaseQueryFailed(where, f"refused a query: {first}", sqlstate)


def connect(target: PostgresTarget, readonly: bool = False) -> Connection:
    """An autocommit connection to `target` whose rows read as sqlite3.Row's do; with
    `readonly`, every transaction on it is read-only. DatabaseUnreachable if the server
    cannot be reached or refuses the login (the message never holds the password). A
    connection lost later is dialled again at a call between transactions (`Connection`)."""
    return Connection(_dial(target, readonly), str(target), lambda: _dial(target, readonly))


def _dial(target: PostgresTarget, readonly: bool) -> psycopg.Connection[Any]:
    """A new psycopg connection to `target`, set up as `connect` promises."""
    import psycopg

    try:
        raw = psycopg.connect(
            target.conninfo(),
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name="ticker",
            row_factory=_rows,
        )
        if readonly:
            raw.execute("SET default_transaction_read_only = on")
    except psycopg.Error as exc:
        raise wrapped(exc, str(target), gone=True) from None
    return raw


def listen(
    target: PostgresTarget, topic: str, heard: Callable[[str], None], stop: threading.Event
) -> None:
    """Call `heard(payload)` for each NOTIFY on `topic` until `stop` is set (looked at every
    LISTEN_WAIT seconds): for a thread of its own, on a connection of its own. A lost
    connection is dialled again, RECONNECT_WAIT apart; what is announced meanwhile is not
    heard (notifications are hints: the caller still looks by itself now and then)."""
    import psycopg

    failures = 0
    while not stop.is_set():
        try:
            with _dial(target, readonly=False) as raw:
                raw.execute(f"LISTEN {topic}")
                failures = 0
                while not stop.is_set():
                    for notice in raw.notifies(timeout=LISTEN_WAIT):
                        heard(notice.payload)
        except (psycopg.Error, DatabaseUnreachable) as exc:
            reason = wrapped(exc, str(target)) if isinstance(exc, psycopg.Error) else exc
            log.debug("listening for %s: %s", topic, reason)
            stop.wait(reconnect_wait(failures))
            failures += 1


# --- the schema --------------------------------------------------------------------------

# What SQLite's migrations 1 to 12 built, in PostgreSQL's types (BIGINT ids and 64-bit term
# keys, DOUBLE PRECISION times), plus `channel_sends` (the max_per_minute window shared by
# replicas). Ids are identity columns BY DEFAULT, so that `ticker db copy` may keep them
# (and then moves each sequence past max(id)).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        first_poll DOUBLE PRECISION,
        last_poll DOUBLE PRECISION,
        last_success DOUBLE PRECISION,
        consecutive_failures BIGINT DEFAULT 0,
        last_error TEXT,
        etag TEXT,
        last_modified TEXT,
        lines_last_poll BIGINT,
        layout_failures BIGINT NOT NULL DEFAULT 0,
        health TEXT NOT NULL DEFAULT 'ok',
        last_result TEXT,
        last_latency DOUBLE PRECISION,
        next_poll DOUBLE PRECISION
    );
    CREATE TABLE items (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        source TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        text TEXT NOT NULL,
        attribution TEXT,
        body TEXT,
        url TEXT,
        first_seen DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL,
        times_seen BIGINT DEFAULT 1,
        kind TEXT NOT NULL DEFAULT 'new',
        changes TEXT,
        of_item BIGINT,
        key TEXT,
        published DOUBLE PRECISION,
        also_of BIGINT
    );
    CREATE UNIQUE INDEX items_source_fingerprint ON items (source, fingerprint);
    CREATE INDEX items_last_seen ON items (last_seen);
    CREATE INDEX items_key ON items (source, key) WHERE key IS NOT NULL;
    CREATE INDEX items_also ON items (also_of) WHERE also_of IS NOT NULL;
    CREATE TABLE alerts (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        item_id BIGINT NOT NULL REFERENCES items (id),
        source TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL,
        kind TEXT NOT NULL DEFAULT 'new',
        changes TEXT,
        updates_item BIGINT,
        boot_id TEXT,
        boot_time DOUBLE PRECISION
    );
    CREATE INDEX alerts_source_id ON alerts (source, id);
    CREATE INDEX alerts_item ON alerts (item_id);
    CREATE TABLE deliveries (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        alert_id BIGINT NOT NULL REFERENCES alerts (id),
        channel TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts BIGINT DEFAULT 0,
        created DOUBLE PRECISION NOT NULL,
        next_attempt DOUBLE PRECISION NOT NULL,
        last_attempt DOUBLE PRECISION,
        last_error TEXT,
        sent_at DOUBLE PRECISION,
        claimed_by TEXT,
        claim_expires DOUBLE PRECISION,
        changed BIGINT
    );
    CREATE UNIQUE INDEX deliveries_alert_channel ON deliveries (alert_id, channel);
    CREATE INDEX deliveries_status_next ON deliveries (status, next_attempt);
    CREATE INDEX deliveries_changed ON deliveries (changed) WHERE changed IS NOT NULL;
    CREATE INDEX deliveries_pending ON deliveries (channel, status) WHERE status = 'pending';
    CREATE INDEX deliveries_sent ON deliveries (channel, sent_at) WHERE sent_at IS NOT NULL;
    CREATE TABLE terms (
        key BIGINT NOT NULL,
        item_id BIGINT NOT NULL,
        PRIMARY KEY (key, item_id)
    );
    CREATE INDEX terms_item ON terms (item_id);
    CREATE TABLE term_df (key BIGINT PRIMARY KEY, n BIGINT NOT NULL);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO counters (name, value) VALUES ('delivery_change', 0);
    CREATE TABLE service (key TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, detail TEXT);
    CREATE TABLE tallies (
        metric TEXT NOT NULL,
        subject TEXT NOT NULL,
        label TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (metric, subject, label)
    );
    CREATE TABLE channel_sends (channel TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
    CREATE INDEX channel_sends_channel_at ON channel_sends (channel, at);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: Connection) -> int:
    """The store schema's version in this database, 0 if it has none."""
    exists = conn.execute("SELECT to_regclass('schema_versions') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    row = conn.execute(
        "SELECT coalesce(max(version), 0) FROM schema_versions WHERE component = ?",
        (COMPONENT,),
    ).fetchone()
    return int(row[0])


def check_schema(conn: Connection, target: PostgresTarget) -> None:
    """Raise DatabaseMissing if the store's schema is not there (a reading command before any
    `ticker run`), DatabaseUnusable (through dbfile) if it is newer than this ticker's."""
    from ticker import dbfile

    version = schema_version(conn)
    if version == 0:
        raise DatabaseMissing(target)
    if version > SCHEMA_VERSION:
        raise dbfile.newer_schema(target, version, SCHEMA_VERSION)


def migrate(conn: Connection, target: PostgresTarget) -> int:
    """Bring the store's tables to the newest version (idempotent: replicas starting at once
    take turns on an advisory lock); the version reached. Raises DatabaseUnusable for a
    schema newer than this ticker's."""
    from ticker import dbfile

    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_versions ("
            " component TEXT NOT NULL, version INTEGER NOT NULL,"
            " applied TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        )
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise dbfile.newer_schema(target, version, SCHEMA_VERSION)
        for number in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute(MIGRATIONS[number - 1])
            conn.execute(
                "INSERT INTO schema_versions (component, version) VALUES (?, ?)",
                (COMPONENT, number),
            )
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return SCHEMA_VERSION


MAINTENANCE = (
    "is a PostgreSQL database: its integrity, backups and files are PostgreSQL's job "
    "(pg_dump for a backup, pg_amcheck for a check)"
)
