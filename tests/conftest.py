from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ticker.config import Config, Source, parse_config
from ticker.fetch import make_client
from ticker.lines import Line
from ticker.notify import Failure, Limits, Message
from ticker.poll import PollOutcome, fetch_lines, poll_source
from ticker.store import MIGRATIONS, Store

DATA = Path(__file__).parent / "data"


@pytest.fixture
def seed_lines() -> list[str]:
    """The ten lines of the seed page's BREAKING block, in page order."""
    return (DATA / "seed_breaking_lines.txt").read_text(encoding="utf-8").splitlines()


FAKE_HOSTS = {"localhost": "127.0.0.1", "intranet.internal.test": "10.0.0.7"}


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """`config check` resolves source names: from FAKE_HOSTS, never through the network
    (any other name does not resolve)."""
    import socket

    from ticker import targets

    def lookup(host: str, result: list[object]) -> None:
        if host in FAKE_HOSTS:
            result.append([(socket.AF_INET, socket.SOCK_STREAM, 6, "", (FAKE_HOSTS[host], 0))])
        else:
            result.append(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))

    monkeypatch.setattr(targets, "_lookup", lookup)


@pytest.fixture(autouse=True)
def no_boot_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, stores have no boot clock unless a test gives them one
    (`store.boot_clock = clock.boot`): alerts are not stamped, and every age is a wall-clock
    age, moved by the test's Clock, as before boot stamps. The machine's CLOCK_BOOTTIME
    would not move with a Clock, and an alert made days old on the wall Clock would be
    seconds old. Processes a test starts (`ticker run`) read the real one."""
    from ticker import clock

    monkeypatch.setattr(clock, "boot_clock", lambda: None)


ENGINES = ["sqlite", "postgres"]
ENGINE_VARIABLE = "TICKER_TEST_ENGINE"  # "postgres": the whole suite on PostgreSQL


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=("sqlite", "postgres"),
        default=None,
        help=f"the database every test gets (default ${ENGINE_VARIABLE}, else sqlite; "
        "the store-level tests run on both engines unless postgres is asked for)",
    )


def pytest_configure(config: pytest.Config) -> None:
    global SUITE_ENGINE
    chosen = config.getoption("--engine") or os.environ.get(ENGINE_VARIABLE) or "sqlite"
    if chosen not in ENGINES:
        raise pytest.UsageError(f"{ENGINE_VARIABLE}={chosen!r}: expected sqlite or postgres")
    SUITE_ENGINE = chosen
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): the test is about SQLite itself (the file, PRAGMAs, the "
        "instance lock file...); skipped, with the reason, when the suite runs on PostgreSQL",
    )


SUITE_ENGINE = "sqlite"  # set by pytest_configure: "sqlite" or "postgres"


def on_postgres() -> bool:
    """Whether this session runs the whole suite on PostgreSQL (--engine postgres)."""
    return SUITE_ENGINE == "postgres"


def sqlite_only(reason: str) -> None:
    """Skip the running test, with `reason`, when the suite runs on PostgreSQL: for shared
    helpers that only make sense on SQLite (an older schema's file, SQLite's VM steps)."""
    if on_postgres():
        pytest.skip(f"SQLite only: {reason}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, tests marked sqlite_only skip with their reason."""
    if not on_postgres():
        return
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if mark is not None:
            reason = mark.args[0] if mark.args else mark.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`engine` (hence `database` and `store`): both engines, or PostgreSQL only when the
    whole suite runs on it (not twice)."""
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", ["postgres"] if on_postgres() else ENGINES)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """Each engine in turn (pytest_generate_tests): a test that uses `store` (or
    `database`) runs on both."""
    return str(request.param)


_server: Any = None  # the session's PostgreSQL server, started at first use
_unavailable: str | None = None  # why it cannot start here (a skip reason)
_made: list[str] = []  # conninfos database_for made for the running test, dropped after it
_named: dict[tuple[Path, str], tuple[str, Any]] = {}  # database_for's: conninfo, target


def session_server() -> Any:
    """The session's PostgreSQL server (tests/postgres.py), started at first use; the test
    skips, with the reason, where it cannot start."""
    global _server, _unavailable
    if _server is None and _unavailable is None:
        import postgres

        _unavailable = postgres.unavailable()
        if _unavailable is None:
            try:
                _server = postgres.PostgresServer.start()
            except postgres.ServerUnavailable as exc:
                _unavailable = str(exc)  # not tried again by every test
    if _server is None:
        pytest.skip(_unavailable)
    return _server


def pytest_sessionfinish(session: pytest.Session) -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


def database_for(tmp_path: Path, name: str = "t.db") -> Any:
    """The database a test's config names, on the suite's engine: the SQLite file
    tmp_path/name, or (--engine postgres) a fresh PostgreSQL database on the session's
    server, the same one for the same (tmp_path, name) within a test, dropped after it.
    What `[ticker] database` and `Store.open` take; `str()` of it goes in a config file."""
    if not on_postgres():
        return tmp_path / name
    key = (tmp_path, name)
    if key not in _named:
        from ticker.dburl import PostgresTarget

        conninfo = session_server().create_database()
        _made.append(conninfo)
        _named[key] = (conninfo, PostgresTarget.from_conninfo(conninfo))
    return _named[key][1]


def database_rows(database: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any] | None:
    """The rows of `sql` (written as the Store writes it, for both engines) read from the
    database `database` as `ticker tail` would (read only); None while there is none yet, or
    it is not ready (another process is making it)."""
    from ticker.errors import StoreError
    from ticker.store import DATABASE_ERRORS

    try:
        reader = Store.open_readonly(database)
    except (*DATABASE_ERRORS, StoreError):
        return None
    try:
        return [tuple(row) for row in reader.conn.execute(sql, params).fetchall()]
    except DATABASE_ERRORS:
        return None
    finally:
        reader.close()


def baselined(database: Any) -> bool:
    """Whether a process has polled a source of `database` successfully (its baseline)."""
    rows = database_rows(database, "SELECT last_success FROM sources")
    return bool(rows) and rows[0][0] is not None


def untouched(database: Any) -> bool:
    """Whether nothing was written to `database`: no SQLite file, or a PostgreSQL database
    still without a table (ticker never migrated it)."""
    if isinstance(database, Path):
        return not database.exists()
    import psycopg

    with psycopg.connect(database.conninfo()) as conn:
        (tables,) = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()  # type: ignore[misc]
    return tables == 0


def database_dump(database: Any) -> str:
    """Everything stored in `database`, as text: SQLite's SQL dump of the file, or every
    row of every table of the PostgreSQL database (for tests that a secret is stored
    nowhere)."""
    if isinstance(database, Path):
        conn = sqlite3.connect(database)
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    tables = database_rows(
        database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    assert tables, f"no tables in {database}"
    dump = []
    for (table,) in tables:
        dump.append(f"-- {table}")
        dump.extend(
            repr(tuple(row)) for row in database_rows(database, f"SELECT * FROM {table}") or []
        )
    return "\n".join(dump)


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    """Drop the PostgreSQL databases made for the test that ends. Those a fixture of a wider
    scope made before it (a module's web site) are kept for the tests after it, until the
    server stops at the end of the session."""
    kept = len(_made)
    yield
    while len(_made) > kept:
        conninfo = _made.pop()
        _server.drop_database(conninfo)
        for key in [k for k, (made, _target) in _named.items() if made == conninfo]:
            del _named[key]


@pytest.fixture
def database(engine: str, tmp_path: Path) -> Any:
    """Where the test's database is, on `engine`: a SQLite file in tmp_path, or a fresh
    PostgreSQL database on the session's server (the test skips, with the reason, where
    the server cannot start); what `Store.open` and `[ticker] database` take."""
    if engine == "sqlite":
        return tmp_path / "ticker.db"
    from ticker.dburl import PostgresTarget

    conninfo = session_server().create_database()
    _made.append(conninfo)
    return PostgresTarget.from_conninfo(conninfo)


@pytest.fixture
def store(database: Any) -> Iterator[Store]:
    """An open, migrated Store on each engine in turn."""
    db = Store.open(database)
    yield db
    db.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A Store on SQLite only: for tests that reach into SQLite itself (PRAGMAs, vm_steps,
    the file); they skip when the suite runs on PostgreSQL."""
    sqlite_only("reaches into SQLite itself (sqlite_store)")
    db = Store.open(tmp_path / "ticker.db")
    yield db
    db.close()


def database_at(path: Path, version: int) -> sqlite3.Connection:
    """A database at `path` as a ticker of schema `version` left it (every migration up to
    that one), for a test of what the next ones do; an autocommit connection to it. SQLite
    only: the test skips when the suite runs on PostgreSQL (its schema has no history)."""
    sqlite_only("an older SQLite schema's database (database_at)")
    conn = sqlite3.connect(path, isolation_level=None)
    for step in range(1, version + 1):
        MIGRATIONS[step](conn)
        conn.execute(f"PRAGMA user_version = {step}")
    return conn


class Clock:
    """A clock the test moves by hand: `clock.now += 30`. Its boot clock (`boot`, for
    `store.boot_clock`) moves with it, except by `step`s of the wall clock, and starts
    again at a `reboot`.

    A Clock stands still while real time passes. A running Daemon measures its waits on
    the real monotonic clock and checks that the wall clock keeps pace with it (a step of
    more than a second moves every job: ticker.scheduler.SteadyScheduler), so a test that runs
    a Daemon gives it a `LiveClock`, which also moves with real time."""

    UPTIME = 5000.0  # seconds since boot when a Clock is made

    def __init__(self, now: float = 1_764_000_000.0) -> None:
        self.now = now
        self.boot_id = "boot-1"
        self._boot_offset = now - self.UPTIME  # `now` minus the boot clock

    def __call__(self) -> float:
        return self.now

    def step(self, seconds: float) -> None:
        """Step the wall clock (an operator, NTP after a long outage): the boot clock
        stays where it is."""
        self.now += seconds
        self._boot_offset += seconds

    def reboot(self, uptime: float = 30.0) -> None:
        """The machine rebooted: a new boot id, and a boot clock `uptime` s from zero."""
        self.boot_id = f"boot-{int(self.boot_id.rpartition('-')[2]) + 1}"
        self._boot_offset = self.now - uptime

    def boot(self) -> tuple[str, float]:
        """The boot clock: (boot id, seconds since boot)."""
        return self.boot_id, self.now - self._boot_offset


class LiveClock(Clock):
    """A Clock that also moves with real (monotonic) time, as a wall clock does: for
    tests that run a Daemon, whose scheduler would take a clock standing still for one
    stepped back (on a loaded machine, more than a second can pass between two looks)."""

    def __init__(self, now: float = 1_764_000_000.0) -> None:
        super().__init__(now)
        self._started = time.monotonic()

    def __call__(self) -> float:
        return self.now + (time.monotonic() - self._started)

    def boot(self) -> tuple[str, float]:
        """The boot clock, moving with real time too."""
        return self.boot_id, self() - self._boot_offset


class Recorder:
    """A Sender that accepts every message (unless told to refuse) and records it."""

    def __init__(self, max_chars: int = 0) -> None:
        self.messages: list[Message] = []
        self.refuse: list[Failure] = []
        self.limit = max_chars

    def send(self, channel: str, message: Message) -> Failure | None:
        if self.refuse:
            return self.refuse.pop(0)
        self.messages.append(message)
        return None

    def limits(self, channel: str) -> Limits:
        return Limits(chars=self.limit)


def lines(*texts: str) -> list[Line]:
    """Lines in page order (newest first), as a parser returns them."""
    return [Line.from_text(text) for text in texts]


# A channel that never answers: port 9 (discard) on loopback has no listener.
SILENT_CHANNEL = {"name": "me", "urls": ["json://127.0.0.1:9/"]}


def source_config(tmp_path: Path, *sources: dict[str, Any], **ticker_settings: Any) -> Config:
    """A validated config of `sources` (tables as `[[source]]` gives them), its database
    database_for(tmp_path), `ticker_settings` in `[ticker]`, and one channel that never answers."""
    data = {
        "ticker": {"database": str(database_for(tmp_path)), **ticker_settings},
        "source": list(sources),
        "channel": [dict(SILENT_CHANNEL)],
    }
    return parse_config(data, tmp_path / "config.toml")


def config_source(config: Config, name: str | None = None) -> Source:
    """The source called `name`; None: the config's only source."""
    if name is not None:
        return config.source(name)
    (only,) = config.sources  # a config of several sources must name one
    return only


def poll_now(config: Config, store: Store, clock: Clock, name: str | None = None) -> PollOutcome:
    """One poll_source of source `name` (None: the only source) as the daemon runs it, in
    a client made from the config's settings."""
    source = config_source(config, name)

    async def run() -> PollOutcome:
        async with make_client(config.settings) as client:
            return await poll_source(config, source, client, store, clock)

    return asyncio.run(run())


def fetch_now(config: Config, name: str | None = None) -> list[Line]:
    """The lines of source `name` (None: the only source) as fetch_lines reads them
    unconditionally (no ETag sent, so never a 304), in a client made from the settings."""
    source = config_source(config, name)

    async def run() -> list[Line] | None:
        async with make_client(config.settings) as client:
            _page, found = await fetch_lines(client, source, config.settings.max_page_bytes)
        return found

    found = asyncio.run(run())
    assert found is not None, "an unconditional request was answered 304"
    return found


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """systemd's end of sd_notify: a bound datagram socket in tmp_path that NOTIFY_SOCKET
    names (and no watchdog); a read waits at most a second."""
    for name in ("WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "n"  # short: sun_path holds at most 107 bytes
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(1.0)  # a datagram that was sent is already queued: generous
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        yield sock


def queued_datagrams(sock: socket.socket) -> list[list[str]]:
    """The fields of every datagram already queued on `sock`, without waiting for more."""
    timeout = sock.gettimeout()
    datagrams = []
    sock.setblocking(False)
    try:
        while True:
            datagrams.append(sock.recv(65536).decode("utf-8").split("\n"))
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(timeout)
    return datagrams


def vm_steps(store: Store, read: Callable[[], object]) -> int:
    """SQLite virtual-machine steps (in thousands, SQLite's progress callback) that `read`
    costs on `store`'s connection: a measure of work that does not depend on the machine's
    load, for tests that a read costs the same whatever the size of the database. SQLite
    only: the test skips when the suite runs on PostgreSQL."""
    sqlite_only("counts SQLite's virtual-machine steps (vm_steps)")
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.conn.set_progress_handler(count, 1000)
    try:
        read()
    finally:
        store.conn.set_progress_handler(None, 0)
    return steps


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """One real PostgreSQL server for the session (tests/postgres.py), stopped at its end;
    the test skips, with the reason, where the server's binaries or psycopg are missing, or
    this process may not run the server as an unprivileged user."""
    return session_server()


@pytest.fixture
def postgres_db(postgres_server: Any) -> Iterator[str]:
    """The conninfo of a fresh, empty database on the session's server, dropped after."""
    conninfo = postgres_server.create_database()
    yield conninfo
    postgres_server.drop_database(conninfo)
