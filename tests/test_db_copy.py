"""`ticker db copy SRC DST`: a database moved between files and engines is the same database
(every table, row for row, checked by counts), refusals leave DST as it was, and nothing
printed shows a password."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Clock, lines, poll_now, source_config
from servers import PageServer, ticker_page

from ticker import dbcopy
from ticker.cli import main
from ticker.dedupe import Judge
from ticker.errors import DatabaseInUse, DatabaseMissing
from ticker.instance import InstanceLock
from ticker.pg import PostgresTarget
from ticker.store import Store

T0 = 1_800_000_000.0
STRIP, CHANNEL = "strip", "telegram"
URL = {STRIP: "https://english.example/", CHANNEL: "https://t.me/s/Chan"}
OLD = "Local sources: Clashes near the border crossing overnight"
STORY = "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks"
STORY_MORE = (
    "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks with mediators"
)
STORY_AGAIN = "Hamas: Delegation will arrive in Cairo tomorrow to continue talks"
OTHER = "Israeli media: Sirens sound in Metula and Kiryat Shmona"
CHANNELS = ["ops", "quiet", "gone"]


def rich_database(path: Path, strip_url: str = URL[STRIP]) -> None:
    """A database holding some of everything: two sources (one down), items of every kind
    (new, update, duplicate, also, health), alerts, deliveries in every status (pending,
    retrying, claimed, sent, failed, expired, cancelled), terms, tallies, counters and a
    service fact."""
    store = Store.open(path)
    judge = Judge()
    try:
        poll = store.record_poll

        poll(STRIP, strip_url, lines(OLD), T0, CHANNELS, judge=judge, across=True)
        poll(CHANNEL, URL[CHANNEL], lines(OTHER), T0, CHANNELS, judge=judge, across=True)
        poll(STRIP, strip_url, lines(STORY, OLD), T0 + 60, CHANNELS, judge=judge, across=True)
        poll(STRIP, strip_url, lines(STORY_MORE, STORY, OLD), T0 + 120, CHANNELS,
             update_channels=["ops"], judge=judge, across=True)  # fmt: skip
        poll(STRIP, strip_url, lines(STORY_AGAIN, STORY_MORE), T0 + 180, CHANNELS,
             judge=judge, across=True)  # fmt: skip
        poll(CHANNEL, URL[CHANNEL], lines(STORY_AGAIN + " (video)", OTHER), T0 + 200, CHANNELS,
             judge=judge, across=True)  # fmt: skip
        fresh = lines("Breaking: Parliament meets tonight", "Storm warning for the coast", OTHER)
        poll(CHANNEL, URL[CHANNEL], fresh, T0 + 230, CHANNELS, judge=judge, across=True)
        store.record_failure(CHANNEL, URL[CHANNEL], T0 + 240, "HTTP 503")
        store.record_health(CHANNEL, "down", "telegram is down", T0 + 250, ["ops"])
        _settle_deliveries(store)
        store.record_service("reload", T0 + 300, "config.toml: bad key")
    finally:
        store.close()


def _settle_deliveries(store: Store) -> None:
    """Deliveries of every status: one of each, the rest left pending."""
    ops = [d.id for d in store.pending_deliveries(channel="ops")]
    assert len(ops) >= 5, ops
    store.mark_sent(ops[0], T0 + 260)
    store.mark_retry(ops[1], T0 + 260, "timed out", T0 + 400)
    store.mark_failed(ops[2], T0 + 261, "HTTP 400")
    store.mark_expired([ops[3]], T0 + 262)
    store.claim([ops[4]], "host:1:abcd", T0 + 263, T0 + 290)
    store.cancel_deliveries(["ops", "quiet"], T0 + 264)  # "gone" left the config


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the SQLite database at `path`, in a stable order."""
    conn = sqlite3.connect(path)  # read-write: its close removes the WAL it made
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in sorted(names)
        }
    finally:
        conn.close()


@pytest.fixture
def rich(tmp_path: Path) -> Path:
    path = tmp_path / "src.db"
    rich_database(path)
    return path


def test_the_rich_database_holds_some_of_everything(rich: Path) -> None:
    tables = dump(rich)
    kinds = {row[0] for row in sqlite3.connect(rich).execute("SELECT kind FROM items")}
    assert kinds == {"new", "update", "duplicate", "also", "health"}
    statuses = {row[0] for row in sqlite3.connect(rich).execute("SELECT status FROM deliveries")}
    assert statuses == {"pending", "sent", "failed", "expired", "cancelled"}
    for table in ("sources", "items", "alerts", "deliveries", "terms", "term_df", "tallies",
                  "counters", "service"):  # fmt: skip
        assert tables[table], table


def test_sqlite_to_a_new_sqlite_file_copies_every_row(rich: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    seen: list[str] = []

    copied = dbcopy.copy_database(rich, target, progress=lambda t: seen.append(t.name))

    assert dump(target) == dump(rich)
    assert seen == [t.name for t in copied]
    assert seen[:4] == ["sources", "items", "alerts", "deliveries"]
    counts = {t.name: t.rows for t in copied}
    assert counts["items"] == len(dump(rich)["items"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["src.db", "src.db.lock", "copy.db", "copy.db.lock"]
    )  # no temporary file, no WAL left beside the copy


def test_a_copy_continues_the_ids_where_the_source_stopped(rich: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    dbcopy.copy_database(rich, target)
    before = dump(rich)["items"]
    store = Store.open(target)
    try:
        record = store.record_poll(STRIP, URL[STRIP], lines("A brand new line"), T0 + 999, ["ops"])
    finally:
        store.close()
    assert record.new[0].item_id == max(row[0] for row in before) + 1


def test_a_dst_holding_rows_is_refused_and_left_as_it_was(rich: Path, tmp_path: Path) -> None:
    target = tmp_path / "other.db"
    store = Store.open(target)
    store.record_poll(STRIP, URL[STRIP], lines("Something else"), T0, ["ops"])
    store.close()
    before = dump(target)

    with pytest.raises(dbcopy.CopyRefused, match="already holds rows; give --replace"):
        dbcopy.copy_database(rich, target)
    assert dump(target) == before

    dbcopy.copy_database(rich, target, replace=True)
    assert dump(target) == dump(rich)


def test_an_empty_migrated_dst_is_not_refused(rich: Path, tmp_path: Path) -> None:
    target = tmp_path / "empty.db"
    Store.open(target).close()  # the migrations write a counters row (value 0)
    dbcopy.copy_database(rich, target)
    assert dump(target) == dump(rich)


def test_a_missing_source_and_the_same_file_are_refused(rich: Path, tmp_path: Path) -> None:
    with pytest.raises(DatabaseMissing):
        dbcopy.copy_database(tmp_path / "nothing.db", tmp_path / "copy.db")
    with pytest.raises(dbcopy.CopyRefused, match="is the source itself"):
        dbcopy.copy_database(rich, tmp_path / "." / "src.db")
    assert not (tmp_path / "copy.db").exists()


def test_a_running_ticker_on_either_end_makes_the_copy_refuse(rich: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    with InstanceLock.acquire(rich, "run"), pytest.raises(DatabaseInUse, match="ticker run"):
        dbcopy.copy_database(rich, target)
    assert not target.exists()
    Store.open(target).close()
    with InstanceLock.acquire(target, "run"), pytest.raises(DatabaseInUse, match="ticker run"):
        dbcopy.copy_database(rich, target)


def test_a_broken_copy_is_detected_and_nothing_is_committed(
    rich: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = dbcopy._SqliteWriter.write

    def lose_one(self: Any, table: str, columns: list[str], rows: list[Any]) -> None:
        real_write(self, table, columns, rows[:-1] if table == "alerts" else rows)

    monkeypatch.setattr(dbcopy._SqliteWriter, "write", lose_one)
    target = tmp_path / "copy.db"
    with pytest.raises(dbcopy.CopyMismatch, match="alerts: .* rows up to id"):
        dbcopy.copy_database(rich, target)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db.lock", "src.db", "src.db.lock"]

    existing = tmp_path / "existing.db"
    rich_database(existing)
    before = dump(existing)
    with pytest.raises(dbcopy.CopyMismatch):
        dbcopy.copy_database(rich, existing, replace=True)
    assert dump(existing) == before


def test_a_copy_in_small_batches_is_the_same(rich: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    dbcopy.copy_database(rich, target, batch=2)
    assert dump(target) == dump(rich)


# --- the command ---------------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["db", "copy", *args])


def test_the_command_prints_progress_and_a_summary(rich: Path, tmp_path: Path) -> None:
    result = run_cli(str(rich), str(tmp_path / "copy.db"))
    assert result.exit_code == 0, result.output
    assert "counts match" in result.stdout
    assert any(line.split()[:1] == ["items"] for line in result.stdout.splitlines())
    assert "  deliveries:" in result.stderr and "rows" in result.stderr


def test_the_command_refusals_are_one_line_errors(rich: Path, tmp_path: Path) -> None:
    missing = run_cli(str(tmp_path / "nothing.db"), str(tmp_path / "copy.db"))
    assert missing.exit_code == 1
    assert f"ticker: error: no database at {tmp_path / 'nothing.db'}" in missing.stderr

    run_cli(str(rich), str(tmp_path / "copy.db"))
    again = run_cli(str(rich), str(tmp_path / "copy.db"))
    assert again.exit_code == 1
    assert "already holds rows; give --replace" in again.stderr
    assert run_cli(str(rich), str(tmp_path / "copy.db"), "--replace").exit_code == 0


def test_an_unreachable_server_is_an_error_without_the_password(rich: Path) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql://ticker:s3cret-pass@127.0.0.1:9/ticker"  # nothing listens on port 9
    result = run_cli(str(rich), url)
    assert result.exit_code != 0
    assert "ticker: error:" in result.stderr
    assert "s3cret-pass" not in result.output


# --- round trips: the copy is the same database to every reader, and the daemon goes on -----


def round_trip(source: Path, tmp_path: Path, via: PostgresTarget | None) -> Path:
    """`source` copied to a new SQLite file, directly (`via` None) or through the
    PostgreSQL database at the URL `via` and back."""
    back = tmp_path / "back.db"
    if via is None:
        dbcopy.copy_database(source, back)
    else:
        dbcopy.copy_database(source, via)
        dbcopy.copy_database(via, back)
    return back


@pytest.fixture(params=["sqlite", "postgresql"])
def via(request: pytest.FixtureRequest) -> PostgresTarget | None:
    """Where a round trip goes: nowhere (SQLite to SQLite), or through a fresh PostgreSQL
    database (skipped, with the reason, where the test server cannot run)."""
    if request.param == "sqlite":
        return None
    return PostgresTarget.from_conninfo(request.getfixturevalue("postgres_db"))


def cli_output(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_round_trip_keeps_every_row(
    rich: Path, tmp_path: Path, via: PostgresTarget | None
) -> None:
    back = round_trip(rich, tmp_path, via)
    assert dump(back) == dump(rich)


def test_tail_and_status_show_the_same_after_a_round_trip(
    rich: Path, tmp_path: Path, via: PostgresTarget | None
) -> None:
    back = round_trip(rich, tmp_path, via)
    for command in (["tail", "-n", "50"], ["tail", "--json"], ["status"], ["status", "--json"]):
        before = cli_output(*command, "--database", str(rich)).replace(str(rich), "DB")
        after = cli_output(*command, "--database", str(back)).replace(str(back), "DB")
        assert after == before, command
    assert "Storm warning for the coast" in cli_output("tail", "--database", str(back))
    if via is not None:  # and on PostgreSQL itself, on the way
        for command in (["tail", "-n", "50"], ["tail", "--json"]):
            before = cli_output(*command, "--database", str(rich))
            assert cli_output(*command, "--database", via.url) == before, command


def test_the_daemon_goes_on_from_the_copy(tmp_path: Path, via: PostgresTarget | None) -> None:
    """A copy of a database whose strip showed STORY_AGAIN and STORY_MORE last: the next
    poll of that strip, with one new line, alerts that line once and nothing else."""
    fresh = "Breaking: The bridge reopens to traffic tonight"
    with PageServer([ticker_page([fresh, STORY_AGAIN, STORY_MORE, STORY, OLD])]) as site:
        source = tmp_path / "src.db"
        rich_database(source, strip_url=site.url)
        copy: Path | PostgresTarget = tmp_path / "copy.db"
        dbcopy.copy_database(source, via or copy)  # the daemon on PostgreSQL, or the file
        copy = via or copy
        config = source_config(
            tmp_path, {"name": STRIP, "url": site.url, "selector": ".breaking-news li"}
        )
        store = Store.open(copy)
        try:
            outcome = poll_now(config, store, Clock(T0 + 3600), STRIP)
            again = poll_now(config, store, Clock(T0 + 3700), STRIP)
        finally:
            store.close()
    assert outcome.record is not None and again.record is not None
    assert [item.line.text for item in outcome.record.alerts] == [fresh]
    assert again.record.alerts == ()


def test_nothing_writes_the_source_while_it_is_copied(rich: Path, tmp_path: Path) -> None:
    """A `ticker poll` from cron writes without the instance lock when it cannot have it:
    during the copy its writes wait (and fail after the busy timeout), so that no line is
    recorded in the source that the copy would not carry."""
    refused: list[str] = []

    def try_to_write(table: dbcopy.TableCopy) -> None:
        conn = sqlite3.connect(rich, timeout=0, isolation_level=None)
        try:
            conn.execute("UPDATE sources SET etag = 'written during the copy'")
        except sqlite3.OperationalError as exc:
            refused.append(str(exc))
        finally:
            conn.close()

    copied = dbcopy.copy_database(rich, tmp_path / "copy.db", progress=try_to_write)
    assert refused == ["database is locked"] * len(copied)


# --- PostgreSQL ends -----------------------------------------------------------------------


@pytest.fixture
def postgres(postgres_db: str) -> PostgresTarget:
    """A fresh, empty PostgreSQL database (skipped where the test server cannot run)."""
    return PostgresTarget.from_conninfo(postgres_db)


def test_postgresql_ids_continue_after_the_copied_ones(
    rich: Path, postgres: PostgresTarget
) -> None:
    dbcopy.copy_database(rich, postgres)
    store = Store.open(postgres)
    try:
        record = store.record_poll(STRIP, URL[STRIP], lines("A brand new line"), T0 + 999, ["ops"])
        alert_ids = [item.alert_id for item in record.new]
    finally:
        store.close()
    items, alerts = dump(rich)["items"], dump(rich)["alerts"]
    assert record.new[0].item_id == max(row[0] for row in items) + 1
    assert alert_ids == [max(row[0] for row in alerts) + 1]


def test_a_postgresql_dst_holding_rows_or_a_broken_copy_is_left_as_it_was(
    rich: Path, tmp_path: Path, postgres: PostgresTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    dbcopy.copy_database(rich, postgres)
    other = tmp_path / "other.db"
    store = Store.open(other)
    store.record_poll(STRIP, URL[STRIP], lines("Something else"), T0, ["ops"])
    store.close()

    with pytest.raises(dbcopy.CopyRefused, match="already holds rows"):
        dbcopy.copy_database(other, postgres)
    real_write = dbcopy._PostgresWriter.write
    monkeypatch.setattr(
        dbcopy._PostgresWriter,
        "write",
        lambda self, table, columns, rows: real_write(self, table, columns, rows[1:]),
    )
    with pytest.raises(dbcopy.CopyMismatch, match="sources: 1 row in the source, 0 rows"):
        dbcopy.copy_database(other, postgres, replace=True)
    monkeypatch.undo()

    back = tmp_path / "back.db"
    dbcopy.copy_database(postgres, back)
    assert dump(back) == dump(rich)  # still the first copy, whole
    dbcopy.copy_database(other, postgres, replace=True)
    dbcopy.copy_database(postgres, back, replace=True)
    assert dump(back) == dump(other)


def test_live_replicas_on_a_postgresql_end_make_the_copy_refuse(
    rich: Path, tmp_path: Path, postgres: PostgresTarget
) -> None:
    from ticker import leases

    dbcopy.copy_database(rich, postgres)
    conn = leases.connect(postgres.conninfo())
    try:
        leases.migrate(conn)
        replica = leases.Replica.here(T0)
        leases.acquire(conn, replica, [STRIP, CHANNEL], ttl=60)
        with pytest.raises(dbcopy.CopyRefused, match=r"in use by 1 ticker replica\(s\) \(pid"):
            dbcopy.copy_database(postgres, tmp_path / "back.db")
        with pytest.raises(dbcopy.CopyRefused, match="stop them first"):
            dbcopy.copy_database(rich, postgres, replace=True)
        leases.leave(conn, replica)
    finally:
        conn.close()
    dbcopy.copy_database(postgres, tmp_path / "back.db")  # the replica left: copied
    assert dump(tmp_path / "back.db") == dump(rich)


def test_the_command_never_shows_the_password(
    rich: Path, tmp_path: Path, postgres: PostgresTarget
) -> None:
    password = "s3cret-pass-4242"  # the test server trusts its socket: any password goes
    url = postgres.url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")
    first = run_cli(str(rich), url)
    again = run_cli(str(rich), url)
    back = run_cli(url, str(tmp_path / "back.db"))
    assert (first.exit_code, again.exit_code, back.exit_code) == (0, 1, 0), again.output
    assert "already holds rows" in again.stderr
    for result in (first, again, back):
        assert password not in result.output, result.output
        assert "postgresql://postgres@/" in result.stderr  # the user shown, not the password
    assert dump(tmp_path / "back.db") == dump(rich)


def test_a_row_postgresql_refuses_fails_the_copy_and_leaves_dst_empty(
    rich: Path, tmp_path: Path, postgres: PostgresTarget
) -> None:
    """SQLite keeps a NUL character in a text; PostgreSQL's text cannot hold one."""
    conn = sqlite3.connect(rich, isolation_level=None)
    conn.execute("UPDATE items SET body = ? WHERE id = 2", ("a\x00b",))
    conn.close()
    with pytest.raises(
        dbcopy.CopyFailed, match=r"postgres@.*: cannot be copied: .*0x00.*\(table items\)"
    ):
        dbcopy.copy_database(rich, postgres)
    store = Store.open_readonly(postgres)
    try:
        assert store.recent_alerts(50) == []  # the sources and items copied before: gone
        assert store.source_states() == []
    finally:
        store.close()
