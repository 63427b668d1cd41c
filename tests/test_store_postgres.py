"""The PostgreSQL engine (ticker.pg) beyond the tests every engine runs (the `store` fixture):
two writers at once, the database URL in the config, its password kept out of sight, the
maintenance that is PostgreSQL's own, a lost connection, and `ticker run` end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import lines
from servers import PageServer, SmtpSink, ticker_page
from test_e2e import wait_until

from ticker.cli import main
from ticker.config import load_config
from ticker.dburl import PostgresTarget
from ticker.errors import DatabaseMaintenanceElsewhere, DatabaseUnreachable
from ticker.redact import Redactor, redact_url
from ticker.store import DATABASE_ERRORS, Store

URL = "https://example.org/"
DEADLINE = 40.0  # seconds; every wait below is bounded by it


@pytest.fixture
def target(postgres_db: str) -> PostgresTarget:
    """A fresh PostgreSQL database (the test skips, with the reason, where none can start)."""
    return PostgresTarget.from_conninfo(postgres_db)


@pytest.fixture
def pg(target: PostgresTarget) -> Iterator[Store]:
    store = Store.open(target)
    yield store
    store.close()


def test_the_schema_is_made_once_and_opening_again_changes_nothing(target: PostgresTarget) -> None:
    first = Store.open(target)
    first.record_poll("site", URL, lines("a"), 1.0, ["mail"])
    first.close()
    again = Store.open(target)  # migrate finds the schema current
    assert (again.engine, again.schema_version()) == ("postgresql", again.schema_version())
    assert again.counts()["items"] == 1
    again.close()


def test_a_line_two_replicas_record_at_once_becomes_one_alert(target: PostgresTarget) -> None:
    """Two replicas record the same new line of one source at the same moment: replica two
    has inserted its item and not committed when replica one's poll reads the known lines
    (it does not see it) and inserts the line too. The unique key makes one wait; when two
    commits, one's insert does nothing, and one records no item and no alert for it."""
    one, two, watch = Store.open(target), Store.open(target), Store.open(target)
    one.record_poll("site", URL, lines("old"), 1.0, ["mail"])  # the baseline, shared
    two.conn.execute("BEGIN")
    two.conn.execute(
        "INSERT INTO items (source, fingerprint, text, first_seen, last_seen) "
        "VALUES ('site', ?, 'new', 2.0, 2.0)",
        (lines("new")[0].fingerprint,),
    )
    results: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: results.setdefault(
            "one", one.record_poll("site", URL, lines("new", "old"), 2.0, ["mail"])
        )
    )
    first.start()
    _wait_for_a_waiter(watch, first)
    two.conn.execute("COMMIT")
    first.join(timeout=DEADLINE)
    assert not first.is_alive()
    assert results["one"].new == ()  # another replica recorded it: no item, no alert here
    assert watch.counts() == {"items": 2, "alerts": 0, "pending": 0, "failed": 0}
    for store in (one, two, watch):
        store.close()


def _wait_for_a_waiter(watch: Store, thread: threading.Thread) -> None:
    """Until a session of the database waits for a lock, or `thread` ended (bounded)."""
    deadline = time.monotonic() + DEADLINE
    while thread.is_alive() and not _waiting_on_a_lock(watch):
        assert time.monotonic() < deadline, "the other replica neither ended nor waited"
        time.sleep(0.01)  # polling the server's view, not timing anything


def test_cross_source_polls_take_turns_on_an_advisory_lock(target: PostgresTarget) -> None:
    """With across_sources, two replicas poll two sources that tell one story at the same
    moment. Replica one has written source a's line and not committed yet when replica two
    polls source b: two waits on the cross-source lock until one commits, then reads a's
    line and records b's as "also" it, not as a second new story (one alert)."""
    from ticker.dedupe import Judge

    judge = Judge()
    one, two, watch = Store.open(target), Store.open(target), Store.open(target)
    for name in ("a", "b"):
        one.record_poll(name, URL, lines("filler"), 1.0, ["mail"], judge=judge, across=True)
    story = "Hamas: The delegation arrived in Cairo for the ceasefire talks on Sunday"
    results: dict[str, Any] = {}
    second = threading.Thread(
        target=lambda: results.setdefault(
            "b",
            two.record_poll(
                "b", URL, lines(story, "filler"), 3.0, ["mail"], judge=judge, across=True
            ),
        )
    )
    execute = one.conn.execute

    def before_commit(sql: str, parameters: Any = ()) -> Any:
        if sql == "COMMIT" and not second.is_alive() and "b" not in results:
            second.start()  # b's poll, while a's line is written but not committed
            _wait_for_a_waiter(watch, second)
        return execute(sql, parameters)

    one.conn.execute = before_commit  # type: ignore[method-assign]
    first = one.record_poll(
        "a", URL, lines(story, "filler"), 2.0, ["mail"], judge=judge, across=True
    )
    second.join(timeout=DEADLINE)
    assert not second.is_alive()
    assert [item.kind for item in first.new] == ["new"]
    assert [item.kind for item in results["b"].new] == ["also"]
    assert len([a for a in watch.recent_alerts() if a.kind == "new"]) == 1
    for store in (one, two, watch):
        store.close()


def _waiting_on_a_lock(watch: Store) -> bool:
    """Whether a session of this database waits for a lock (the advisory one, here)."""
    row = watch.conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    ).fetchone()
    return int(row[0]) > 0


def test_statements_are_translated_once_percent_signs_included(pg: Store) -> None:
    assert pg.conn.execute("SELECT '100%'").fetchone()[0] == "100%"  # sent as it is
    row = pg.conn.execute("SELECT ? || '%' AS share", ("5",)).fetchone()
    assert (row[0], row["share"], dict(row)) == ("5%", "5%", {"share": "5%"})


def test_conninfo_is_what_leases_connect_takes(pg: Store, tmp_path: Path) -> None:
    from ticker import leases

    conn = leases.connect(pg.conninfo)  # the store's database, with its password if any
    try:
        assert leases.migrate(conn) >= 1
    finally:
        conn.close()
    sqlite = Store.open(tmp_path / "t.db")
    with pytest.raises(ValueError, match="SQLite"):
        _ = sqlite.conninfo
    sqlite.close()


def test_maintenance_of_sqlite_says_it_is_postgresqls_job(pg: Store) -> None:
    with pytest.raises(DatabaseMaintenanceElsewhere, match="pg_dump"):
        pg.backup_to(Path("/nonexistent/copy.db"))
    with pytest.raises(DatabaseMaintenanceElsewhere, match="pg_amcheck"):
        pg.integrity_problems()
    pg.check_file()  # nothing to check: no file of ours
    assert pg.checkpoint() is True


def test_a_connection_the_server_ended_is_database_unreachable(
    pg: Store, postgres_server: Any
) -> None:
    pg.record_poll("site", URL, lines("a"), 1.0, ["mail"])
    with pytest.raises(DatabaseUnreachable) as caught, pg.transaction() as conn:
        assert postgres_server.terminate("ticker") >= 1  # in the middle of a transaction
        conn.execute("SELECT 1")
    assert isinstance(caught.value, DATABASE_ERRORS)
    assert "cannot be reached" in str(caught.value)


def test_a_lost_connection_is_dialled_again_at_the_next_call(
    pg: Store, postgres_server: Any
) -> None:
    """The server ended the store's connection (a restart, an administrator, a network
    cut) while it lay idle: the call that finds it gone begins again on a new connection
    (a BEGIN or a read may go twice; tests/test_failover.py), so a replica that was cut off
    comes back without a restart, and one whose idle connection was dropped loses nothing."""
    pg.record_poll("site", URL, lines("a"), 1.0, ["mail"])
    assert postgres_server.terminate("ticker") >= 1
    record = pg.record_poll("site", URL, lines("b", "a"), 3.0, ["mail"])
    assert [item.line.text for item in record.alerts] == ["b"]
    assert [alert.text for alert in pg.recent_alerts(10)] == ["b"]


def test_a_transaction_cut_in_the_middle_writes_nothing_and_the_next_one_does(
    pg: Store, postgres_server: Any
) -> None:
    with pytest.raises(DatabaseUnreachable), pg.transaction() as conn:
        conn.execute("INSERT INTO service (key, at, detail) VALUES ('probe', 1, 'x')")
        assert postgres_server.terminate("ticker") >= 1
        # Not sent on a new connection outside the transaction (it would land alone).
        conn.execute("INSERT INTO service (key, at, detail) VALUES ('half', 1, 'x')")
    assert pg.service_fact("probe") is None and pg.service_fact("half") is None
    pg.record_service("probe", 2.0, "back")
    assert pg.service_fact("probe") == (2.0, "back")


def test_a_database_that_stays_away_is_dialled_again_with_backoff(pg: Store) -> None:
    from ticker import pg as engine

    conn = pg.conn
    assert isinstance(conn, engine.Connection)
    now = [100.0]
    dialled: list[float] = []

    def dial_fails() -> Any:
        dialled.append(now[0])
        raise DatabaseUnreachable(conn.where, "cannot be reached: refused")

    conn.raw.close()
    conn.dial, conn.clock = dial_fails, lambda: now[0]
    for _ in range(3):  # the first call dials; the next two, within a second, do not
        with pytest.raises(DatabaseUnreachable):
            pg.pending_count()
    now[0] += engine.RECONNECT_WAIT[0]
    with pytest.raises(DatabaseUnreachable):
        pg.pending_count()
    now[0] += engine.RECONNECT_WAIT[0]  # the second wait is longer
    with pytest.raises(DatabaseUnreachable):
        pg.pending_count()
    assert dialled == [100.0, 100.0 + engine.RECONNECT_WAIT[0]]


def test_new_deliveries_are_announced_at_commit_and_never_for_a_rollback(
    pg: Store, target: PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from ticker.store import WAKE_TOPIC

    with psycopg.connect(target.conninfo(), autocommit=True) as listener:
        listener.execute(f"LISTEN {WAKE_TOPIC}")
        with monkeypatch.context() as patch:  # the poll fails after writing its deliveries
            patch.setattr(pg, "_write_tallies", _fail)
            with pytest.raises(RuntimeError):
                pg.record_poll("site", URL, lines("a"), 1.0, ["mail"], backfill=1)
        assert pg.pending_count() == 0
        assert list(listener.notifies(timeout=0.5)) == []
        pg.record_poll("site", URL, lines("a"), 1.0, ["mail", "chat"], backfill=1)
        heard = list(listener.notifies(timeout=2.0, stop_after=2))
        assert sorted(n.payload for n in heard) == ["chat", "mail"]
        pg.record_poll("site", URL, lines("a"), 2.0, ["mail", "chat"])  # nothing new
        assert list(listener.notifies(timeout=0.5)) == []


def test_a_listener_hears_announcements_and_comes_back_after_a_cut(
    pg: Store, target: PostgresTarget, postgres_server: Any
) -> None:
    from ticker import pg as engine
    from ticker.store import WAKE_TOPIC

    heard: list[str] = []
    stop = threading.Event()
    listening = threading.Thread(
        target=engine.listen, args=(target, WAKE_TOPIC, heard.append, stop)
    )
    listening.start()
    try:
        _wait_for(lambda: _listeners(pg) == 1)
        pg.record_poll("site", URL, lines("a"), 1.0, ["mail"], backfill=1)
        _wait_for(lambda: heard == ["mail"])
        assert postgres_server.terminate("ticker") >= 1  # the listener's, and the store's
        _wait_for(lambda: _listeners(pg) == 1)  # dialled again (the store too, at its call)
        pg.record_poll("site", URL, lines("b", "a"), 2.0, ["chat"])
        _wait_for(lambda: heard == ["mail", "chat"])
    finally:
        stop.set()
        listening.join(timeout=5)
    assert not listening.is_alive()


def _fail() -> None:
    raise RuntimeError("the transaction fails")


def _listeners(store: Store) -> int:
    """How many other sessions of ticker last ran a LISTEN (pg_stat_activity.query): the
    listener, once it is connected and listening."""
    for _ in range(3):
        try:
            row = store.conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ticker'"
                " AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'"
            ).fetchone()
            return int(row[0])
        except DatabaseUnreachable:
            continue  # the store's own connection, cut too: dialled again next time
    return -1


def _wait_for(condition: Callable[[], bool], at_most: float = 15.0) -> None:
    """Wait (bounded) until `condition()` holds."""
    deadline = time.monotonic() + at_most
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_password_comes_from_a_file_and_is_never_shown(tmp_path: Path) -> None:
    secret = tmp_path / "pgpass"
    secret.write_text("s3cr3t-pass\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[ticker]\ndatabase = "postgresql://ticker:${{file:{secret}}}@db.example.com/ticker"\n'
        '[[source]]\nname = "site"\nurl = "http://localhost/"\nselector = "li"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    checked = CliRunner().invoke(main, ["--config", str(config), "config", "check"])
    assert "database: postgresql://ticker@db.example.com/ticker" in checked.output
    assert "s3cr3t" not in checked.output
    loaded = load_config(config)
    database = loaded.settings.database
    assert isinstance(database, PostgresTarget)
    assert database.password == "s3cr3t-pass"
    assert str(database) == "postgresql://ticker@db.example.com/ticker"
    assert "s3cr3t-pass" not in repr(database) + repr(loaded.settings)
    assert "password=s3cr3t-pass" in database.conninfo()
    assert "s3cr3t-pass" in loaded.secrets()  # for the log redactor
    assert Redactor(loaded.secrets()).scrub("psql failed: s3cr3t-pass") == "psql failed: ***"
    shown = redact_url("postgresql://ticker:s3cr3t-pass@db.example.com:5432/ticker?sslmode=require")
    assert shown == "postgresql://ticker:***@db.example.com:5432/ticker?sslmode=require"


def test_a_database_url_without_a_database_name_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ticker]\ndatabase = "postgresql://ticker:pw@db.example.com"\n')
    result = CliRunner().invoke(main, ["--config", str(config), "config", "check"])
    assert result.exit_code != 0
    assert f"{config}: ticker.database: expected a database name" in result.output
    assert "pw" not in result.output.replace("postgresql", "")


def test_db_check_and_backup_point_at_postgresqls_tools(pg: Store, tmp_path: Path) -> None:
    url = str(pg.path)
    for args in (["db", "check", "--database", url], ["db", "backup", str(tmp_path / "b.db")]):
        if args[1] == "backup":
            args += ["--database", url]
        result = CliRunner().invoke(main, args)
        assert result.exit_code != 0, result.output
        assert "PostgreSQL's job" in result.output and "pg_dump" in result.output
    assert not (tmp_path / "b.db").exists()


# --- end to end ---------------------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("STATE_DIRECTORY", None)
    return env


@pytest.mark.e2e
def test_ticker_run_on_postgresql_alerts_by_mail_and_tail_shows_it(
    tmp_path: Path, target: PostgresTarget, seed_lines: list[str]
) -> None:
    old = seed_lines[:3]
    new = "Hamas: The delegation arrived in Cairo for talks"
    pages = [ticker_page(old), ticker_page([new, *old])]
    with PageServer(pages) as site, SmtpSink() as smtp:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[ticker]\ndatabase = "{target}"\ninterval = 1\n\n'
            f'[[source]]\nname = "site"\nurl = "{site.url}"\nselector = ".breaking-news li"\n\n'
            f'[[channel]]\nname = "mail"\nurls = ["{smtp.url}"]\n',
            encoding="utf-8",
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "ticker", "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(),
        )
        try:
            wait_until(lambda: len(smtp.messages) >= 1, daemon)
        finally:
            daemon.send_signal(signal.SIGTERM)
            output, _ = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, output
    assert len(smtp.messages) == 1
    assert "arrived in Cairo" in smtp.bodies()[0]
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob("*.db"))  # no file
    tail = subprocess.run(
        [sys.executable, "-m", "ticker", "tail", "--json", "--database", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert tail.returncode == 0, tail.stderr
    (alert,) = [json.loads(line) for line in tail.stdout.splitlines()]
    assert (alert["text"], alert["deliveries"]) == (new, {"mail": "sent"})
