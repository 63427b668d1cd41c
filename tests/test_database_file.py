"""The database file: refused at open when it cannot be used (one line naming it, exit
status 3, nothing created or changed), watched while the daemon runs (a damaged page or the
file deleted stops it with one critical line and one health alert), created 0600, checked
and backed up with `ticker db check` / `ticker db backup`. Real files; real `ticker run`
processes against loopback servers for the running cases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Clock, Recorder, lines
from servers import PageServer, Reply, ScriptedSite, SmtpSink, ticker_page
from test_e2e import start_daemon, write_config
from test_service import Harness
from test_service import write_config as service_config

from ticker.cli import EXIT_DATABASE, main
from ticker.daemon import Daemon
from ticker.dbfile import fatal_reason
from ticker.errors import DatabaseBroken
from ticker.fetch import make_client
from ticker.store import SCHEMA_VERSION, Store

pytestmark = pytest.mark.sqlite_only("the SQLite file: damage, WAL, backup and check of the file")

URL = "https://example.org/"
DEADLINE = 40.0  # seconds; every wait below is bounded by it


def config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[ticker]\ndatabase = "ticker.db"\n{extra}', encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def snapshot(directory: Path) -> dict[str, object]:
    """What is in `directory`: each name with its bytes (a directory: its listing)."""
    return {
        p.name: sorted(c.name for c in p.iterdir()) if p.is_dir() else p.read_bytes()
        for p in directory.iterdir()
    }


def ticker_db(path: Path, rows: int = 200) -> None:
    """A real ticker database at `path` holding `rows` lines, closed (no WAL beside it)."""
    store = Store.open(path)
    page = lines(*(f"Correspondent: line number {n} of a long day" for n in range(rows)))
    store.record_poll("site", URL, page, 1.0, ["mail"])
    store.close()


def _directory(path: Path) -> None:
    path.mkdir()


def _not_sqlite(path: Path) -> None:
    path.write_text("this is a config file, not a database\n" * 20, encoding="utf-8")


def _truncated(path: Path) -> None:
    ticker_db(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a copy cut short


def _header_only(path: Path) -> None:
    ticker_db(path)
    path.write_bytes(path.read_bytes()[:60])


def _foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.commit()
    conn.close()


def _newer(path: Path) -> None:
    ticker_db(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


def _empty_beside_a_wal(path: Path) -> None:
    path.write_bytes(b"")
    Path(f"{path}-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(28))  # a WAL header's start


UNUSABLE: dict[str, tuple[Callable[[Path], None], str]] = {
    "directory": (_directory, "is a directory, not a database file"),
    "not-sqlite": (_not_sqlite, "is not a SQLite database"),
    "truncated": (_truncated, "is truncated ("),
    "header-only": (_header_only, "is truncated (60 bytes, less than a header)"),
    "foreign": (_foreign, "is a SQLite database but not ticker's (tables: invoices)"),
    "newer": (_newer, f"has schema {SCHEMA_VERSION + 1}, newer than this ticker"),
    "empty-beside-wal": (_empty_beside_a_wal, "is empty (0 bytes) but ticker.db-wal is beside"),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
@pytest.mark.parametrize("command", ["poll", "tail", "status", "db check", "db backup"])
def test_an_unusable_database_is_one_line_exit_3_and_nothing_changes(
    tmp_path: Path, case: str, command: str
) -> None:
    make, problem = UNUSABLE[case]
    config = config_file(tmp_path)
    database = tmp_path / "ticker.db"
    make(database)
    before = snapshot(tmp_path)
    args = command.split() + (["copy.db"] if command == "db backup" else [])
    result = cli(config, *args)
    assert result.exit_code == EXIT_DATABASE, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("ticker: error:")]
    assert errors == [errors[0]] and errors[0].startswith(f"ticker: error: {database}"), errors
    assert problem in errors[0]
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert snapshot(tmp_path) == before  # nothing created, nothing changed


@pytest.mark.parametrize("case", ["not-sqlite", "empty-beside-wal", "foreign"])
def test_ticker_run_refuses_an_unusable_database_without_a_traceback(
    tmp_path: Path, case: str
) -> None:
    make, problem = UNUSABLE[case]
    source = '[[source]]\nname = "s"\nurl = "http://127.0.0.1:9/"\nselector = "li"\n'
    config = config_file(tmp_path, source)
    make(tmp_path / "ticker.db")
    before = snapshot(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "ticker", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_DATABASE, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"ticker: error: {tmp_path / 'ticker.db'}")
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """`path` made immutable (chattr +i): read-only even for root, which the tests run as
    and which file modes do not stop. Skips where chattr is refused."""
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i refused here: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_database_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    database = tmp_path / "ticker.db"
    ticker_db(database)
    before = snapshot(tmp_path)
    with immutable(database):
        result = cli(config, "poll")
    assert result.exit_code == EXIT_DATABASE, result.output
    assert f"ticker: error: {database}: is read-only" in result.stderr
    assert snapshot(tmp_path) == before


def test_a_database_in_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    config = config_file(tmp_path)
    config.write_text('[ticker]\ndatabase = "state/ticker.db"\n', encoding="utf-8")
    ticker_db(directory / "ticker.db")
    before = snapshot(directory)
    with immutable(directory):
        result = cli(config, "poll")
        new = cli(config.parent / "config.toml", "poll")
    assert result.exit_code == EXIT_DATABASE, result.output
    assert "is in a read-only directory" in result.stderr
    assert new.exit_code == EXIT_DATABASE
    assert snapshot(directory) == before


def test_no_database_in_a_read_only_directory_is_refused_too(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    config = config_file(tmp_path)
    config.write_text('[ticker]\ndatabase = "state/ticker.db"\n', encoding="utf-8")
    with immutable(directory):
        result = cli(config, "poll")
    assert result.exit_code == EXIT_DATABASE, result.output
    assert f"cannot be created: {directory} is read-only" in result.stderr
    assert list(directory.iterdir()) == []


def test_an_empty_file_alone_is_taken_as_a_new_database(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    (tmp_path / "ticker.db").write_bytes(b"")
    assert cli(config, "tail").exit_code == 1  # nothing to read yet: "no database yet"
    result = cli(config, "poll")
    assert result.exit_code == 0, result.output
    store = Store.open_readonly(tmp_path / "ticker.db")
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


# --- 0600 ----------------------------------------------------------------------------


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777)


def test_files_ticker_creates_are_0600_whatever_the_umask(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    database = tmp_path / "ticker.db"
    with umask(0o022):
        assert cli(config, "poll").exit_code == 0
        store = Store.open(database)  # while it is open, the WAL and SHM are there
        store.record_poll("site", URL, lines("A"), 1.0, ["mail"])
        modes = {
            name: mode(tmp_path / name)
            for name in ("ticker.db", "ticker.db-wal", "ticker.db-shm", "ticker.db.lock")
        }
        store.close()
        assert cli(config, "db", "backup", str(tmp_path / "copy.db")).exit_code == 0
        modes["copy.db"] = mode(tmp_path / "copy.db")
        new_dir = tmp_path / "new" / "state"
        nested = Store.open(new_dir / "ticker.db")
        nested.close()
    assert modes == dict.fromkeys(modes, "0o600")
    assert mode(new_dir) == "0o700"


# --- ticker db check / ticker db backup ------------------------------------------------


def corrupt_index(database: Path) -> None:
    """Overwrite the root page of the items' fingerprint index with garbage, as a bad
    sector would, once everything in the WAL is in the file; then write something through
    the WAL, so a process that has the file open drops its cached pages and reads the page
    from disk."""
    conn = sqlite3.connect(database, isolation_level=None, timeout=10)
    deadline = time.monotonic() + DEADLINE
    while conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:  # 1: busy
        assert time.monotonic() < deadline, "the WAL could not be checkpointed"
        time.sleep(0.05)
    root = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' "
        "AND sql LIKE '%fingerprint%'"
    ).fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    with database.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)
        file.flush()
        os.fsync(file.fileno())
    conn.execute("UPDATE sources SET next_poll = next_poll")
    conn.close()


def test_db_check_says_ok_with_the_schema_and_counts(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    ticker_db(tmp_path / "ticker.db", rows=3)
    result = cli(config, "db", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'ticker.db'}: OK",
        f"schema {SCHEMA_VERSION}, this ticker {SCHEMA_VERSION}",
        "integrity_check: ok",
        "3 lines, 0 alerts, 0 pending and 0 failed deliveries",
    ]


def test_db_check_finds_a_damaged_page(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    ticker_db(tmp_path / "ticker.db")
    corrupt_index(tmp_path / "ticker.db")
    result = cli(config, "db", "check")
    assert result.exit_code == EXIT_DATABASE, result.output
    # SQLite stops its check at a page it cannot read at all: the error names the damage.
    assert f"ticker: error: {tmp_path / 'ticker.db'}: is damaged (" in result.stderr


def test_db_backup_copies_a_database_in_use_and_never_overwrites(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    database = tmp_path / "ticker.db"
    ticker_db(database, rows=5)
    writer = Store.open(database)  # the daemon, with rows still in its WAL
    writer.record_poll("site", URL, lines("Hamas: the newest line"), 2.0, ["mail"])
    target = tmp_path / "backups" / "ticker-1.db"
    target.parent.mkdir()
    result = cli(config, "db", "backup", str(target))
    assert result.exit_code == 0, result.output
    copy = Store.open_readonly(target)
    assert copy.counts()["items"] == 6 and copy.integrity_problems() == []
    copy.close()
    assert sorted(p.name for p in target.parent.iterdir()) == ["ticker-1.db"]  # no WAL, no .part
    again = cli(config, "db", "backup", str(target))
    assert again.exit_code == 1 and "exists; give --force" in again.stderr
    writer.record_poll("site", URL, lines("Hamas: one more"), 3.0, ["mail"])
    forced = cli(config, "db", "backup", "--force", str(target))
    assert forced.exit_code == 0, forced.output
    copy = Store.open_readonly(target)
    assert copy.counts()["items"] == 7
    copy.close()
    writer.close()


def main_file_alone(database: Path, tmp_path: Path) -> Store:
    """The database file copied alone, as a naive `cp ticker.db` backup would (no -wal, no
    -shm beside the copy), opened read-only."""
    copy = tmp_path / "copied" / "ticker.db"
    copy.parent.mkdir()
    copy.write_bytes(database.read_bytes())
    return Store.open_readonly(copy)


def test_a_writer_closed_while_a_reader_is_open_leaves_the_file_alone_complete(
    tmp_path: Path,
) -> None:
    database = tmp_path / "ticker.db"
    writer = Store.open(database)
    writer.record_poll("site", URL, lines("old"), 1.0, ["mail"])
    writer.record_poll("site", URL, lines("Hamas: the newest line", "old"), 2.0, ["mail"])
    reader = Store.open_readonly(database)  # `ticker tail -f` in another terminal
    assert reader.counts()["alerts"] == 1
    writer.close()  # the daemon stops; the reader stays
    copy = main_file_alone(database, tmp_path)
    assert copy.counts() == {"items": 2, "alerts": 1, "pending": 1, "failed": 0}
    assert copy.integrity_problems() == []
    assert Path(f"{database}-wal").stat().st_size == 0  # emptied (TRUNCATE), not left full
    copy.close()
    reader.close()


def test_a_reader_holding_an_old_snapshot_leaves_the_rest_to_the_next_checkpoint(
    tmp_path: Path,
) -> None:
    database = tmp_path / "ticker.db"
    writer = Store.open(database)
    writer.record_poll("site", URL, lines("old"), 1.0, ["mail"])
    reader = Store.open_readonly(database)
    with reader.read_snapshot():  # a read transaction held across the last write
        reader.counts()
        writer.record_poll("site", URL, lines("Hamas: the newest line", "old"), 2.0, ["mail"])
        assert writer.checkpoint() is False  # TRUNCATE gave up; PASSIVE copied what it could
        writer.close()  # no error, no hang: the frames stay in the WAL, safe
    assert Path(f"{database}-wal").stat().st_size > 0
    Store.open(database).close()  # the next writer's close copies them
    copy = main_file_alone(database, tmp_path)
    assert copy.counts()["alerts"] == 1
    copy.close()
    reader.close()


@pytest.mark.e2e
def test_ticker_poll_with_a_reader_open_leaves_the_database_file_complete(
    tmp_path: Path, seed_lines: list[str]
) -> None:
    pages = [ticker_page(seed_lines[:3]), ticker_page(["Hamas: a new line", *seed_lines[:3]])]
    database = tmp_path / "ticker.db"
    with PageServer(pages) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        command = [sys.executable, "-m", "ticker", "--config", str(config), "poll"]
        first = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        reader = Store.open_readonly(database)
        reader.counts()
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
    copy = main_file_alone(database, tmp_path)
    assert copy.counts()["alerts"] == 1 and copy.counts()["items"] == 4
    copy.close()
    reader.close()


# --- watched while running ---------------------------------------------------------------


def run_until_exit(daemon: subprocess.Popen[str]) -> str:
    try:
        output, _ = daemon.communicate(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        daemon.kill()
        pytest.fail(f"ticker run did not stop by itself:\n{daemon.communicate()[0]}")
    return output


def wait_for_baseline(site: PageServer, daemon: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while site.requests < 2:  # the second poll began: the first one's baseline is written
        assert daemon.poll() is None, daemon.communicate()[0]
        assert time.monotonic() < deadline, "no second poll"
        time.sleep(0.05)


STOPPED = "ticker: database unusable, ticker stopped"


@pytest.mark.e2e
@pytest.mark.parametrize("fault", ["damaged page", "file deleted", "file replaced"])
def test_a_database_going_bad_under_the_daemon_stops_it_with_one_health_alert(
    tmp_path: Path, seed_lines: list[str], fault: str
) -> None:
    database = tmp_path / "ticker.db"
    with PageServer([ticker_page(seed_lines[:4])]) as site, SmtpSink() as smtp:
        daemon = start_daemon(write_config(tmp_path, site.url, smtp.url))
        wait_for_baseline(site, daemon)
        if fault == "damaged page":
            corrupt_index(database)
        elif fault == "file deleted":
            database.unlink()
        else:  # e.g. an old backup moved over it
            ticker_db(tmp_path / "old.db", rows=1)
            os.replace(tmp_path / "old.db", database)
        output = run_until_exit(daemon)
    assert daemon.returncode == EXIT_DATABASE, output
    critical = [line for line in output.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1, output
    expected = {
        "damaged page": "is damaged (database disk image is malformed",
        "file deleted": "was deleted while ticker had it open",
        "file replaced": "was replaced by another file while ticker had it open",
    }[fault]
    assert expected in critical[0]
    assert [str(m["Subject"]) for m in smtp.messages] == [STOPPED], output
    assert expected in smtp.bodies()[0]
    assert output.splitlines()[-1].startswith(f"ticker: error: {database}")
    assert "Traceback" not in output
    if fault == "file deleted":
        assert not database.exists()  # not re-created empty


@pytest.mark.e2e
def test_ticker_poll_on_a_damaged_database_exits_3_with_one_line(
    tmp_path: Path, seed_lines: list[str]
) -> None:
    pages = [ticker_page(seed_lines[:3]), ticker_page(["Hamas: a new line", *seed_lines[:3]])]
    with PageServer(pages) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        command = [sys.executable, "-m", "ticker", "--config", str(config), "poll"]
        first = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        corrupt_index(tmp_path / "ticker.db")
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert second.returncode == EXIT_DATABASE, second.stderr
    errors = [line for line in second.stderr.splitlines() if line.startswith("ticker: error:")]
    assert len(errors) == 1 and "is damaged (database disk image is malformed" in errors[0]
    assert "Traceback" not in second.stderr
    assert smtp.messages == []


# --- fatal or passing: which SQLite errors stop the daemon ------------------------------


def sqlite_error(message: str, name: str) -> sqlite3.Error:
    """A SQLite error as the sqlite3 module raises it, with its result code's name."""
    kind = sqlite3.DatabaseError if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") else None
    error = (kind or sqlite3.OperationalError)(message)
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("message", "name", "fatal"),
    [
        ("database disk image is malformed", "SQLITE_CORRUPT", True),
        ("file is not a database", "SQLITE_NOTADB", True),
        ("disk I/O error", "SQLITE_IOERR_WRITE", True),
        ("attempt to write a readonly database", "SQLITE_READONLY", True),
        ("database is locked", "SQLITE_BUSY", False),
        ("database table is locked", "SQLITE_LOCKED", False),
        ("database or disk is full", "SQLITE_FULL", False),
        ("database or disk is full", "", False),  # no code: an error simulated by a test
    ],
)
def test_which_sqlite_errors_are_fatal(message: str, name: str, fatal: bool) -> None:
    assert (fatal_reason(sqlite_error(message, name)) is not None) is fatal


def test_a_real_notadb_error_is_fatal(tmp_path: Path) -> None:
    (tmp_path / "x.db").write_bytes(b"not a database at all" * 50)
    conn = sqlite3.connect(tmp_path / "x.db")
    with pytest.raises(sqlite3.DatabaseError) as raised:
        conn.execute("SELECT * FROM sqlite_master").fetchall()
    conn.close()
    assert fatal_reason(raised.value) == "is damaged (file is not a database, SQLITE_NOTADB)"


def failing_writes(store: Store, error: sqlite3.Error, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every poll's write raises `error`, as the disk or the file would make it."""

    def record_lines(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(store, "record_lines", record_lines)


def test_an_io_error_stops_the_daemon_with_one_critical_line_and_one_health_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    error = sqlite_error("disk I/O error", "SQLITE_IOERR_WRITE")
    recorder = Recorder()
    with ScriptedSite([Reply(body=ticker_page(["Hamas: a line"]))]) as site:
        config = service_config(tmp_path, site.url, source_extra="interval = 1")
        store = Store.open(config.settings.database)
        failing_writes(store, error, monkeypatch)

        async def run() -> None:
            async with make_client(config.settings) as client:
                daemon = Daemon(config, store, client, recorder)
                await asyncio.wait_for(daemon.run(asyncio.Event()), DEADLINE)

        with pytest.raises(DatabaseBroken, match="cannot be read or written"):
            asyncio.run(run())
    store.close()
    critical = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert len(critical) == 1 and "disk I/O error" in critical[0].getMessage()
    assert [m.title for m in recorder.messages] == [STOPPED]
    assert "disk I/O error" in recorder.messages[0].body


def test_a_locked_database_does_not_stop_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    error = sqlite_error("database is locked", "SQLITE_BUSY")
    pages = [ticker_page(["Hamas: a line"]), ticker_page(["Hamas: a new line", "Hamas: a line"])]
    with ScriptedSite([Reply(body=page) for page in pages]) as site:
        harness = Harness(service_config(tmp_path, site.url), Clock())
        harness.run(1)  # the baseline
        failing_writes(harness.store, error, monkeypatch)
        harness.run(2)
    harness.store.close()
    assert not [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert "the poll will be repeated" in caplog.text
    assert harness.sender.messages == []
