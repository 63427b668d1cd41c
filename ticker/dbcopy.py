"""`ticker db copy SRC DST`: move ticker's database between SQLite and PostgreSQL (either
way, or SQLite to SQLite), checked by counts.

Both ends are first brought to this ticker's schema by `Store.open` (SRC is upgraded as any
ticker command would upgrade it; DST is created if it is new), then every table of the log
is copied in key order, in batches of BATCH_ROWS, in ONE write transaction on DST: into
PostgreSQL through `COPY ... FROM STDIN` (psycopg's `cursor.copy()`), into SQLite with
`executemany`. PostgreSQL's sequences are then set past `max(id)`, and each table's
`count(*)` and `max(id)` on DST are compared with SRC's, read in the same snapshot as the
rows; any difference and nothing is committed. A new SQLite DST is written under a
temporary name beside it and linked into place once whole, so a failed copy leaves DST as
it was (absent, or unchanged).

What keeps a running ticker from writing during the copy: the SQLite instance lock
(ticker.instance) of each SQLite end, held for the whole copy (a `ticker run` holding it
makes the copy refuse; one starting meanwhile is refused), and a write transaction on each
(a `ticker poll` waits, then fails and tries again later); on PostgreSQL, the copy refuses
while replicas are live (their heartbeats in the `replicas` table, ticker.leases), reads
SRC in one REPEATABLE READ snapshot taken under SHARE locks of its tables (writers wait),
and holds an advisory lock on DST so that two copies into it take turns. A DST that
already holds rows is refused unless `replace`.

Like ticker.leases, this module holds its own SQL: it copies tables as tables, whatever
their columns, so a column added by a migration is copied without a change here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from ticker.config import command_line_database
from ticker.errors import StoreError
from ticker.pg import PostgresTarget
from ticker.store import Store

if TYPE_CHECKING:
    from ticker.instance import InstanceLock

BATCH_ROWS = 10_000  # rows read and written at a time: bounded memory, few round trips
# PostgreSQL-only state of running replicas (ticker.leases), not part of the log: a copy
# made while nothing runs has nothing in it worth moving, and SQLite has no such tables.
COORDINATION = frozenset({"leases", "replicas", "schema_versions"})
# The max_per_minute windows of the last minutes (pruned as written): copied where DST has
# the table, left out where it has none (a SQLite schema before it, say).
WINDOWS = frozenset({"channel_sends"})
# Tables that others reference come first, so each row's references exist when it lands.
FIRST = ("sources", "items", "alerts", "deliveries")
SEEDED = "counters"  # rows a new database's migrations write (value 0): not "holding rows"
COPY_LOCK = 0x7469636B6572_01  # pg_advisory_xact_lock key of a copy into a database
LOCK_COMMAND = "db copy"  # what the instance lock's note says holds it

Row = tuple[Any, ...]


class CopyRefused(StoreError):
    """The copy was not started: DST already holds rows (and not `replace`), SRC and DST
    are the same, a ticker is using one of them, or their tables do not match."""


class CopyFailed(StoreError):
    """The copy failed midway (a database error on either end); DST is as it was."""


class CopyMismatch(StoreError):
    """The copy does not match its source (counts or largest ids differ); nothing was
    committed. `differences` lists them, one line per table."""

    def __init__(self, path: object, differences: Sequence[str]) -> None:
        self.differences = list(differences)
        super().__init__(path, "the copy does not match: " + "; ".join(differences))


Target = Path | PostgresTarget  # a SQLite file, or a PostgreSQL database


@dataclass(frozen=True)
class TableCopy:
    """One table copied: its rows and largest id (None: no id column, or no rows)."""

    name: str
    rows: int
    max_id: int | None
    seconds: float = 0.0


def parse_target(text: str) -> Target:
    """SRC or DST as given on the command line: a postgresql:// URL (its password taken
    out of it, ticker.pg.PostgresTarget) or a path. Raises ConfigError for a bad URL."""
    return command_line_database(text)


def describe(target: Target) -> str:
    """`target` for messages and output: a path, or a URL without its password."""
    return str(target)


def copy_database(
    source: Target,
    target: Target,
    *,
    replace: bool = False,
    progress: Callable[[TableCopy], None] = lambda table: None,
    batch: int = BATCH_ROWS,
) -> list[TableCopy]:
    """Copy the database `source` into `target`, checked by counts; what was copied, table
    by table (`progress` is called as each table is done).

    Raises DatabaseMissing (no SRC), DatabaseInUse (a ticker holds a SQLite end),
    DatabaseUnusable or DatabaseUnreachable (an end cannot be opened), CopyRefused,
    CopyFailed, CopyMismatch; in every case DST is left as it was."""
    if _same(source, target):
        raise CopyRefused(describe(target), "is the source itself")
    with ExitStack() as stack:
        _prepare_source(source, stack)
        writer = _open_target(target, stack)
        reader = stack.enter_context(_reader(source))
        tables = _tables(reader, writer)
        reader.freeze([name for name, _ in tables])
        if not replace and writer.holds_rows(tables):
            raise CopyRefused(
                describe(target), "already holds rows; give --replace to overwrite them"
            )
        copied = _copy_tables(reader, writer, tables, progress, batch)
        writer.commit()
        return copied
    raise AssertionError("unreachable")  # pragma: no cover  # ExitStack swallows nothing


def _same(source: Target, target: Target) -> bool:
    if isinstance(source, Path) and isinstance(target, Path):
        return source.resolve() == target.resolve()
    return str(source) == str(target)


# --- preparing both ends ------------------------------------------------------------------


def _prepare_source(source: Target, stack: ExitStack) -> None:
    """Check SRC exists (DatabaseMissing), lock it if SQLite, and bring it to this
    ticker's schema, as any ticker command that writes would."""
    Store.open_readonly(source).close()
    if isinstance(source, Path):
        stack.enter_context(_instance_lock(source))
    Store.open(source).close()


def _instance_lock(database: Path) -> InstanceLock:
    from ticker.instance import InstanceLock

    Store.precheck(database)
    return InstanceLock.acquire(database, LOCK_COMMAND)


def _open_target(target: Target, stack: ExitStack) -> _Writer:
    """DST, created or upgraded to this ticker's schema, open for the copy's transaction.
    A new SQLite file is made under a temporary name and linked into place on commit."""
    if not isinstance(target, Path):
        Store.open(target).close()
        return stack.enter_context(_postgres_writer(target))
    stack.enter_context(_instance_lock(target))
    if target.exists():
        Store.open(target).close()
        return stack.enter_context(_sqlite_writer(target, target))
    partial = target.with_name(f".{target.name}.{os.getpid()}.copy")
    stack.callback(_remove_sqlite, partial)
    Store.open(partial).close()
    return stack.enter_context(_sqlite_writer(partial, target))


def _remove_sqlite(path: Path) -> None:
    for name in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _tables(reader: _Reader, writer: _Writer) -> list[tuple[str, list[str]]]:
    """The tables to copy, in copying order, with SRC's columns; CopyRefused if DST lacks
    one of them (its schema is not this ticker's)."""
    wanted = {name: cols for name, cols in reader.tables().items() if name not in COORDINATION}
    have = writer.tables()
    wanted = {name: cols for name, cols in wanted.items() if name in have or name not in WINDOWS}
    for name, columns in wanted.items():
        missing = [c for c in columns if c not in have.get(name, [])]
        if name not in have or missing:
            what = f"table {name}" if name not in have else f"column {name}.{missing[0]}"
            raise CopyRefused(writer.where, f"has no {what}, which the source has")
    order = [t for t in FIRST if t in wanted] + sorted(set(wanted) - set(FIRST))
    return [(name, wanted[name]) for name in order]


def _copy_tables(
    reader: _Reader,
    writer: _Writer,
    tables: list[tuple[str, list[str]]],
    progress: Callable[[TableCopy], None],
    batch: int,
) -> list[TableCopy]:
    """Copy each table, then compare its count and largest id on both ends: CopyMismatch
    (before anything is committed) if any differs."""
    writer.clear([name for name, _ in tables])
    copied, differences = [], []
    for name, columns in tables:
        began = time.monotonic()
        _copy_table(reader, writer, name, columns, batch)
        has_id = "id" in columns
        want, got = reader.tally(name, has_id), writer.tally(name, has_id)
        if want != got:
            differences.append(
                f"{name}: {_tally_text(want)} in the source, {_tally_text(got)} in the copy"
            )
        table = TableCopy(name, want[0], want[1], time.monotonic() - began)
        copied.append(table)
        progress(table)
    if differences:
        raise CopyMismatch(writer.where, differences)
    return copied


def _copy_table(
    reader: _Reader, writer: _Writer, name: str, columns: list[str], batch: int
) -> None:
    """Copy the rows of table `name`; a CopyFailed names the table."""
    try:
        key = reader.key(name, columns)
        for rows in reader.read(name, columns, key, batch):
            writer.write(name, columns, rows)
        writer.finish(name, columns)
    except CopyFailed as exc:
        raise CopyFailed(exc.path, f"{exc.problem} (table {name})") from None


def _tally_text(tally: tuple[int, int | None]) -> str:
    rows, max_id = tally
    return rows_text(rows) + (f" up to id {max_id}" if max_id is not None else "")


def rows_text(rows: int) -> str:
    """How many rows, in words: "1 row", "12,345 rows"."""
    return f"{rows:,} row" + ("" if rows == 1 else "s")


# --- the two ends, on each engine ----------------------------------------------------------


class _Reader(Protocol):
    """SRC, read in one snapshot."""

    where: str

    def tables(self) -> dict[str, list[str]]: ...
    def freeze(self, tables: list[str]) -> None: ...
    def key(self, table: str, columns: list[str]) -> list[str]: ...
    def read(
        self, table: str, columns: list[str], key: list[str], batch: int
    ) -> Iterator[list[Row]]: ...
    def tally(self, table: str, has_id: bool) -> tuple[int, int | None]: ...


class _Writer(_Reader, Protocol):
    """DST, written in one transaction."""

    def holds_rows(self, tables: list[tuple[str, list[str]]]) -> bool: ...
    def clear(self, tables: list[str]) -> None: ...
    def write(self, table: str, columns: list[str], rows: list[Row]) -> None: ...
    def finish(self, table: str, columns: list[str]) -> None: ...
    def commit(self) -> None: ...


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_list(columns: Sequence[str]) -> str:
    return ", ".join(map(_quote, columns))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def _sqlite_errors(where: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise CopyFailed(where, f"cannot be copied: {_first_line(exc)}") from None


@contextlib.contextmanager
def _postgres_errors(where: str) -> Iterator[None]:
    import psycopg

    from ticker.errors import DatabaseUnreachable
    from ticker.pg import wrapped

    try:
        yield
    except psycopg.Error as exc:
        error = wrapped(exc, where)  # the engine's judgement: a lost server, or a query
        if isinstance(error, DatabaseUnreachable):
            raise error from None
        raise CopyFailed(where, f"cannot be copied: {_first_line(exc)}") from None


class _End:
    """One end of the copy: its connection, where it is (for messages, never a password),
    and `errors`, which turns its driver's errors into ticker's naming it (`_guarded`)."""

    errors: Callable[[str], contextlib.AbstractContextManager[None]]

    def __init__(self, conn: Any, where: str) -> None:
        self.conn, self.where = conn, where


E = TypeVar("E", bound=_End)
P = ParamSpec("P")
T = TypeVar("T")


def _guarded(method: Callable[Concatenate[E, P], T]) -> Callable[Concatenate[E, P], T]:
    """`method` with its end's database errors as CopyFailed (DatabaseUnreachable for a
    lost server) naming that end."""

    @functools.wraps(method)
    def call(self: E, *args: P.args, **kwargs: P.kwargs) -> T:
        with type(self).errors(self.where):
            return method(self, *args, **kwargs)

    return call


def _holds_rows(end: _End, table: str) -> bool:
    """True if `table` holds a row a new database would not have."""
    seeded = " WHERE value != 0" if table == SEEDED else ""
    row = end.conn.execute(f"SELECT 1 FROM {_quote(table)}{seeded} LIMIT 1").fetchone()
    return row is not None


class _Sqlite(_End):
    """A SQLite end, read in one transaction (a snapshot, in WAL mode)."""

    errors = staticmethod(_sqlite_errors)

    @_guarded
    def begin(self, statement: str) -> None:
        """Open the transaction everything is read (and written) in."""
        self.conn.execute(statement)
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot

    @_guarded
    def tables(self) -> dict[str, list[str]]:
        """Every table (not SQLite's own) and its columns, in their order."""
        names = [
            row[0]
            for row in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {name: [c[1] for c in self._info(name)] for name in names}

    def freeze(self, tables: list[str]) -> None:
        """Nothing more: the transaction `begin` opened is a write transaction (BEGIN
        IMMEDIATE) that keeps every other writer out until the copy ends."""

    def _info(self, table: str) -> list[Any]:
        return list(self.conn.execute(f"PRAGMA table_info({_quote(table)})").fetchall())

    @_guarded
    def key(self, table: str, columns: list[str]) -> list[str]:
        """The table's primary key columns (id order for the tables that have one)."""
        primary = sorted((c[5], c[1]) for c in self._info(table) if c[5])
        return [name for _, name in primary] or columns

    def read(
        self, table: str, columns: list[str], key: list[str], batch: int
    ) -> Iterator[list[Row]]:
        """The table's rows in key order, `batch` at a time."""
        with self.errors(self.where):
            cursor = self.conn.execute(
                f"SELECT {_column_list(columns)} FROM {_quote(table)} ORDER BY {_column_list(key)}"
            )
            while rows := cursor.fetchmany(batch):
                yield rows

    @_guarded
    def tally(self, table: str, has_id: bool) -> tuple[int, int | None]:
        """count(*) and, with an id column, max(id)."""
        top = "max(id)" if has_id else "NULL"
        rows, max_id = self.conn.execute(f"SELECT count(*), {top} FROM {_quote(table)}").fetchone()
        return int(rows), max_id


class _SqliteWriter(_Sqlite):
    """A SQLite DST: `path`, linked to `final` on commit when they differ (a new file)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, final: Path) -> None:
        super().__init__(conn, str(final))
        self.path, self.final = path, final

    @_guarded
    def holds_rows(self, tables: list[tuple[str, list[str]]]) -> bool:
        """True if any table holds a row a new database would not."""
        return any(_holds_rows(self, name) for name, _ in tables)

    @_guarded
    def clear(self, tables: list[str]) -> None:
        """Delete every row of `tables` (those referencing others first)."""
        for table in reversed(tables):
            self.conn.execute(f"DELETE FROM {_quote(table)}")

    @_guarded
    def write(self, table: str, columns: list[str], rows: list[Row]) -> None:
        """Insert `rows`."""
        marks = ", ".join("?" * len(columns))
        self.conn.executemany(
            f"INSERT INTO {_quote(table)} ({_column_list(columns)}) VALUES ({marks})", rows
        )

    def finish(self, table: str, columns: list[str]) -> None:
        """Nothing: an INTEGER PRIMARY KEY continues after max(id) by itself."""

    @_guarded
    def commit(self) -> None:
        """Commit; a new file is then linked into place (os.link: never over a file that
        appeared meanwhile)."""
        self.conn.execute("COMMIT")
        self.conn.close()  # the last connection: SQLite checkpoints and removes the WAL
        if self.path != self.final:
            os.link(self.path, self.final)


@contextlib.contextmanager
def _reader(source: Target) -> Iterator[_Reader]:
    if isinstance(source, Path):
        with _sqlite_reader(source) as reader:
            yield reader
    else:
        with _postgres_reader(source) as postgres:
            yield postgres


@contextlib.contextmanager
def _sqlite_reader(path: Path) -> Iterator[_Reader]:
    # Read-write, to read only: a read-only connection that closes last leaves the WAL and
    # SHM files behind (it may not remove them); the instance lock keeps writers away.
    conn = sqlite3.connect(path, isolation_level=None)
    reader = _Sqlite(conn, str(path))
    try:
        # A write transaction that writes nothing: a `ticker poll` (which writes without
        # the instance lock when it cannot have it) waits, and fails after its busy
        # timeout, rather than record lines the copy would not carry.
        reader.begin("BEGIN IMMEDIATE")
        yield reader
    finally:
        conn.close()


@contextlib.contextmanager
def _sqlite_writer(path: Path, final: Path) -> Iterator[_Writer]:
    conn = sqlite3.connect(path, isolation_level=None)
    writer = _SqliteWriter(conn, path, final)
    try:
        writer.begin("BEGIN IMMEDIATE")
        yield writer
    finally:
        conn.close()  # without a COMMIT: rolled back


# --- PostgreSQL ----------------------------------------------------------------------------


class _Postgres(_End):
    """A PostgreSQL end, read in one transaction."""

    errors = staticmethod(_postgres_errors)

    @_guarded
    def tables(self) -> dict[str, list[str]]:
        """Every table of the connection's schema and its columns, in their order."""
        rows = self.conn.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " ORDER BY c.table_name, c.ordinal_position"
        ).fetchall()
        found: dict[str, list[str]] = {}
        for table, column in rows:
            found.setdefault(table, []).append(column)
        return found

    @_guarded
    def freeze(self, tables: list[str]) -> None:
        """Start the snapshot the copy reads, once `tables` are locked in SHARE mode:
        readers go on, writers (a replica started meanwhile) wait until the copy ends.
        The lock comes first: a REPEATABLE READ snapshot is taken by the first query,
        so nothing committed before the lock is granted is missed."""
        self.conn.rollback()  # the transaction that listed the tables: its snapshot goes
        self.conn.execute(f"LOCK TABLE {_column_list(tables)} IN SHARE MODE")

    @_guarded
    def key(self, table: str, columns: list[str]) -> list[str]:
        """The table's primary key columns, in the key's order; else every column."""
        rows = self.conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
            " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = %s::regclass AND i.indisprimary"
            " ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (_quote(table),),
        ).fetchall()
        return [row[0] for row in rows] or columns

    def read(
        self, table: str, columns: list[str], key: list[str], batch: int
    ) -> Iterator[list[Row]]:
        """The table's rows in key order, `batch` at a time (a server-side cursor)."""
        with self.errors(self.where), self.conn.cursor(name=f"ticker_copy_{table}") as cursor:
            cursor.execute(
                f"SELECT {_column_list(columns)} FROM {_quote(table)} ORDER BY {_column_list(key)}"
            )
            while rows := cursor.fetchmany(batch):
                yield rows

    @_guarded
    def tally(self, table: str, has_id: bool) -> tuple[int, int | None]:
        """count(*) and, with an id column, max(id)."""
        top = "max(id)" if has_id else "NULL::bigint"
        row = self.conn.execute(f"SELECT count(*), {top} FROM {_quote(table)}").fetchone()
        return int(row[0]), row[1]


class _PostgresWriter(_Postgres):
    """A PostgreSQL DST, written in one transaction."""

    @_guarded
    def holds_rows(self, tables: list[tuple[str, list[str]]]) -> bool:
        """True if any table holds a row a new database would not."""
        return any(_holds_rows(self, name) for name, _ in tables)

    @_guarded
    def clear(self, tables: list[str]) -> None:
        """Empty `tables` (one TRUNCATE: references among them do not stop it)."""
        if tables:
            self.conn.execute(f"TRUNCATE {_column_list(tables)}")

    @_guarded
    def write(self, table: str, columns: list[str], rows: list[Row]) -> None:
        """Add `rows` through COPY FROM STDIN (text format: psycopg turns each value into
        text, so SQLite's integers and floats land in any numeric column)."""
        statement = f"COPY {_quote(table)} ({_column_list(columns)}) FROM STDIN"
        with self.conn.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    @_guarded
    def finish(self, table: str, columns: list[str]) -> None:
        """Set each sequence of the table's columns (serial, identity) past their largest
        value, so the next insert does not reuse a copied id."""
        for column in columns:
            row = self.conn.execute(
                "SELECT pg_get_serial_sequence(%s, %s)", (_quote(table), column)
            ).fetchone()
            if row[0] is not None:
                top = f"SELECT coalesce(max({_quote(column)}), 0) + 1 FROM {_quote(table)}"
                self.conn.execute(f"SELECT setval(%s, ({top}), false)", (row[0],))

    @_guarded
    def commit(self) -> None:
        """Commit the copy's transaction."""
        self.conn.commit()


def _postgres_connection(target: PostgresTarget, where: str) -> Any:
    import psycopg

    from ticker.pg import CONNECT_TIMEOUT

    with _postgres_errors(where):
        return psycopg.connect(
            target.conninfo(), connect_timeout=CONNECT_TIMEOUT, application_name="ticker db copy"
        )


def _refuse_live_replicas(conn: Any, where: str) -> None:
    """CopyRefused while tickers run on this database (live heartbeats, ticker.leases)."""
    from ticker import leases

    if conn.execute("SELECT to_regclass('replicas')").fetchone()[0] is None:
        return
    live = [r for r in leases.replicas(conn) if r.live]
    if live:
        who = ", ".join(f"pid {r.pid} on {r.host}" for r in live)
        problem = f"is in use by {len(live)} ticker replica(s) ({who}); stop them first"
        raise CopyRefused(where, problem)


@contextlib.contextmanager
def _postgres_reader(target: PostgresTarget) -> Iterator[_Reader]:
    import psycopg

    where = describe(target)
    conn = _postgres_connection(target, where)
    try:
        with _postgres_errors(where):
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            _refuse_live_replicas(conn, where)
        yield _Postgres(conn, where)
    finally:
        conn.close()


@contextlib.contextmanager
def _postgres_writer(target: PostgresTarget) -> Iterator[_Writer]:
    where = describe(target)
    conn = _postgres_connection(target, where)
    try:
        with _postgres_errors(where):
            _refuse_live_replicas(conn, where)
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (COPY_LOCK,))
        yield _PostgresWriter(conn, where)
    finally:
        conn.close()  # without a commit: rolled back
