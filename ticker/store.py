"""The log: schema, migrations and every query. The only module that writes SQL.

One Store, two engines: SQLite (a file path, the default) and PostgreSQL (a
postgresql:// URL, ticker.pg). The queries are written once, in the SQL both accept
(`?` placeholders, which ticker.pg translates, `ON CONFLICT`, `RETURNING`); what differs
is in `Store.open` (connection, migrations) and in the maintenance that only SQLite has
(integrity check, backup, checkpoint, file identity), which PostgreSQL does itself.

Times are Unix seconds (REAL, UTC) given by the caller, so tests control the clock. An
alert is also stamped with the boot clock (`Store.boot_clock`, which tests replace), so
that its age survives a restart and a step of the wall clock (ticker.clock.Moment).
Writes run in explicit transactions (SQLite: `BEGIN IMMEDIATE`, one writer at a time;
PostgreSQL: READ COMMITTED, several replicas at once, kept apart by unique keys, row locks
and an advisory lock for the cross-source classification): a poll's items, alerts and
deliveries land together or not at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ticker import dbfile, record
from ticker.errors import (
    DatabaseMaintenanceElsewhere,
    DatabaseQueryFailed,
    DatabaseUnreachable,
    DatabaseUnusable,
)
from ticker.lines import Line
from ticker.record import ALSO, AlertPlan, Decision, Policy

if TYPE_CHECKING:
    from ticker.clock import BootReading
    from ticker.dburl import PostgresTarget
    from ticker.dedupe import Candidate, Judge
    from ticker.route import Router

# What a caller catches instead of sqlite3.Error: SQLite's errors, and the PostgreSQL
# engine's (ticker.pg turns psycopg's into these, so SQLite users never import psycopg).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    sqlite3.Error,
    DatabaseUnreachable,
    DatabaseQueryFailed,
)
Engine = Literal["sqlite", "postgresql"]


class Connection(Protocol):
    """What Store asks of a connection: a sqlite3.Connection, or ticker.pg.Connection."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...

    def close(self) -> None: ...


SCHEMA_VERSION = 13
WAKE_TOPIC = "ticker_deliveries"  # PostgreSQL NOTIFY channel: new deliveries, by channel name
# Each channel with a sent delivery and its last success, read from the deliveries_sent
# index: one seek to each next channel (a loose index scan), one to each channel's newest.
_LAST_SENT = """
WITH RECURSIVE channels(name) AS (
    SELECT min(channel) FROM deliveries INDEXED BY deliveries_sent WHERE sent_at IS NOT NULL
    UNION ALL
    SELECT (SELECT min(channel) FROM deliveries INDEXED BY deliveries_sent
            WHERE sent_at IS NOT NULL AND channel > channels.name)
    FROM channels WHERE channels.name IS NOT NULL
)
SELECT name, (SELECT max(sent_at) FROM deliveries INDEXED BY deliveries_sent
              WHERE channel = channels.name AND sent_at IS NOT NULL)
FROM channels WHERE name IS NOT NULL
"""
MAX_ANCHORS = 4  # rarest terms of a new line whose postings are read
MAX_POSTINGS = 64  # most recent items read per anchor term
MAX_CANDIDATES = 24  # items compared with a new line
MAX_ACROSS = 8  # items of other sources compared with it too (across_sources)
MAX_ACROSS_POSTINGS = 32  # most recent items read per anchor term across sources
# SQLite's page cache of the writing connection, in KiB (SQLite's default is 2,000). What a
# poll reads is small (a source's row, the recent postings of a few index terms, 24 candidate
# items) and the OS page cache holds the rest of the file, so a smaller cache costs no
# measurable time and caps how much the daemon grows as the database does (BENCHMARKS.md).
CACHE_KIB = 1024
BUSY_TIMEOUT_MS = 10_000
# How long closing waits for readers to leave an older snapshot before the WAL can be
# emptied; then what they allow is copied (PASSIVE). A `tail -f` holds a snapshot for the
# milliseconds of a read, and the daemon's stop must stay within TimeoutStopSec.
CHECKPOINT_WAIT_MS = 1_000
TABLES = {"sources", "items", "alerts", "deliveries"}  # a versioned database has at least these
DELIVERY_CHANGE = "delivery_change"  # the counter that numbers delivery changes (schema 9)
CHANNEL_HEALTH = "channel"  # the attribution of a health alert about a channel
MAX_STORY_HOPS = 8  # links followed from an item to the story's first item (bounded walk)
# The upper bounds (seconds) of the poll-duration histogram's buckets (ticker.metrics): a
# poll of a loopback page takes milliseconds, of a slow site seconds, a timeout 30 s.
POLL_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SENDS_KEPT = 300.0  # seconds of channel_sends kept around the newest (the window is 60 s)


@dataclass(frozen=True)
class NewItem:
    """A line seen for the first time in a poll; `alert_id` is None when baselined."""

    item_id: int
    line: Line
    alert_id: int | None
    kind: str = "new"
    of_item: int | None = None
    changes: tuple[str, ...] = ()
    also_of: int | None = None  # kind "also": the item whose alert told the story first


@dataclass(frozen=True)
class PollRecord:
    """What one recorded poll changed."""

    source: str
    baseline: bool
    new: tuple[NewItem, ...]
    seen: int

    @property
    def alerts(self) -> tuple[NewItem, ...]:
        """The new items that became alerts."""
        return tuple(item for item in self.new if item.alert_id is not None)


@dataclass(frozen=True)
class SourceState:
    """The sources row: how polling this source has gone so far."""

    name: str
    url: str
    last_poll: float | None
    last_success: float | None
    consecutive_failures: int
    last_error: str | None
    etag: str | None
    last_modified: str | None
    layout_failures: int = 0
    health: str = "ok"
    last_result: str | None = None
    last_latency: float | None = None
    next_poll: float | None = None


@dataclass(frozen=True)
class Delivery:
    """A pending delivery joined with the alert it carries."""

    id: int
    alert_id: int
    channel: str
    attempts: int
    created: float
    next_attempt: float
    source: str
    text: str
    attribution: str | None
    body: str
    url: str | None
    first_seen: float
    kind: str = "new"
    changes: str | None = None
    last_attempt: float | None = None
    boot_id: str | None = None  # the boot clock when its alert was raised (None: not
    boot_time: float | None = None  # read: another OS, or a row from an older ticker)


@dataclass(frozen=True)
class Mark:
    """What became of one attempt to send a delivery, as `Store.write_marks` records it:
    sent, to be retried at `next_attempt`, or failed for good; `error` says why."""

    delivery_id: int
    outcome: Literal["sent", "retry", "failed"]
    at: float
    error: str | None = None
    next_attempt: float | None = None


@dataclass(frozen=True)
class AlsoView:
    """A line of another source that told the story of an alert again ("also reported
    by"), and the follow-ups sent for it (channels with `also = "notify"`)."""

    source: str
    text: str
    first_seen: float
    deliveries: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertView:
    """An alert as `ticker tail` shows it."""

    id: int
    source: str
    attribution: str | None
    text: str
    body: str
    url: str | None
    first_seen: float
    created: float = 0.0
    kind: str = "new"
    changes: str | None = None
    updates_id: int | None = None
    updates_text: str | None = None
    deliveries: dict[str, str] = field(default_factory=dict)
    item_id: int = 0
    also: list[AlsoView] = field(default_factory=list)


@dataclass(frozen=True)
class Tally:
    """One counter of the tallies table (`Store.tallies`): `metric` is "polls" (subject: a
    source, label: the result), "poll_seconds" (a source, the upper bound of a duration
    bucket, see `bucket_label`), "poll_seconds_sum" (a source, ""), "lines" and "alerts"
    (a source, the kind) or "deliveries" (a channel, what became of them: queued, sent,
    failed, expired, cancelled)."""

    metric: str
    subject: str
    label: str
    value: float


def bucket_label(seconds: float) -> str:
    """The tallies label of the poll-duration bucket that `seconds` falls in: the smallest
    upper bound in POLL_SECONDS_BUCKETS at or above it, or "+Inf"."""
    for bound in POLL_SECONDS_BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"


@dataclass(frozen=True)
class ChannelStats:
    """How a channel's deliveries stand, as `ticker status` shows it."""

    channel: str
    pending: int = 0
    failed: int = 0
    last_sent: float | None = None  # newest sent_at
    last_error: str | None = None  # of its most recent failed or retrying delivery
    last_error_at: float | None = None  # when that delivery was last attempted
    cancelled: int = 0  # pending when the channel left the config
    expired: int = 0  # older than the channel's max_delivery_age, never sent


@dataclass(frozen=True)
class DeliveryChange:
    """A delivery whose state changed, as `ticker tail -f` shows it: `status` is what it
    is now (a "pending" one with an `error` is waiting for a retry); `story_id` is, for a
    follow-up (kind "also"), the alert whose story it follows up."""

    changed: int
    delivery_id: int
    alert_id: int
    channel: str
    status: str
    attempts: int
    at: float | None
    error: str | None = None
    kind: str = "new"
    source: str = ""
    story_id: int | None = None


def _migration_1(conn: sqlite3.Connection) -> None:
    # sqlite-utils is imported here, not at module level: `ticker tail` only reads and
    # must start fast (sqlite_utils costs ~130 ms to import).
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    db.table("sources").create(
        {
            "name": str,
            "url": str,
            "first_poll": float,
            "last_poll": float,
            "last_success": float,
            "consecutive_failures": int,
            "last_error": str,
            "etag": str,
            "last_modified": str,
            "lines_last_poll": int,
        },
        pk="name",
        not_null={"url"},
        defaults={"consecutive_failures": 0},
    )
    db.table("items").create(
        {
            "id": int,
            "source": str,
            "fingerprint": str,
            "text": str,
            "attribution": str,
            "body": str,
            "url": str,
            "first_seen": float,
            "last_seen": float,
            "times_seen": int,
        },
        pk="id",
        not_null={"source", "fingerprint", "text", "first_seen", "last_seen"},
        defaults={"times_seen": 1},
    )
    db.table("items").create_index(["source", "fingerprint"], unique=True)
    db.table("items").create_index(["last_seen"])
    db.table("alerts").create(
        {"id": int, "item_id": int, "source": str, "created": float},
        pk="id",
        not_null={"item_id", "source", "created"},
        foreign_keys=[("item_id", "items", "id")],
    )
    db.table("alerts").create_index(["source", "id"])
    db.table("deliveries").create(
        {
            "id": int,
            "alert_id": int,
            "channel": str,
            "status": str,
            "attempts": int,
            "created": float,
            "next_attempt": float,
            "last_attempt": float,
            "last_error": str,
            "sent_at": float,
        },
        pk="id",
        not_null={"alert_id", "channel", "status", "created", "next_attempt"},
        defaults={"attempts": 0, "status": "pending"},
        foreign_keys=[("alert_id", "alerts", "id")],
    )
    db.table("deliveries").create_index(["alert_id", "channel"], unique=True)
    db.table("deliveries").create_index(["status", "next_attempt"])


def _migration_2(conn: sqlite3.Connection) -> None:
    """De-duplication: what each item is to the earlier ones, and a term index."""
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    for table in ("items", "alerts"):
        db.table(table).add_column("kind", str, not_null_default="new")
        db.table(table).add_column("changes", str)
    db.table("items").add_column("of_item", int)  # the item this one updates or duplicates
    db.table("alerts").add_column("updates_item", int)
    # term -> items, keyed by a 64-bit hash of (source, term); WITHOUT ROWID keeps it compact.
    conn.execute(
        "CREATE TABLE terms (key INTEGER NOT NULL, item_id INTEGER NOT NULL, "
        "PRIMARY KEY (key, item_id)) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX terms_item ON terms (item_id)")
    conn.execute("CREATE TABLE term_df (key INTEGER PRIMARY KEY, n INTEGER NOT NULL)")


def _migration_3(conn: sqlite3.Connection) -> None:
    """Service state: how each source's polls go (for health alerts and `ticker status`)."""
    import sqlite_utils

    sources = sqlite_utils.Database(conn).table("sources")
    sources.add_column("layout_failures", int, not_null_default=0)  # ticker not found in a row
    sources.add_column("health", str, not_null_default="ok")  # ok, down, layout
    sources.add_column("last_result", str)  # ok, not-modified, failed, layout
    sources.add_column("last_latency", float)  # seconds of the last fetch
    sources.add_column("next_poll", float)  # when the daemon polls it next


def _migration_4(conn: sqlite3.Connection) -> None:
    """Alerts by item: `ticker tail` finds the alert an update refers to, and deleting a
    forgotten item checks the alerts that reference it, both through this index instead of
    reading every alert (at 1,000,000 alerts, 35 ms per look-up)."""
    conn.execute("CREATE INDEX alerts_item ON alerts (item_id)")


def _migration_5(conn: sqlite3.Connection) -> None:
    """Claims: before a delivery is sent, one process claims it (its owner id and an expiry
    time), so no two processes ever send it; the mark that settles it releases the claim."""
    conn.execute("ALTER TABLE deliveries ADD COLUMN claimed_by TEXT")
    conn.execute("ALTER TABLE deliveries ADD COLUMN claim_expires REAL")


def _migration_6(conn: sqlite3.Connection) -> None:
    """Boot stamps: each alert's boot id and CLOCK_BOOTTIME when it was raised, so its age
    read after a restart is not fooled by a step of the wall clock. Alerts from before
    have none (NULL): their age comes from the wall clock, as it did."""
    conn.execute("ALTER TABLE alerts ADD COLUMN boot_id TEXT")
    conn.execute("ALTER TABLE alerts ADD COLUMN boot_time REAL")


def _migration_7(conn: sqlite3.Connection) -> None:
    """Item identity: the source's own id of an item (an RSS guid, a Telegram post id) and
    the time the source says it was posted. The same key with other text is an edit of
    that item; html lines have no key and are known by their text's fingerprint."""
    conn.execute("ALTER TABLE items ADD COLUMN key TEXT")
    conn.execute("ALTER TABLE items ADD COLUMN published REAL")
    conn.execute("CREATE INDEX items_key ON items (source, key) WHERE key IS NOT NULL")


def _migration_8(conn: sqlite3.Connection) -> None:
    """One story from several sources ([dedupe] across_sources): a line that another
    source's line already told is an item of kind "also", `also_of` naming the item whose
    alert told it first; `ticker tail` lists those under that alert through this index."""
    conn.execute("ALTER TABLE items ADD COLUMN also_of INTEGER")
    conn.execute("CREATE INDEX items_also ON items (also_of) WHERE also_of IS NOT NULL")


def _migration_9(conn: sqlite3.Connection) -> None:
    """Delivery changes for `ticker tail -f`: each transaction that changes deliveries'
    state (sent, failed, a retry, expired, cancelled) stamps them with the next number of
    a sequence kept in `counters` (which pruning never touches, so numbers never go back),
    and a follower asks, through this index, for what changed since the last number it saw,
    whatever the size of the outbox. A new delivery has none: its alert is what is new.
    Deliveries from before stay NULL."""
    conn.execute(
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID"
    )
    conn.execute("INSERT INTO counters (name, value) VALUES (?, 0)", (DELIVERY_CHANGE,))
    conn.execute("ALTER TABLE deliveries ADD COLUMN changed INTEGER")
    conn.execute(
        "CREATE INDEX deliveries_changed ON deliveries (changed) WHERE changed IS NOT NULL"
    )


def _migration_10(conn: sqlite3.Connection) -> None:
    """Service state: facts about the daemon as a whole rather than one source, one row
    per key, for `ticker status` to read. First: the outcome of the last config reload
    (`reload`: when, and why it failed; no detail when it was applied)."""
    conn.execute(
        "CREATE TABLE service (key TEXT PRIMARY KEY, at REAL NOT NULL, detail TEXT) WITHOUT ROWID"
    )


def _migration_11(conn: sqlite3.Connection) -> None:
    """Metrics (`/metrics`, ticker.metrics): counters that only grow, kept in `tallies` by
    the writes that change what they count, in the same transaction (`Store._tally`):
    polls by source and result and their durations (the sources row keeps the last poll
    only), lines and alerts by source and kind, deliveries by channel and outcome. Counting
    rows at scrape time would read every item and alert (hundreds of ms at 1M) and would
    go down when housekeeping prunes; a Prometheus counter must not. The lines, alerts and
    deliveries already in the database are counted here, once. A partial index of pending
    deliveries by channel makes each channel's backlog an index count."""
    conn.execute(
        "CREATE TABLE tallies (metric TEXT NOT NULL, subject TEXT NOT NULL, "
        "label TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (metric, subject, label)) "
        "WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO tallies SELECT 'lines', source, kind, count(*) FROM items "
        "WHERE kind != 'health' GROUP BY source, kind"
    )
    conn.execute(
        "INSERT INTO tallies SELECT 'alerts', source, kind, count(*) FROM alerts "
        "GROUP BY source, kind"
    )
    conn.execute(
        "INSERT INTO tallies SELECT 'deliveries', channel, 'queued', count(*) FROM deliveries "
        "GROUP BY channel UNION ALL SELECT 'deliveries', channel, status, count(*) "
        "FROM deliveries WHERE status != 'pending' GROUP BY channel, status"
    )
    conn.execute(
        "CREATE INDEX deliveries_pending ON deliveries (channel, status) WHERE status = 'pending'"
    )


def _migration_12(conn: sqlite3.Connection) -> None:
    """Each channel's last success through an index: `ticker status` and the web page's
    channel panel read it every few seconds, and without this index it was a scan of every
    delivery ever kept (0.74 s at 1,000,000)."""
    conn.execute(
        "CREATE INDEX deliveries_sent ON deliveries (channel, sent_at) WHERE sent_at IS NOT NULL"
    )


def _migration_13(conn: sqlite3.Connection) -> None:
    """Each channel's max_per_minute window in the database (`Store.record_sends`): one row
    per message sent, so a restarted ticker, or the replica that takes a channel over,
    knows what the last minute already sent. Rows older than a few minutes are deleted as
    new ones come."""
    conn.execute("CREATE TABLE channel_sends (channel TEXT NOT NULL, at REAL NOT NULL)")
    conn.execute("CREATE INDEX channel_sends_at ON channel_sends (channel, at)")


MIGRATIONS = {
    1: _migration_1,
    2: _migration_2,
    3: _migration_3,
    4: _migration_4,
    5: _migration_5,
    6: _migration_6,
    7: _migration_7,
    8: _migration_8,
    9: _migration_9,
    10: _migration_10,
    11: _migration_11,
    12: _migration_12,
    13: _migration_13,
}


def machine_boot_clock() -> BootReading | None:
    """ticker.clock.boot_clock, looked up at each read (tests replace it); ticker.clock is
    light now (APScheduler moved to ticker.scheduler), imported here when first needed."""
    from ticker import clock

    return clock.boot_clock()


# The number a transaction that changes deliveries stamps them with (migration 9), after
# _count_change: transactions are serial (BEGIN IMMEDIATE), so numbers rise in commit order
# and a follower that saw number N has seen every change numbered N or less.
THIS_CHANGE = f"(SELECT value FROM counters WHERE name = '{DELIVERY_CHANGE}')"


def _count_change(conn: Connection) -> None:
    """Take the next number of the delivery change sequence for this transaction."""
    conn.execute("UPDATE counters SET value = value + 1 WHERE name = ?", (DELIVERY_CHANGE,))


def _alert_filters(source: str | None, grep: str | None) -> tuple[list[str], list[object]]:
    """The WHERE terms and parameters of `ticker tail`'s filters, on alerts `a` joined to
    their items `i`: one source, and text containing `grep` (case-insensitive)."""
    where: list[str] = []
    params: list[object] = []
    if source:
        where.append("a.source = ?")
        params.append(source)
    if grep:
        where.append("i.text LIKE ? ESCAPE '\\'")
        params.append(f"%{_like_escaped(grep)}%")
    return where, params


def _like_escaped(text: str) -> str:
    """`text` with LIKE's wildcards (and the escape character) escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


ACROSS = b"across"  # the hash personalisation of the terms every source shares
ACROSS_LOCK = 0x7469636B6561  # PostgreSQL's advisory lock of the cross-source classification


def across_key(term: str) -> int:
    """The index key of `term` in every source at once (`[dedupe] across_sources`): a
    signed 64-bit hash in its own hash domain, so no source name can collide with it."""
    digest = hashlib.blake2b(term.encode(), digest_size=8, person=ACROSS).digest()
    return int.from_bytes(digest, "big", signed=True)


def term_key(source: str, term: str) -> int:
    """The index key of `term` in `source`: a signed 64-bit hash."""
    digest = hashlib.blake2b(f"{source}\0{term}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _checked_connection(path: Path, readonly: bool) -> sqlite3.Connection:
    """A connection to the database at `path`, once the file and its schema were checked
    (dbfile.inspect, dbfile.check_schema): nothing is written to a file that is not
    ticker's. A new database is created 0600 first, so its WAL and SHM are 0600 too."""
    new = dbfile.inspect(path, create=not readonly, newest=SCHEMA_VERSION)
    if new:
        dbfile.create_private(path)
    try:
        conn = _connect(path, readonly)
    except sqlite3.Error as exc:
        raise dbfile.unusable(path, exc) from None
    try:
        dbfile.check_schema(conn, path, SCHEMA_VERSION, TABLES)
    except BaseException:
        conn.close()
        raise
    return conn


def _database(database: Path | PostgresTarget | str) -> Path | PostgresTarget:
    """What `Store.open` was given, as a Path (SQLite) or a PostgresTarget."""
    if isinstance(database, Path):
        return database
    if isinstance(database, str):
        from ticker.dburl import PostgresTarget, is_url

        return PostgresTarget.parse(database) if is_url(database) else Path(database)
    return database


class _History:
    """What `record.decide` reads of the log of `source`'s poll, through `store`'s reads on
    `conn` (the poll's transaction)."""

    def __init__(self, store: Store, conn: Connection, source: str) -> None:
        self.store, self.conn, self.source = store, conn, source

    def candidates(self, terms: set[str], since: float) -> list[Candidate]:
        """Items of the source seen since `since` sharing the rarest of `terms`."""
        return self.store._candidates(self.conn, self.source, terms, since)

    def candidates_across(self, terms: set[str], since: float) -> list[Candidate]:
        """Items of the other sources seen since `since` sharing the rarest of `terms`."""
        return self.store._candidates_across(self.conn, self.source, terms, since)

    def story_root(self, item_id: int) -> tuple[int, str] | None:
        """The item (id, source) that told the story of `item_id` first."""
        return self.store._story_root(self.conn, item_id)

    def story_channels(self, root: int) -> set[str]:
        """The channels given the story of item `root` already."""
        return self.store._story_channels(self.conn, root)


class Store:
    """A connection to ticker's database, with the queries ticker needs."""

    def __init__(
        self, conn: Connection, path: Path | PostgresTarget, engine: Engine = "sqlite"
    ) -> None:
        self.conn = conn
        self.path = path  # SQLite: the file; PostgreSQL: the URL, without its password
        self.engine: Engine = engine
        # PostgreSQL: the channels the open transaction gave deliveries to, announced to
        # the other replicas when it commits (`_announce`).
        self._woken: set[str] = set()
        self.identity = dbfile.Identity.of(path) if isinstance(path, Path) else None
        # What alerts are stamped with, and what the outbox measures their age on: one
        # clock for both. Tests replace it (tests/conftest.py).
        self.boot_clock: Callable[[], BootReading | None] = machine_boot_clock
        self.readonly = False  # open_readonly: close writes nothing
        # What the open transaction adds to the tallies (metric, subject, label): written
        # with it, just before it commits (`transaction`).
        self._tallies: defaultdict[tuple[str, str, str], float] = defaultdict(float)
        # SQLite takes the write lock up front (one writer; no deadlock between two
        # upgrading readers); PostgreSQL's replicas write at once, under row locks.
        self._begin = "BEGIN IMMEDIATE" if engine == "sqlite" else "BEGIN"

    @property
    def conninfo(self) -> str:
        """PostgreSQL: the libpq connection string, with the password, that
        ticker.leases.connect takes (never print it). ValueError on SQLite."""
        if isinstance(self.path, Path):
            raise ValueError(f"{self.path} is a SQLite database")
        return self.path.conninfo()

    @classmethod
    def open(cls, database: Path | PostgresTarget | str) -> Store:
        """Open (creating if needed) the database, migrated: a SQLite file at a path (in WAL
        mode), or a PostgreSQL database (a PostgresTarget or a postgresql:// URL).

        Raises DatabaseUnusable (naming what is wrong) for a file that is not ticker's
        database or cannot be written, before anything is written to it;
        DatabaseUnreachable for a PostgreSQL server that cannot be reached."""
        database = _database(database)
        if not isinstance(database, Path):
            return cls._open_postgres(database, readonly=False)
        path = database
        conn = _checked_connection(path, readonly=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            store = cls(conn, path)
            store.migrate()
        except sqlite3.Error as exc:
            conn.close()
            raise dbfile.unusable(path, exc) from None
        return store

    @classmethod
    def open_readonly(cls, database: Path | PostgresTarget | str) -> Store:
        """Open an existing database for reading only (tail, status). Raises
        DatabaseMissing (also a FileNotFoundError) if there is none, DatabaseUnusable if
        the file is not ticker's database."""
        database = _database(database)
        if not isinstance(database, Path):
            return cls._open_postgres(database, readonly=True)
        store = cls(_checked_connection(database, readonly=True), database)
        store.readonly = True
        return store

    @classmethod
    def _open_postgres(cls, target: PostgresTarget, readonly: bool) -> Store:
        """The PostgreSQL database `target`, migrated (or, `readonly`, checked)."""
        from ticker import pg

        conn = pg.connect(target, readonly=readonly)
        try:
            if readonly:
                pg.check_schema(conn, target)
            else:
                pg.migrate(conn, target)
        except BaseException:
            conn.close()
            raise
        store = cls(conn, target, "postgresql")
        store.readonly = readonly
        return store

    @classmethod
    def precheck(cls, database: Path | PostgresTarget | str) -> None:
        """Check the database as `open` would, reading only and creating nothing: for the
        checks made before a lock file is made beside it (a SQLite file; a PostgreSQL
        database needs no lock file, and is checked by `open`)."""
        database = _database(database)
        if not isinstance(database, Path):
            return
        if not dbfile.inspect(database, create=True, newest=SCHEMA_VERSION):
            cls.open_readonly(database).close()

    def check_file(self) -> None:
        """Raise DatabaseBroken if the database file was deleted or replaced since it was
        opened (a stat, no SQL). PostgreSQL: nothing to check (its files are its own)."""
        if isinstance(self.path, Path):
            dbfile.check_same_file(self.path, self.identity)

    def sqlite_file(self, what: str) -> Path:
        """The file of a SQLite database, for SQLite's own maintenance (`what`: "db check");
        raises DatabaseMaintenanceElsewhere for PostgreSQL, whose maintenance is its own."""
        if isinstance(self.path, Path):
            return self.path
        from ticker.pg import MAINTENANCE

        raise DatabaseMaintenanceElsewhere(self.path, f"{MAINTENANCE}; ticker {what} is SQLite's")

    def integrity_problems(self, *, quick: bool = False, limit: int = 20) -> list[str]:
        """What SQLite's integrity_check (or the faster quick_check, which skips the
        indexes' contents) finds wrong, at most `limit` lines; [] if nothing. Raises
        DatabaseMaintenanceElsewhere on PostgreSQL."""
        self.sqlite_file("db check")
        pragma = "quick_check" if quick else "integrity_check"
        rows = [str(row[0]) for row in self.conn.execute(f"PRAGMA {pragma}({limit})")]
        return [] if rows == ["ok"] else rows

    def backup_to(self, target: Path) -> None:
        """Copy the database, as one consistent snapshot, into the new file `target` with
        SQLite's online backup (safe while the daemon writes). The copy is one file, no
        WAL beside it. Raises DatabaseMaintenanceElsewhere on PostgreSQL (pg_dump's job)."""
        self.sqlite_file("db backup")
        assert isinstance(self.conn, sqlite3.Connection)
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            self.conn.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()

    def checkpoint(self) -> bool:
        """Copy what the WAL holds into the database file and empty the WAL (TRUNCATE), so
        that the file alone is the whole database (a `cp` of it after a stop is complete).
        A reader in an older snapshot lets that finish only when it moves on: after
        CHECKPOINT_WAIT_MS, what it allows is copied (PASSIVE). True if everything was.
        Raises sqlite3.Error. PostgreSQL: nothing to do (True)."""
        if self.engine != "sqlite":
            return True
        self.conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
        try:
            busy, frames, copied = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                busy, frames, copied = self.conn.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return not busy and frames == copied

    def close(self) -> None:
        """Close the connection. A writable store first checkpoints (`checkpoint`): SQLite
        does so by itself only when the last connection closes, and a reader left open
        (`ticker tail -f`, `ticker status`) would keep everything in the WAL, beside a
        database file that alone looks empty."""
        if not self.readonly:
            # A database that went bad or is busy is closed all the same: what the WAL
            # holds is safe there, and the next writer's checkpoint copies it.
            with contextlib.suppress(sqlite3.Error):
                self.checkpoint()
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception. The
        counters it added to (`_tally`) are written last, in it."""
        self.conn.execute(self._begin)
        self._tallies.clear()
        self._woken.clear()
        try:
            yield self.conn
            self._write_tallies()
            self._announce()
        except BaseException:
            self._tallies.clear()
            self._woken.clear()
            if self.conn.in_transaction:  # PostgreSQL: a lost connection has none
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except DATABASE_ERRORS:
            # A COMMIT refused (disk full, I/O error) may leave the transaction open; roll it
            # back, so the next write starts clean and this one is known not to have landed.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _announce(self) -> None:
        """PostgreSQL: tell the replicas that LISTEN on WAKE_TOPIC which channels the open
        transaction gave deliveries to (pg_notify: delivered at COMMIT, dropped with a
        ROLLBACK), so that a channel's holder sends an alert another replica recorded at
        once, not at its next drain. A hint only: the drain timer still looks."""
        if self.engine == "postgresql":
            for channel in sorted(self._woken):
                self.conn.execute("SELECT pg_notify(?, ?)", (WAKE_TOPIC, channel))
        self._woken.clear()

    def _tally(self, metric: str, subject: str, label: str, amount: float = 1.0) -> None:
        """Add `amount` to one counter of the tallies table (Tally) in the open transaction:
        the counter moves exactly when what it counts lands. Summed in memory and written
        once per transaction (a statement per line cost a poll of 10,000 lines a third
        more time)."""
        self._tallies[(metric, subject, label)] += amount

    def _write_tallies(self) -> None:
        """Write what the open transaction added to the tallies."""
        if self._tallies:
            # In key order: replicas adding to the same counters lock their rows in one
            # order, so two transactions never wait for each other's (a deadlock).
            self.conn.executemany(
                "INSERT INTO tallies (metric, subject, label, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (metric, subject, label) "
                "DO UPDATE SET value = tallies.value + excluded.value",
                [(*key, amount) for key, amount in sorted(self._tallies.items())],
            )
            self._tallies.clear()

    def _tally_poll(self, name: str, result: str, latency: float | None) -> None:
        """Count a poll of source `name` with `result` and, if measured, its duration."""
        self._tally("polls", name, result)
        if latency is not None:
            self._tally("poll_seconds", name, bucket_label(latency))
            self._tally("poll_seconds_sum", name, "", latency)

    def schema_version(self) -> int:
        """The database's schema version: SQLite's PRAGMA user_version. PostgreSQL's schema
        is numbered on its own (ticker.pg, in schema_versions) and written at the newest
        SQLite schema's tables: at its newest it is SCHEMA_VERSION, what callers compare."""
        if self.engine == "postgresql":
            from ticker import pg

            version = pg.schema_version(self.conn)  # type: ignore[arg-type]
            return SCHEMA_VERSION if version >= pg.SCHEMA_VERSION else version
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply every migration newer than the database's user_version, each atomically
        (SQLite; PostgreSQL's schema is migrated by `open`, ticker.pg.migrate)."""
        if self.engine == "postgresql":
            return
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise DatabaseUnusable(
                self.path, f"has schema {version}, newer than this ticker ({SCHEMA_VERSION})"
            )
        sqlite = self.conn
        assert isinstance(sqlite, sqlite3.Connection)  # SQLite's migrations are Python's
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.transaction() as conn:
                MIGRATIONS[target](sqlite)
                conn.execute(f"PRAGMA user_version = {target}")

    # --- sources -------------------------------------------------------------------------

    def source_state(self, name: str) -> SourceState | None:
        """The stored state of source `name`, or None if it was never polled."""
        row = self.conn.execute(
            "SELECT name, url, last_poll, last_success, consecutive_failures, last_error, "
            "etag, last_modified, layout_failures, health, last_result, last_latency, next_poll "
            "FROM sources WHERE name = ?",
            (name,),
        ).fetchone()
        return SourceState(**dict(row)) if row else None

    def _touch_source(self, conn: Connection, name: str, url: str, now: float) -> None:
        conn.execute(
            "INSERT INTO sources (name, url, first_poll, last_poll) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET url = excluded.url, last_poll = excluded.last_poll",
            (name, url, now, now),
        )

    def record_failure(
        self,
        name: str,
        url: str,
        now: float,
        error: str,
        *,
        layout: bool = False,
        latency: float | None = None,
    ) -> int:
        """Count a failed poll (`layout`: the page loaded but its ticker was not found);
        returns the number of consecutive failures."""
        with self.transaction() as conn:
            self._touch_source(conn, name, url, now)
            conn.execute(
                "UPDATE sources SET consecutive_failures = consecutive_failures + 1, "
                "layout_failures = CASE WHEN ? THEN layout_failures + 1 ELSE 0 END, "
                "last_error = ?, last_result = ?, last_latency = ? WHERE name = ?",
                (layout, error, "layout" if layout else "failed", latency, name),
            )
            self._tally_poll(name, "layout" if layout else "failed", latency)
            row = conn.execute(
                "SELECT consecutive_failures FROM sources WHERE name = ?", (name,)
            ).fetchone()
        return int(row[0])

    def record_not_modified(
        self, name: str, url: str, now: float, latency: float | None = None
    ) -> None:
        """A 304: the page did not change; the poll succeeded, and the lines the last 200
        showed are still on the page: their last_seen becomes `now`, so housekeeping never
        forgets a line the site still shows.

        Those lines are the source's items whose last_seen equals its last_success: every
        success (record_poll, and this) sets both to the same `now` in one transaction, and
        nothing else writes either (failures touch neither; health items are left out), so
        the equality survives any run of 304s and failures until the next 200."""
        with self.transaction() as conn:
            self._touch_source(conn, name, url, now)
            conn.execute(
                "UPDATE items SET last_seen = ? WHERE source = ? AND kind != 'health' "
                "AND last_seen = (SELECT last_success FROM sources WHERE name = ?)",
                (now, name, name),
            )
            conn.execute(
                "UPDATE sources SET last_success = ?, consecutive_failures = 0, "
                "layout_failures = 0, last_error = NULL, last_result = 'not-modified', "
                "last_latency = ? WHERE name = ?",
                (now, latency, name),
            )
            self._tally_poll(name, "not-modified", latency)

    def sources_at(self, url: str) -> list[SourceState]:
        """The sources rows whose last polled URL is `url`, most recently polled first."""
        rows = self.conn.execute(
            "SELECT name, url, last_poll, last_success, consecutive_failures, last_error, "
            "etag, last_modified, layout_failures, health, last_result, last_latency, next_poll "
            "FROM sources WHERE url = ? ORDER BY last_poll DESC, name",
            (url,),
        )
        return [SourceState(**dict(row)) for row in rows]

    def rename_source(
        self, old: str, new: str, url: str, judge: Judge | None = None, *, across: bool = False
    ) -> bool:
        """Give source `old`'s history (its state, items, alerts and term index) to `new`,
        now polling `url`, in one transaction. False, and nothing changed, if `old` has no
        state or `new` already has some.

        The term index is keyed by a hash of (source, term) (`term_key`), and only the
        hashes are stored: the terms of `old`'s indexed items are computed again from their
        text (with `judge`; without one they are dropped) and filed under `new`, so the
        de-duplication of `new` finds them (and, with `across`, filed under the keys every
        source shares too, `across_key`). The items keep their ids, so "also reported by"
        links (`also_of`) hold. A changed URL drops the stored validators (ETag,
        Last-Modified), which belong to the old URL."""
        with self.transaction() as conn:
            taken = conn.execute(
                "SELECT (SELECT count(*) FROM sources WHERE name = ?) "
                "+ (SELECT count(*) FROM items WHERE source = ?)",
                (new, new),
            ).fetchone()[0]
            row = conn.execute("SELECT url FROM sources WHERE name = ?", (old,)).fetchone()
            if row is None or taken:
                return False
            conn.execute("UPDATE sources SET name = ? WHERE name = ?", (new, old))
            if row[0] != url:
                conn.execute(
                    "UPDATE sources SET url = ?, etag = NULL, last_modified = NULL WHERE name = ?",
                    (url, new),
                )
            self._rekey_terms(conn, old, new, judge, across)
            conn.execute("UPDATE items SET source = ? WHERE source = ?", (new, old))
            conn.execute("UPDATE alerts SET source = ? WHERE source = ?", (new, old))
        return True

    def _rekey_terms(
        self, conn: Connection, old: str, new: str, judge: Judge | None, across: bool
    ) -> None:
        """File the indexed items of source `old` under `new`'s term keys."""
        mine = "SELECT id FROM items WHERE source = ?"
        stale = conn.execute(
            f"SELECT key, count(*) FROM terms WHERE item_id IN ({mine}) GROUP BY key", (old,)
        ).fetchall()
        indexed = conn.execute(
            "SELECT id, text, attribution, body FROM items i WHERE source = ? "
            "AND EXISTS (SELECT 1 FROM terms t WHERE t.item_id = i.id)",
            (old,),
        ).fetchall()
        conn.executemany("UPDATE term_df SET n = n - ? WHERE key = ?", [(n, k) for k, n in stale])
        conn.executemany("DELETE FROM term_df WHERE key = ? AND n <= 0", [(k,) for k, _ in stale])
        conn.execute(f"DELETE FROM terms WHERE item_id IN ({mine})", (old,))
        if judge is None:
            return
        for item_id, text, attribution, body in indexed:
            line = Line(text=text, attribution=attribution, body=body or text)
            self._index_terms(conn, new, item_id, judge.terms(line), across)

    def set_next_poll(self, name: str, when: float) -> None:
        """Remember when the daemon polls `name` next (for `ticker status`)."""
        with self.transaction() as conn:
            conn.execute("UPDATE sources SET next_poll = ? WHERE name = ?", (when, name))

    def record_health(
        self, name: str, health: str, text: str, now: float, channels: Sequence[str]
    ) -> int:
        """Set source `name`'s health ("ok", "down", "layout") and raise a health alert
        carrying `text` to `channels`, atomically. Returns the alert id.

        The alert's item is not a ticker line: its fingerprint can never match one, and it
        is not in the term index, so the diff and de-duplication never see it."""
        with self.transaction() as conn:
            conn.execute("UPDATE sources SET health = ? WHERE name = ?", (health, name))
            cursor = conn.execute(
                "INSERT INTO items (source, fingerprint, text, attribution, body, url, "
                "first_seen, last_seen, kind) VALUES (?, ?, ?, 'ticker', ?, NULL, ?, ?, 'health') "
                "RETURNING id",
                (name, f"health:{now!r}:{health}", text, text, now, now),
            )
            item_id = int(cursor.fetchall()[0][0])
            alert_id = self._insert_alert(conn, name, item_id, now, channels, kind="health")
        return alert_id

    # --- the diff ------------------------------------------------------------------------

    def _known_items(
        self, conn: Connection, source: str, fingerprints: Sequence[str]
    ) -> dict[str, int]:
        if not fingerprints:
            return {}
        marks = ",".join("?" * len(fingerprints))
        rows = conn.execute(
            f"SELECT fingerprint, id FROM items WHERE source = ? AND fingerprint IN ({marks})",
            (source, *fingerprints),
        )
        return {row[0]: row[1] for row in rows}

    def _insert_item(
        self,
        conn: Connection,
        source: str,
        line: Line,
        now: float,
        decision: Decision | None = None,
    ) -> int | None:
        """Insert the new `line` of `source` as an item of what `decision` made it (None:
        a new story); returns its id, or None if the source has that line already: another
        replica inserted it first (PostgreSQL), whose poll alerts it, not this one."""
        decision = decision or Decision("new")
        kind = decision.kind
        cursor = conn.execute(
            "INSERT INTO items (source, fingerprint, text, attribution, body, url, first_seen, "
            "last_seen, times_seen, kind, of_item, changes, key, published, also_of) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (
                source,
                line.fingerprint,
                line.text,
                line.attribution,
                line.body,
                line.url,
                now,
                now,
                kind,
                decision.of_item,
                decision.changes_text,
                line.key,
                line.published,
                decision.also_of,
            ),
        )
        rows = cursor.fetchall()
        if not rows:
            return None
        self._tally("lines", source, kind)
        return int(rows[0][0])

    def _keyed_items(
        self, conn: Connection, source: str, keys: Sequence[str]
    ) -> dict[str, Candidate]:
        """The newest item of `source` under each of `keys` (the source's own item ids)."""
        from ticker.dedupe import Candidate

        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        rows = conn.execute(
            f"SELECT key, id, text FROM items WHERE source = ? AND key IN ({marks}) "
            "AND key IS NOT NULL ORDER BY id",
            (source, *keys),
        )
        return {row[0]: Candidate(row[1], row[2]) for row in rows}

    def _index_terms(
        self,
        conn: Connection,
        source: str,
        item_id: int,
        terms: set[str],
        across: bool = False,
    ) -> None:
        """File `item_id` under the keys of `terms` in `source` and, with `across`, under
        the keys every source shares: a second posting per term, written only while
        across_sources is on, so that off costs what it did."""
        keys = [(term_key(source, term),) for term in terms]
        if across:
            keys += [(across_key(term),) for term in terms]
        keys.sort()  # one lock order for every writer (PostgreSQL's replicas)
        conn.executemany(
            "INSERT INTO term_df (key, n) VALUES (?, 1) "
            "ON CONFLICT(key) DO UPDATE SET n = term_df.n + 1",
            keys,
        )
        conn.executemany(
            "INSERT INTO terms (key, item_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(key, item_id) for (key,) in keys],
        )

    def candidates(self, source: str, terms: set[str], since: float) -> list[Candidate]:
        """Items of `source` seen since `since` that share the rarest of `terms`, most
        shared first. Reads a bounded number of index entries whatever the history size."""
        return self._candidates(self.conn, source, terms, since)

    def candidates_across(self, source: str, terms: set[str], since: float) -> list[Candidate]:
        """Items of the sources other than `source` seen since `since` that share the
        rarest of `terms` (lines indexed with across_sources on), most shared first; as
        bounded as `candidates`."""
        return self._candidates_across(self.conn, source, terms, since)

    def _candidates(
        self, conn: Connection, source: str, terms: set[str], since: float
    ) -> list[Candidate]:
        return self._read_candidates(conn, [term_key(source, term) for term in terms], since)

    def _candidates_across(
        self, conn: Connection, source: str, terms: set[str], since: float
    ) -> list[Candidate]:
        """Items of the other sources seen since `since` that share the rarest of `terms`
        (read through the keys every source shares; bounded as `_candidates` is, with
        fewer postings and candidates: MAX_ACROSS_POSTINGS, MAX_ACROSS)."""
        keys = [across_key(term) for term in terms]
        return self._read_candidates(conn, keys, since, other_than=source)

    def _read_candidates(
        self,
        conn: Connection,
        keys: list[int],
        since: float,
        other_than: str | None = None,
    ) -> list[Candidate]:
        """The items seen since `since` filed under the rarest of `keys` (MAX_ANCHORS of
        them, each read for its MAX_POSTINGS newest items), the MAX_CANDIDATES sharing the
        most first; with `other_than`, the MAX_ACROSS of those not of that source, read
        from MAX_ACROSS_POSTINGS per anchor."""
        from ticker.dedupe import Candidate

        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        df = dict(conn.execute(f"SELECT key, n FROM term_df WHERE key IN ({marks})", keys))
        anchors = sorted(df, key=df.__getitem__)[:MAX_ANCHORS]
        if not anchors:
            return []
        # The most recent postings of each anchor, counted in SQL: bounded work, no scan.
        # Across sources, fewer: the other source told the story within minutes, so it is
        # among an anchor's newest postings, and the second read costs less (BENCHMARKS.md).
        per_anchor = MAX_ACROSS_POSTINGS if other_than else MAX_POSTINGS
        postings = " UNION ALL ".join(
            "SELECT * FROM (SELECT item_id FROM terms WHERE key = ? "
            "ORDER BY item_id DESC LIMIT ?) AS p"
            for _ in anchors
        )
        # Across sources, the line's own items (compared already) are left out of the best
        # MAX_CANDIDATES, and the MAX_ACROSS best of the rest are compared: a story another
        # source told shares the most terms, and fewer candidates keep the second
        # comparison cheap (classification at 1M lines stays under 1 ms, BENCHMARKS.md).
        others, limit = ("AND i.source != ? ", MAX_ACROSS) if other_than else ("", MAX_CANDIDATES)
        rows = conn.execute(
            "SELECT i.id, i.text, i.first_seen FROM (SELECT item_id, count(*) AS shared "
            f"FROM ({postings}) AS postings "
            "GROUP BY item_id ORDER BY shared DESC, item_id DESC LIMIT ?) AS best "
            f"JOIN items i ON i.id = best.item_id WHERE i.last_seen >= ? {others}"
            "ORDER BY best.shared DESC, best.item_id DESC LIMIT ?",
            (
                *[v for key in anchors for v in (key, per_anchor)],
                MAX_CANDIDATES,
                since,
                *([other_than] if other_than else []),
                limit,
            ),
        )
        return [Candidate(row[0], row[1], row[2]) for row in rows]

    def _insert_alert(
        self,
        conn: Connection,
        source: str,
        item_id: int,
        now: float,
        channels: Sequence[str],
        kind: str = "new",
        updates_item: int | None = None,
        changes: str | None = None,
    ) -> int:
        """Insert an alert of kind `kind` of item `item_id` (an update of `updates_item`,
        `changes` saying what changed) and a pending delivery of it to each of `channels`;
        returns the alert's id."""
        boot_id, boot_time = self.boot_clock() or (None, None)
        cursor = conn.execute(
            "INSERT INTO alerts (item_id, source, created, kind, updates_item, changes, "
            "boot_id, boot_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (item_id, source, now, kind, updates_item, changes, boot_id, boot_time),
        )
        alert_id = int(cursor.fetchall()[0][0])
        conn.executemany(
            "INSERT INTO deliveries (alert_id, channel, status, attempts, created, next_attempt) "
            "VALUES (?, ?, 'pending', 0, ?, ?)",
            [(alert_id, channel, now, now) for channel in channels],
        )
        self._tally("alerts", source, kind)
        for channel in channels:
            self._tally("deliveries", channel, "queued")
        self._woken.update(channels)
        return alert_id

    def _insert_planned(
        self, conn: Connection, source: str, item_id: int, now: float, plan: AlertPlan
    ) -> int:
        """Insert the alert `plan` describes, of item `item_id`, and its deliveries."""
        kind, updates, changes = plan.kind, plan.updates_item, plan.changes
        return self._insert_alert(conn, source, item_id, now, plan.channels, kind, updates, changes)

    def _story_root(self, conn: Connection, item_id: int) -> tuple[int, str] | None:
        """The item (id, source) that told the story of `item_id` first: the item itself,
        or what it is "also" of or a duplicate of (a bounded walk)."""
        for _ in range(MAX_STORY_HOPS):
            row = conn.execute(
                "SELECT source, kind, of_item, also_of FROM items WHERE id = ?", (item_id,)
            ).fetchone()
            if row is None:
                return None
            source, kind, of_item, also_of = row
            follow = also_of if kind == ALSO else of_item if kind == "duplicate" else None
            if follow is None:
                return item_id, source
            item_id = follow
        return item_id, source

    def _story_channels(self, conn: Connection, root: int) -> set[str]:
        """The channels that were given the story of item `root` already: a delivery of an
        alert of `root`, of the items it updates (a bounded walk back), or of a line of
        another source recorded as also reporting it."""
        rows = conn.execute(
            "WITH RECURSIVE story(id, hops) AS (SELECT CAST(? AS BIGINT), 0 UNION ALL "
            "SELECT i.of_item, s.hops + 1 FROM items i JOIN story s ON i.id = s.id "
            "WHERE i.of_item IS NOT NULL AND s.hops < ?), "
            "told(id) AS (SELECT id FROM story UNION SELECT id FROM items WHERE also_of = ?) "
            "SELECT DISTINCT d.channel FROM told JOIN alerts a ON a.item_id = told.id "
            "JOIN deliveries d ON d.alert_id = a.id",
            (root, MAX_STORY_HOPS, root),
        )
        return {str(row[0]) for row in rows}

    def record_poll(
        self,
        name: str,
        url: str,
        lines: Sequence[Line],
        now: float,
        channels: Sequence[str] | Router,
        *,
        update_channels: Sequence[str] | None = None,
        judge: Judge | None = None,
        backfill: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
        latency: float | None = None,
        across: bool = False,
    ) -> PollRecord:
        """`record_lines` under the policy `record.policy_of` makes of `channels` (names, or
        a Router), `update_channels`, `judge` and `across`: the short form of tests and
        benchmarks (a new story alerts `channels`, an update `update_channels`)."""
        policy = record.policy_of(channels, update_channels, judge, across)
        return self.record_lines(
            name,
            url,
            lines,
            now,
            policy,
            backfill=backfill,
            etag=etag,
            last_modified=last_modified,
            latency=latency,
        )

    def record_lines(
        self,
        name: str,
        url: str,
        lines: Sequence[Line],
        now: float,
        policy: Policy,
        *,
        backfill: int = 0,
        etag: str | None = None,
        last_modified: str | None = None,
        latency: float | None = None,
    ) -> PollRecord:
        """Diff a successful poll's lines against the log and record the result atomically.

        `lines` are in page order, newest first. A line whose fingerprint this source has
        ever shown is not new (it only gets its last_seen and times_seen updated). A new
        line becomes an item, and what kind of item, with which alerts and deliveries, is
        the policy's call (`record.decide`: this method reads what it asks and writes what
        it decides). The source's first successful poll is a silent baseline, of which
        only the `backfill` newest lines alert. Items are inserted oldest first, so alert
        ids follow the story's order, and a line is judged against the older lines of its
        own poll too. With `policy.across`, lines are indexed for every source too.
        """
        with self.transaction() as conn:
            if policy.across and self.engine == "postgresql":
                # Two replicas polling two sources may write one story at once, neither
                # seeing the other's line: the cross-source classification takes turns
                # (until commit; a poll's transaction takes milliseconds).
                conn.execute("SELECT pg_advisory_xact_lock(?)", (ACROSS_LOCK,))
            baseline = self._start_poll(conn, name, url, now)
            known = self._known_items(conn, name, [line.fingerprint for line in lines])
            conn.executemany(
                "UPDATE items SET last_seen = ?, times_seen = times_seen + 1 WHERE id = ?",
                [(now, item_id) for item_id in known.values()],
            )
            fresh = [line for line in lines if line.fingerprint not in known]
            new = self._record_fresh(conn, name, fresh, now, policy, baseline, backfill)
            conn.execute(
                "UPDATE sources SET last_success = ?, consecutive_failures = 0, last_error = NULL,"
                " layout_failures = 0, last_result = 'ok', last_latency = ?,"
                " etag = ?, last_modified = ?, lines_last_poll = ? WHERE name = ?",
                (now, latency, etag, last_modified, len(lines), name),
            )
            self._tally_poll(name, "ok", latency)
        return PollRecord(source=name, baseline=baseline, new=tuple(new), seen=len(known))

    def _start_poll(self, conn: Connection, name: str, url: str, now: float) -> bool:
        """Note a poll of `name` at `now`; True if it is the source's first success."""
        state = conn.execute("SELECT last_success FROM sources WHERE name = ?", (name,)).fetchone()
        self._touch_source(conn, name, url, now)
        return state is None or state[0] is None

    def _record_fresh(
        self,
        conn: Connection,
        source: str,
        fresh: Sequence[Line],
        now: float,
        policy: Policy,
        baseline: bool,
        backfill: int,
    ) -> list[NewItem]:
        """Write the `fresh` lines of a poll (newest first), oldest first, as the policy
        decides each one, in the caller's transaction."""
        from ticker.dedupe import Candidate

        keyed = self._keyed_items(conn, source, [line.key for line in fresh if line.key])
        history = _History(self, conn, source)
        alerting = record.alerting(len(fresh), baseline, backfill)
        new: list[NewItem] = []
        for index in range(len(fresh) - 1, -1, -1):
            line = fresh[index]
            edited = keyed.get(line.key) if line.key else None
            decision = record.decide(
                line,
                now,
                policy,
                history,
                edited=edited,
                baseline=baseline,
                alerts=index < alerting,
            )
            item = self._write_line(conn, source, line, now, decision, policy.across)
            if item is None:
                continue
            if line.key:
                keyed[line.key] = Candidate(item.item_id, line.text)  # a later edit in this poll
            new.append(item)
        return new

    def _write_line(
        self,
        conn: Connection,
        source: str,
        line: Line,
        now: float,
        decision: Decision,
        across: bool,
    ) -> NewItem | None:
        """Write a new line as `decision` says: its item, its index terms (for every source
        too, with `across`), its alerts and their deliveries. None, and nothing written, if
        another replica recorded the line first (unique keys decide: one alert per line)."""
        item_id = self._insert_item(conn, source, line, now, decision)
        if item_id is None:
            return None
        self._index_terms(conn, source, item_id, decision.terms, across)
        if decision.follow_up is not None:
            self._insert_planned(conn, source, item_id, now, decision.follow_up)
        alert_id = None
        if decision.alert is not None:
            alert_id = self._insert_planned(conn, source, item_id, now, decision.alert)
        return NewItem(
            item_id,
            line,
            alert_id,
            decision.kind,
            decision.of_item,
            decision.changes,
            decision.also_of,
        )

    # --- the outbox ----------------------------------------------------------------------

    def pending_deliveries(self, limit: int = 1000, channel: str | None = None) -> list[Delivery]:
        """Pending deliveries (of `channel`, or of all), oldest first, with their alerts."""
        where, args = ("AND d.channel = ? ", (channel,)) if channel is not None else ("", ())
        rows = self.conn.execute(
            "SELECT d.id, d.alert_id, d.channel, d.attempts, d.created, d.next_attempt, "
            "a.source, i.text, i.attribution, i.body, i.url, i.first_seen, a.kind, a.changes, "
            "d.last_attempt, a.boot_id, a.boot_time "
            "FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN items i ON i.id = a.item_id "
            f"WHERE d.status = 'pending' {where}ORDER BY d.id LIMIT ?",
            (*args, limit),
        )
        return [Delivery(**dict(row)) for row in rows]

    def retry_pending_now(self, now: float) -> int:
        """Make every pending delivery due now (a restart is a good moment to retry)."""
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE deliveries SET next_attempt = ? WHERE status = 'pending' "
                "AND next_attempt > ?",
                (now, now),
            ).rowcount

    def claim(self, delivery_ids: Sequence[int], owner: str, now: float, until: float) -> set[int]:
        """Claim the pending deliveries `delivery_ids` for `owner` until `until`, in one
        transaction. A delivery is taken if nobody holds it, `owner` already does, or its
        holder's claim expired before `now`. Returns the ids `owner` now holds: the only
        ones it may send."""
        if not delivery_ids:
            return set()
        marks = ",".join("?" * len(delivery_ids))
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET claimed_by = ?, claim_expires = ? "
                f"WHERE id IN ({marks}) AND status = 'pending' "
                "AND (claimed_by IS NULL OR claimed_by = ? OR claim_expires < ?)",
                (owner, until, *delivery_ids, owner, now),
            )
            rows = conn.execute(
                f"SELECT id FROM deliveries WHERE id IN ({marks}) AND status = 'pending' "
                "AND claimed_by = ?",
                (*delivery_ids, owner),
            ).fetchall()
        return {int(row[0]) for row in rows}

    def claim_owners(self) -> set[str]:
        """The owners holding claims on pending deliveries (expired or not)."""
        rows = self.conn.execute(
            "SELECT DISTINCT claimed_by FROM deliveries "
            "WHERE status = 'pending' AND claimed_by IS NOT NULL"
        )
        return {str(row[0]) for row in rows}

    def release_claims(self, owners: Collection[str], delivery_ids: Sequence[int] = ()) -> int:
        """Release the claims of `owners` (on `delivery_ids` only, if given): a process that
        died, or one giving back what it will not send. Returns how many were released."""
        if not owners:
            return 0
        who = ",".join("?" * len(owners))
        which, ids = "", tuple(delivery_ids)
        if ids:
            which = f" AND id IN ({','.join('?' * len(ids))})"
        with self.transaction() as conn:
            return conn.execute(
                "UPDATE deliveries SET claimed_by = NULL, claim_expires = NULL "
                f"WHERE claimed_by IN ({who}){which}",
                (*owners, *ids),
            ).rowcount

    def write_marks(self, marks: Sequence[Mark]) -> None:
        """Record what became of sending some deliveries, all in one transaction (all or
        none land), releasing their claims."""
        with self.transaction() as conn:
            _count_change(conn)
            for mark in marks:
                self._write_mark(conn, mark)

    def _write_mark(self, conn: Connection, mark: Mark) -> None:
        settled = (
            "claimed_by = NULL, claim_expires = NULL, attempts = attempts + 1, last_attempt = ?, "
            f"changed = {THIS_CHANGE}"
        )
        if mark.outcome == "sent":
            rows = conn.execute(
                f"UPDATE deliveries SET status = 'sent', sent_at = ?, {settled}, "
                "last_error = NULL WHERE id = ? RETURNING channel",
                (mark.at, mark.at, mark.delivery_id),
            ).fetchall()
            for (channel,) in rows:
                self._tally("deliveries", channel, "sent")
        elif mark.outcome == "retry":
            conn.execute(
                f"UPDATE deliveries SET {settled}, last_error = ?, next_attempt = ? WHERE id = ?",
                (mark.at, mark.error, mark.next_attempt, mark.delivery_id),
            )
        else:
            rows = conn.execute(
                f"UPDATE deliveries SET status = 'failed', {settled}, last_error = ? "
                "WHERE id = ? RETURNING channel",
                (mark.at, mark.error, mark.delivery_id),
            ).fetchall()
            for (channel,) in rows:
                self._tally("deliveries", channel, "failed")

    # --- the max_per_minute window (schema 13) --------------------------------------------

    def record_sends(self, channel: str, times: Sequence[float]) -> None:
        """Count messages sent to `channel` at `times` (wall clock) in its rate window, which
        every process on this database shares; the channel's rows more than SENDS_KEPT
        seconds before or after them go (a window is a minute; rows far ahead are from a
        clock stepped back since)."""
        if not times:
            return
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO channel_sends (channel, at) VALUES (?, ?)",
                [(channel, at) for at in times],
            )
            conn.execute(
                "DELETE FROM channel_sends WHERE channel = ? AND (at < ? OR at > ?)",
                (channel, min(times) - SENDS_KEPT, max(times) + SENDS_KEPT),
            )

    def sends_since(self, channel: str, since: float) -> int:
        """How many messages `record_sends` counted for `channel` after `since`."""
        row = self.conn.execute(
            "SELECT count(*) FROM channel_sends WHERE channel = ? AND at > ?", (channel, since)
        ).fetchone()
        return int(row[0])

    def mark_sent(self, delivery_id: int, now: float) -> None:
        """The channel accepted the message."""
        self.write_marks([Mark(delivery_id, "sent", now)])

    def mark_retry(self, delivery_id: int, now: float, error: str, next_attempt: float) -> None:
        """The channel failed; try again at `next_attempt`."""
        self.write_marks([Mark(delivery_id, "retry", now, error, next_attempt)])

    def mark_failed(self, delivery_id: int, now: float, error: str) -> None:
        """Give up on this delivery; the reason is kept."""
        self.write_marks([Mark(delivery_id, "failed", now, error)])

    def mark_expired(self, delivery_ids: Sequence[int], now: float) -> None:
        """These deliveries waited longer than their channel's max_delivery_age: they are
        never sent."""
        with self.transaction() as conn:
            _count_change(conn)
            for delivery_id in delivery_ids:
                rows = conn.execute(
                    "UPDATE deliveries SET status = 'expired', last_attempt = ?, "
                    f"last_error = 'older than max_delivery_age', changed = {THIS_CHANGE} "
                    "WHERE id = ? AND status = 'pending' RETURNING channel",
                    (now, delivery_id),
                ).fetchall()
                for (channel,) in rows:
                    self._tally("deliveries", channel, "expired")

    def cancel_deliveries(
        self, keep: Sequence[str], now: float, reason: str = "channel removed"
    ) -> dict[str, int]:
        """Cancel the pending deliveries of every channel not in `keep` (channels that left
        the config), with `reason`; returns how many per channel."""
        where = "status = 'pending'"
        if keep:  # `NOT IN ()`: SQLite reads it as true, PostgreSQL refuses it
            where += f" AND channel NOT IN ({','.join('?' * len(keep))})"
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT channel, count(*) FROM deliveries WHERE {where} GROUP BY channel",
                tuple(keep),
            ).fetchall()
            _count_change(conn)
            conn.execute(
                f"UPDATE deliveries SET status = 'cancelled', last_error = ?, last_attempt = ?, "
                f"changed = {THIS_CHANGE} WHERE {where}",
                (reason, now, *keep),
            )
            for channel, count in rows:
                self._tally("deliveries", channel, "cancelled", count)
        return {channel: int(count) for channel, count in rows}

    def record_channel_refusal(
        self, channel: str, text: str, now: float, channels: Sequence[str]
    ) -> int | None:
        """Raise a health alert carrying `text` to `channels` because `channel` refused a
        message for good, unless this refusing episode already raised one: an episode lasts
        until `channel` delivers a message again. Returns the new alert's id, or None.

        Like a source's health alert (record_health), its item is no ticker line; it is
        told apart from those by its attribution, CHANNEL_HEALTH, and its source is the
        channel's name. Checked and written in one transaction, so two processes never
        raise it twice."""
        with self.transaction() as conn:
            open_episode = conn.execute(
                "SELECT 1 FROM alerts a JOIN items i ON i.id = a.item_id "
                "WHERE a.source = ? AND a.kind = 'health' AND i.attribution = ? AND a.created >= "
                "coalesce((SELECT max(sent_at) FROM deliveries "
                "WHERE channel = ? AND status = 'sent'), 0) LIMIT 1",
                (channel, CHANNEL_HEALTH, channel),
            ).fetchone()
            if open_episode:
                return None
            cursor = conn.execute(
                "INSERT INTO items (source, fingerprint, text, attribution, body, url, "
                "first_seen, last_seen, kind) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, 'health') "
                "RETURNING id",
                (channel, f"channel-health:{now!r}", text, CHANNEL_HEALTH, text, now, now),
            )
            item_id = int(cursor.fetchall()[0][0])
            alert_id = self._insert_alert(conn, channel, item_id, now, channels, kind="health")
        return alert_id

    # --- reading alerts ------------------------------------------------------------------

    def recent_alerts(
        self,
        limit: int = 20,
        *,
        source: str | None = None,
        grep: str | None = None,
        after_id: int = 0,
        oldest: bool = False,
    ) -> list[AlertView]:
        """The newest `limit` alerts after `after_id` matching the filters, oldest first;
        with `oldest`, the first `limit` after it (to page through them: the web API)."""
        where, params = _alert_filters(source, grep)
        where += ["a.id > ?", f"a.kind != '{ALSO}'"]  # follow-ups: under their story
        params.append(after_id)
        rows = self.conn.execute(
            "SELECT a.id, a.source, i.attribution, i.text, i.body, i.url, i.first_seen, "
            "a.created, a.kind, a.changes, a.item_id, "
            "(SELECT max(e.id) FROM alerts e WHERE e.item_id = a.updates_item) AS updates_id, "
            "(SELECT u.text FROM items u WHERE u.id = a.updates_item) AS updates_text "
            "FROM alerts a JOIN items i ON i.id = a.item_id "
            f"WHERE {' AND '.join(where)} ORDER BY a.id {'ASC' if oldest else 'DESC'} LIMIT ?",
            (*params, limit),
        ).fetchall()
        alerts = [AlertView(**dict(row)) for row in (rows if oldest else reversed(rows))]
        self._attach_deliveries(alerts)
        self._attach_also(alerts)
        return alerts

    def _attach_also(self, alerts: list[AlertView]) -> None:
        """Give each alert the lines of other sources recorded as also reporting its story
        (oldest first), with the follow-ups sent for them."""
        by_item: dict[int, list[AlertView]] = {}
        for alert in alerts:
            by_item.setdefault(alert.item_id, []).append(alert)
        if not by_item:
            return
        marks = ",".join("?" * len(by_item))
        rows = self.conn.execute(
            "SELECT i.id, i.also_of, i.source, i.text, i.first_seen, d.channel, d.status "
            "FROM items i LEFT JOIN alerts a ON a.item_id = i.id AND a.kind = ? "
            "LEFT JOIN deliveries d ON d.alert_id = a.id "
            f"WHERE i.also_of IN ({marks}) ORDER BY i.id, d.channel",
            (ALSO, *by_item),
        )
        views: dict[int, AlsoView] = {}
        for item_id, also_of, source, text, first_seen, channel, status in rows:
            if item_id not in views:
                views[item_id] = AlsoView(source, text, first_seen)
                for alert in by_item[also_of]:
                    alert.also.append(views[item_id])
            if channel is not None:
                views[item_id].deliveries[channel] = status

    def _attach_deliveries(self, alerts: list[AlertView]) -> None:
        if not alerts:
            return
        by_id = {alert.id: alert for alert in alerts}
        marks = ",".join("?" * len(by_id))
        rows = self.conn.execute(
            f"SELECT alert_id, channel, status FROM deliveries "
            f"WHERE alert_id IN ({marks}) ORDER BY channel",
            tuple(by_id),
        )
        for alert_id, channel, status in rows:
            by_id[alert_id].deliveries[channel] = status

    def follows_deliveries(self) -> bool:
        """Whether this database numbers its delivery changes (schema 9 on; a read-only
        store of an older schema cannot be migrated). PostgreSQL's always does."""
        if self.engine == "postgresql":
            return True
        columns = self.conn.execute("PRAGMA table_info(deliveries)").fetchall()
        return any(column[1] == "changed" for column in columns)

    def last_delivery_change(self) -> int:
        """The number of the newest delivery change, 0 if there is none."""
        row = self.conn.execute(f"SELECT {THIS_CHANGE}").fetchone()
        return int(row[0] or 0)

    def delivery_changes(
        self,
        after: int,
        *,
        after_delivery: int | None = None,
        source: str | None = None,
        grep: str | None = None,
        limit: int = 1000,
    ) -> list[DeliveryChange]:
        """The delivery changes after change number `after` (with `after_delivery`: and
        those of number `after` on deliveries after that id, for a reader that stopped
        inside a number, as one transaction numbers all its changes alike), oldest first,
        at most `limit`, of the alerts `recent_alerts` would show with these filters (and
        their follow-ups). Read through the `changed` index: the cost follows what changed,
        not the size of the outbox."""
        where, params = _alert_filters(source, grep)
        if after_delivery is None:
            where.append("d.changed > ?")
            params.append(after)
        else:
            where.append("d.changed >= ? AND (d.changed > ? OR d.id > ?)")
            params += [after, after, after_delivery]
        rows = self.conn.execute(
            "SELECT d.changed, d.id AS delivery_id, d.alert_id, d.channel, d.status, d.attempts, "
            "d.last_attempt AS at, d.last_error AS error, a.kind, a.source, "
            f"CASE WHEN a.kind = '{ALSO}' THEN (SELECT max(e.id) FROM alerts e "
            "WHERE e.item_id = a.updates_item) END AS story_id "
            "FROM deliveries d JOIN alerts a ON a.id = d.alert_id "
            "JOIN items i ON i.id = a.item_id "
            f"WHERE {' AND '.join(where)} ORDER BY d.changed, d.id LIMIT ?",
            (*params, limit),
        )
        return [DeliveryChange(**dict(row)) for row in rows]

    def pending_count(self) -> int:
        """How many deliveries wait to be sent."""
        row = self.conn.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'")
        return int(row.fetchone()[0])

    def last_alert_time(self) -> float | None:
        """When the newest alert was raised, None if there is none."""
        row = self.conn.execute("SELECT created FROM alerts ORDER BY id DESC LIMIT 1").fetchone()
        return float(row[0]) if row else None

    def last_alert_id(self) -> int:
        """The id of the newest alert, 0 if there is none."""
        row = self.conn.execute("SELECT max(id) FROM alerts").fetchone()
        return int(row[0] or 0)

    def counts(self) -> dict[str, Any]:
        """Row counts used by status lines and tests."""
        query = (
            "SELECT (SELECT count(*) FROM items), (SELECT count(*) FROM alerts), "
            "(SELECT count(*) FROM deliveries WHERE status = 'pending'), "
            "(SELECT count(*) FROM deliveries WHERE status = 'failed')"
        )
        items, alerts, pending, failed = self.conn.execute(query).fetchone()
        return {"items": items, "alerts": alerts, "pending": pending, "failed": failed}

    # --- reading service state (`ticker status`) -----------------------------------------

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees the same state of the database,
        even while the daemon writes (SQLite's WAL; PostgreSQL's REPEATABLE READ)."""
        if self.engine == "postgresql":
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def record_service(self, key: str, at: float, detail: str | None) -> None:
        """Record a fact about the daemon (`key` "reload": when, and why it failed or None),
        replacing the previous one of that key."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO service (key, at, detail) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET at = excluded.at, detail = excluded.detail",
                (key, at, detail),
            )

    def service_fact(self, key: str) -> tuple[float, str | None] | None:
        """(when, detail) of the last fact recorded under `key`; None if there is none."""
        row = self.conn.execute("SELECT at, detail FROM service WHERE key = ?", (key,)).fetchone()
        return (float(row["at"]), row["detail"]) if row is not None else None

    def source_states(self) -> list[SourceState]:
        """Every sources row (configured or not any more), by name."""
        rows = self.conn.execute(
            "SELECT name, url, last_poll, last_success, consecutive_failures, last_error, "
            "etag, last_modified, layout_failures, health, last_result, last_latency, next_poll "
            "FROM sources ORDER BY name"
        )
        return [SourceState(**dict(row)) for row in rows]

    def tallies(self) -> list[Tally]:
        """Every counter of the tallies table (Tally), by metric, subject and label: a few
        rows per source and channel, whatever the number of items and alerts."""
        rows = self.conn.execute(
            "SELECT metric, subject, label, value FROM tallies ORDER BY metric, subject, label"
        )
        return [Tally(*row) for row in rows]

    def pending_by_channel(self) -> dict[str, int]:
        """Per channel with any, how many deliveries wait to be sent: a count of the
        partial index of pending deliveries, so a large sent history costs nothing."""
        rows = self.conn.execute(
            "SELECT channel, count(*) FROM deliveries INDEXED BY deliveries_pending "
            "WHERE status = 'pending' GROUP BY channel"
        )
        return {str(channel): int(n) for channel, n in rows}

    def lines_since(self, since: float) -> dict[str, int]:
        """Per source, how many ticker lines (not health alerts) were first seen at or after
        `since`; sources without any are left out."""
        # An item first seen since `since` was last seen since then too: the last_seen index
        # bounds the scan to recent items. `+source` keeps SQLite from grouping along the
        # (source, fingerprint) index instead, a scan of every item (4.7 s at a million).
        rows = self.conn.execute(
            "SELECT source, count(*) FROM items WHERE last_seen >= ? AND first_seen >= ? "
            "AND kind != 'health' GROUP BY +source",
            (since, since),
        )
        return {source: int(n) for source, n in rows}

    def channel_stats(self) -> dict[str, ChannelStats]:
        """Per channel named in the outbox: pending and failed deliveries, the last success,
        and the error of its most recent failed or retrying delivery. Each part is read
        through an index, so a long history of sent deliveries costs nothing."""
        pending = self.pending_by_channel()
        settled: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for channel, status, count in self.conn.execute(
            "SELECT channel, status, count(*) FROM deliveries "
            "WHERE status IN ('failed', 'cancelled', 'expired') GROUP BY channel, status"
        ):
            settled[channel][status] = int(count)
        last_sent = dict(self.conn.execute(_LAST_SENT).fetchall())
        errors = self.conn.execute(
            "SELECT channel, last_error, last_attempt FROM (SELECT channel, last_error, "
            "last_attempt, row_number() OVER (PARTITION BY channel "
            "ORDER BY last_attempt DESC, id DESC) AS newest FROM deliveries "
            "WHERE status IN ('pending', 'failed') AND last_error IS NOT NULL) AS errors "
            "WHERE newest = 1"
        )
        last_error = {channel: (error, at) for channel, error, at in errors}
        stats: dict[str, ChannelStats] = {}
        for channel in sorted(set(pending) | set(settled) | set(last_sent)):
            error, error_at = last_error.get(channel, (None, None))
            counts = settled[channel]
            stats[channel] = ChannelStats(
                channel,
                pending.get(channel, 0),
                counts["failed"],
                last_sent.get(channel),
                error,
                error_at,
                counts["cancelled"],
                counts["expired"],
            )
        return stats

    # --- housekeeping --------------------------------------------------------------------

    def prune(self, before: float) -> dict[str, int]:
        """Delete finished deliveries, alerts and unseen items older than `before`.

        Pending deliveries and the alerts and items they carry are never deleted. An item
        not seen since `before` is forgotten: if that line ever comes back, it is new again.
        """
        with self.transaction() as conn:
            deliveries = conn.execute(
                "DELETE FROM deliveries WHERE status != 'pending' AND created < ?", (before,)
            ).rowcount
            alerts = conn.execute(
                "DELETE FROM alerts WHERE created < ? AND id NOT IN "
                "(SELECT alert_id FROM deliveries)",
                (before,),
            ).rowcount
            forgotten = (
                "SELECT id FROM items WHERE last_seen < ? AND id NOT IN "
                "(SELECT item_id FROM alerts)"
            )
            conn.execute(f"DELETE FROM terms WHERE item_id IN ({forgotten})", (before,))
            # A line "also" of a forgotten item loses the link, never to point at a reused id.
            conn.execute(
                f"UPDATE items SET also_of = NULL WHERE also_of IN ({forgotten})", (before,)
            )
            items = conn.execute(f"DELETE FROM items WHERE id IN ({forgotten})", (before,)).rowcount
        return {"deliveries": deliveries, "alerts": alerts, "items": items}
