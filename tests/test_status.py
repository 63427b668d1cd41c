"""`ticker status`: per-source and per-channel state from the database, text and JSON,
secrets hidden, clear errors, and a light import footprint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import database_at, lines

from ticker import status as reporting
from ticker.cli import main
from ticker.store import Store

NOW = 1_764_061_200.0  # 2025-11-25 12:00:00 local time (UTC+3), 09:00:00 UTC
MIDNIGHT = NOW - 12 * 3600  # 2025-11-25 00:00:00 local time
DAY = 86_400.0
URL = "https://example.org/"
PASSWORD = "hunter2hunter2"
LONG_ERROR = "the ticker was not found:\n" + "no element matches 'li.breaking-news-item'; " * 5


@pytest.fixture
def at_noon(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC+3 (no DST) and `ticker status` reads the time as NOW."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "XST-03"
    time.tzset()
    monkeypatch.setattr(reporting, "clock", lambda: NOW)
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def write_config(tmp_path: Path, database: object = "ticker.db") -> Path:
    """A config of four sources and a channel; `database` (a path, or a Store's `path`: a
    PostgreSQL one prints as its URL) in [ticker]."""
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[ticker]
database = "{database}"
[[source]]
name = "site"
url = "{URL}"
selector = "li"
[[source]]
name = "broken"
url = "{URL}broken"
selector = "li"
[[source]]
name = "quiet"
url = "{URL}quiet"
selector = "li"
[[source]]
name = "fresh"
url = "{URL}fresh"
selector = "li"
[[channel]]
name = "mail"
urls = ["mailto://user:{PASSWORD}@127.0.0.1:2525?to=a@example.com"]
[[channel]]
name = "phone"
urls = ["tgram://123456789:TOKENTOKENTOKENTOKENTOKEN/987654"]
[[channel]]
name = "idle"
urls = ["json://127.0.0.1:8080/hook"]
""",
        encoding="utf-8",
    )
    config.chmod(0o600)
    return config


def build_state(store: Store) -> None:
    """site: ok, 3 lines today; broken: lost its ticker (layout); quiet: 304; fresh: never
    polled; retired: in the database only. mail: 2 sent, 1 failed, 2 pending; phone: 1 sent,
    1 failed, 2 retrying, 1 pending; idle: nothing."""
    both = ["mail", "phone"]
    store.record_poll("site", URL, lines("old"), NOW - 2 * DAY, both)  # baseline
    store.record_poll("site", URL, lines("Y: yesterday", "old"), MIDNIGHT - 1, both)
    store.record_poll("site", URL, lines("M: midnight", "Y: yesterday", "old"), MIDNIGHT, both)
    page = lines("A: one", "B: two", "M: midnight", "Y: yesterday", "old")
    store.record_poll("site", URL, page, NOW - 60, both, latency=0.25)
    store.set_next_poll("site", NOW + 30)

    store.record_poll("broken", URL, lines("z"), NOW - 2 * DAY, both)
    for ago in (300, 240, 180):
        store.record_failure("broken", URL, NOW - ago, LONG_ERROR, layout=True, latency=0.5)
    store.record_health("broken", "layout", "broken: ticker not found", NOW - 100, both)
    store.set_next_poll("broken", NOW + 270)

    store.record_poll("quiet", URL, lines("q"), NOW - 2 * DAY, both)
    store.record_not_modified("quiet", URL, NOW - 20, latency=0.04)

    store.record_poll("retired", URL, lines("r"), NOW - 3 * DAY, both, latency=0.1)
    store.set_next_poll("retired", NOW - 3 * DAY + 30)

    pending = store.pending_deliveries()
    mail = [d.id for d in pending if d.channel == "mail"]
    phone = [d.id for d in pending if d.channel == "phone"]
    assert len(mail) == len(phone) == 5
    store.mark_sent(mail[0], NOW - 50)
    store.mark_sent(mail[1], NOW - 40)
    store.mark_failed(mail[2], NOW - 35, f"SMTP 535 authentication refused for {PASSWORD}")
    store.mark_failed(phone[0], NOW - 500, "an old failure")
    store.mark_retry(phone[1], NOW - 30, "Telegram: 429 Too Many Requests", NOW + 60)
    store.mark_retry(phone[2], NOW - 45, "an older retry", NOW + 60)
    store.mark_sent(phone[3], NOW - 90)


def run_cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), "status", *args])


def rows(stdout: str) -> dict[str, list[str]]:
    """Table rows by their first cell: cells are two or more spaces apart."""
    return {
        cells[0]: cells
        for line in stdout.splitlines()
        if line and not line.startswith(" ")
        for cells in [re.split(r"\s{2,}", line)]
    }


def notes_under(stdout: str, name: str) -> list[str]:
    """The indented lines printed under the row of `name`."""
    out = stdout.splitlines()
    start = next(n for n, line in enumerate(out) if line.startswith(f"{name}  "))
    notes = []
    for line in out[start + 1 :]:
        if not line.startswith("    "):
            break
        notes.append(line.strip())
    return notes


def test_status_shows_every_source(tmp_path: Path, store: Store, at_noon: None) -> None:
    build_state(store)
    result = run_cli(write_config(tmp_path, store.path))
    assert result.exit_code == 0, result.output
    table = rows(result.stdout)
    assert table["SOURCE"] == [
        "SOURCE",
        "LAST POLL",
        "RESULT",
        "LATENCY",
        "FAILS",
        "HEALTH",
        "LINES TODAY",
        "NEXT POLL",
    ]
    # 3 lines today: the one first seen at midnight counts, the one a second before does not.
    assert table["site"] == ["site", "11:59:00", "ok", "250 ms", "0", "ok", "3", "12:00:30"]
    # The health alert raised today is not a ticker line.
    assert table["broken"] == [
        "broken",
        "11:57:00",
        "layout",
        "500 ms",
        "3",
        "layout",
        "0",
        "12:04:30",
    ]
    assert table["quiet"] == ["quiet", "11:59:40", "not-modified", "40 ms", "0", "ok", "0", "-"]
    assert table["fresh"] == ["fresh", "never", "-", "-", "0", "-", "0", "-"]
    assert notes_under(result.stdout, "site") == []
    (error,) = notes_under(result.stdout, "broken")
    assert error.startswith("layout: the ticker was not found: no element matches 'li.breaking")
    assert error.endswith("\u2026")


def test_a_source_no_longer_configured_is_listed_last_and_marked(
    tmp_path: Path, store: Store, at_noon: None
) -> None:
    build_state(store)
    stdout = run_cli(write_config(tmp_path, store.path)).stdout
    names = [line.split()[0] for line in stdout.splitlines() if line and line[0].islower()]
    names = names[names.index("database:") + 1 : names.index("mail")]
    assert names == ["site", "broken", "quiet", "fresh", "retired"]
    # Another day: date and minutes; no next poll, the daemon no longer polls it.
    assert rows(stdout)["retired"] == [
        "retired",
        "2025-11-22 12:00",
        "ok",
        "100 ms",
        "0",
        "ok",
        "0",
        "-",
    ]
    assert notes_under(stdout, "retired") == ["not in the config any more"]


def test_status_shows_every_channel_without_secrets(
    tmp_path: Path, store: Store, at_noon: None
) -> None:
    build_state(store)
    result = run_cli(write_config(tmp_path, store.path))
    table = rows(result.stdout)
    assert table["CHANNEL"] == ["CHANNEL", "PENDING", "FAILED", "LAST SUCCESS", "LAST ERROR"]
    assert table["mail"] == [
        "mail",
        "2",
        "1",
        "11:59:20",
        "SMTP 535 authentication refused for ***",
    ]
    # The most recent failed or retrying delivery gives the error.
    assert table["phone"] == ["phone", "3", "1", "11:58:30", "Telegram: 429 Too Many Requests"]
    assert table["idle"] == ["idle", "0", "0", "never", "-"]
    for secret in (PASSWORD, "TOKENTOKEN", "127.0.0.1", "mailto", "tgram", "json://"):
        assert secret not in result.stdout
    assert result.stdout.startswith("ticker status at 2025-11-25 12:00:00 (local time)")
    shown = [line for line in result.stdout.splitlines() if not line.startswith("database: ")]
    assert max(len(line) for line in shown) <= 100


def test_status_json(tmp_path: Path, store: Store, at_noon: None) -> None:
    build_state(store)
    result = run_cli(write_config(tmp_path, store.path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    extra = {"replicas"} if getattr(store, "engine", "sqlite") == "postgresql" else set()
    assert set(doc) == {"sources", "channels", "reload", "database", "generated"} | extra
    assert doc["reload"] is None  # no reload since the database was made
    if store.engine == "sqlite":
        assert Path(doc["database"]).resolve() == (tmp_path / "ticker.db").resolve()
    else:
        assert doc["database"] == str(store.path)  # the URL, no password
    assert doc["generated"] == "2025-11-25T09:00:00Z"
    sources = {s["name"]: s for s in doc["sources"]}
    assert list(sources) == ["site", "broken", "quiet", "fresh", "retired"]
    assert sources["site"] == {
        "name": "site",
        "configured": True,
        "last_poll": "2025-11-25T08:59:00Z",
        "last_success": "2025-11-25T08:59:00Z",
        "result": "ok",
        "error": None,
        "latency_ms": 250.0,
        "consecutive_failures": 0,
        "health": "ok",
        "lines_today": 3,
        "next_poll": "2025-11-25T09:00:30Z",
    }
    broken = sources["broken"]
    assert broken["error"] == LONG_ERROR  # whole, as stored
    assert (broken["result"], broken["health"], broken["consecutive_failures"]) == (
        "layout",
        "layout",
        3,
    )
    assert broken["last_success"] == "2025-11-23T09:00:00Z"
    assert sources["quiet"]["result"] == "not-modified"
    assert sources["quiet"]["latency_ms"] == 40.0
    assert sources["fresh"] == {
        "name": "fresh",
        "configured": True,
        "last_poll": None,
        "last_success": None,
        "result": None,
        "error": None,
        "latency_ms": None,
        "consecutive_failures": 0,
        "health": None,
        "lines_today": 0,
        "next_poll": None,
    }
    assert sources["retired"]["configured"] is False
    assert sources["retired"]["next_poll"] == "2025-11-22T09:00:30Z"  # raw, stale as it is
    assert doc["channels"] == [
        {
            "name": "mail",
            "configured": True,
            "pending": 2,
            "failed": 1,
            "cancelled": 0,
            "expired": 0,
            "last_success": "2025-11-25T08:59:20Z",
            "last_error": "SMTP 535 authentication refused for ***",
            "last_error_at": "2025-11-25T08:59:25Z",
        },
        {
            "name": "phone",
            "configured": True,
            "pending": 3,
            "failed": 1,
            "cancelled": 0,
            "expired": 0,
            "last_success": "2025-11-25T08:58:30Z",
            "last_error": "Telegram: 429 Too Many Requests",
            "last_error_at": "2025-11-25T08:59:30Z",
        },
        {
            "name": "idle",
            "configured": True,
            "pending": 0,
            "failed": 0,
            "cancelled": 0,
            "expired": 0,
            "last_success": None,
            "last_error": None,
            "last_error_at": None,
        },
    ]
    assert PASSWORD not in result.stdout


def test_status_reads_while_a_writer_holds_the_database(
    tmp_path: Path, store: Store, at_noon: None
) -> None:
    build_state(store)
    config = write_config(tmp_path, store.path)
    with store.transaction():  # as the daemon does during a poll
        result = run_cli(config)
    assert result.exit_code == 0, result.output
    assert rows(result.stdout)["site"][1] == "11:59:00"


def test_status_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli(write_config(tmp_path, database="none.db"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"ticker: error: no database yet at {tmp_path / 'none.db'}; "
        "run `ticker poll` or `ticker run` first"
    )
    assert not (tmp_path / "none.db").exists()


@pytest.mark.sqlite_only("an older SQLite schema's file")
def test_status_of_an_old_database_says_how_to_upgrade_it(tmp_path: Path) -> None:
    conn = database_at(tmp_path / "ticker.db", 2)
    conn.close()
    result = run_cli(write_config(tmp_path))
    assert result.exit_code == 1
    assert "has schema 2, older than this ticker" in result.stderr
    assert "ticker poll" in result.stderr


def test_status_imports_neither_apprise_nor_the_scheduler_nor_httpx(
    tmp_path: Path, store: Store
) -> None:
    build_state(store)
    config = write_config(tmp_path, store.path)
    probe = (
        "import sys\n"
        "from ticker.cli import main\n"
        f"main(['--config', {str(config)!r}, 'status'], standalone_mode=False)\n"
        "heavy = sorted(m for m in ('apprise', 'apscheduler', 'httpx', 'sqlite_utils',"
        " 'selectolax', 'psycopg', 'ticker.pg') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert "LINES TODAY" in result.stdout, result.stderr
    # On SQLite, neither psycopg nor the PostgreSQL engine is imported.
    engine = ["psycopg", "ticker.pg"] if store.engine == "postgresql" else []
    assert f"HEAVY {engine}" in result.stdout


def test_cancelled_and_expired_deliveries_are_counted_removed_channels_listed(
    tmp_path: Path, store: Store, at_noon: None
) -> None:
    """Issue 12, finding 12: a removed channel's deliveries are cancelled, not invisible."""
    build_state(store)
    store.record_poll("site", URL, lines("P: for the pager", "A: one"), NOW - 10, ["pager"])
    assert store.cancel_deliveries(["mail", "phone", "idle"], NOW - 5) == {"pager": 1}
    mail = [d.id for d in store.pending_deliveries() if d.channel == "mail"]
    store.mark_expired(mail[:1], NOW - 5)
    config = write_config(tmp_path, store.path)
    text = run_cli(config).stdout
    assert rows(text)["mail"][:3] == ["mail", "1", "1"]
    assert notes_under(text, "mail") == ["1 expired: older than max_delivery_age"]
    assert rows(text)["pager"][:3] == ["pager", "0", "0"]
    assert notes_under(text, "pager") == [
        "1 cancelled: the channel left the config",
        "not in the config any more",
    ]
    channels = {c["name"]: c for c in json.loads(run_cli(config, "--json").stdout)["channels"]}
    assert list(channels) == ["mail", "phone", "idle", "pager"]
    assert (channels["mail"]["expired"], channels["mail"]["cancelled"]) == (1, 0)
    pager = channels["pager"]
    assert (pager["configured"], pager["pending"], pager["cancelled"]) == (False, 0, 1)


# --- issue 15, item 15: the last reload ----------------------------------------------------


def reload_with(config_path: Path, store: Store, load: object) -> bool:
    """One SIGHUP's work in a daemon on `store`, the wall clock reading NOW."""
    import asyncio

    from conftest import Recorder

    from ticker.config import load_config
    from ticker.daemon import Daemon
    from ticker.fetch import make_client

    config = load_config(config_path)

    async def run() -> bool:
        async with make_client(config.settings) as client:
            daemon = Daemon(config, store, client, Recorder(), clock=lambda: NOW - 120)
            return await daemon.reload(load)  # type: ignore[arg-type]

    return asyncio.run(run())


def test_status_shows_that_the_last_reload_failed_when_and_why(
    tmp_path: Path, store: Store, at_noon: None
) -> None:
    from conftest import Recorder

    from ticker.config import load_config
    from ticker.errors import ConfigError

    config = write_config(tmp_path, store.path)
    problem = ConfigError(config, "dedupe.threshold", "expected a similarity, got 200")

    def broken() -> object:
        raise problem

    assert reload_with(config, store, broken) is False

    text, as_json = run_cli(config), run_cli(config, "--json")

    assert text.exit_code == 0, text.output
    assert (
        f"last reload: 11:58:00, FAILED, still running on the previous config: {problem}"
    ) in text.stdout
    assert json.loads(as_json.stdout)["reload"] == {
        "at": "2025-11-25T08:58:00Z",
        "ok": False,
        "error": str(problem),
    }

    assert reload_with(config, store, lambda: (load_config(config), Recorder())) is True
    assert "last reload: 11:58:00, applied" in run_cli(config).stdout
    assert json.loads(run_cli(config, "--json").stdout)["reload"]["ok"] is True


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_a_database_from_before_service_state_gets_it_when_upgraded(tmp_path: Path) -> None:
    database_at(tmp_path / "ticker.db", 9).close()  # service state came with schema 10
    store = Store.open(tmp_path / "ticker.db")
    try:
        assert store.service_fact("reload") is None
        store.record_service("reload", NOW, "broken")
        store.record_service("reload", NOW + 1, None)
        assert store.service_fact("reload") == (NOW + 1, None)
    finally:
        store.close()


def test_a_source_that_cannot_be_reached_shows_host_and_likely_cause(
    tmp_path: Path, store: Store, at_noon: None
) -> None:
    error = "ConnectError: [Errno -2] Name or service not known"
    store.record_failure("site", URL, NOW - 10, error, layout=False, latency=0.01)

    result = run_cli(write_config(tmp_path, store.path))

    assert result.exit_code == 0, result.output
    assert notes_under(result.stdout, "site") == [
        f"failed: {error}",
        "example.org does not resolve: a typo in the URL, DNS not answering, or this machine is "
        "offline",
    ]
    assert (
        json.loads(run_cli(write_config(tmp_path, store.path), "--json").stdout)["sources"][0][
            "error"
        ]
        == error
    )  # --json keeps the stored error as it is
