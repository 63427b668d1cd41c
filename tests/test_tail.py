"""`ticker tail`: recent alerts, filters, JSON Lines, follow, and a light import footprint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import database_for, lines

from ticker import tail as tailing
from ticker.cli import main
from ticker.store import AlertView, Store

URL = "https://example.org/"


def make_db(tmp_path: Path, database: Any = None) -> tuple[Path, Store]:
    """A config of two sources and a channel, and its database (`database`: the
    `database` fixture's, on each engine; None: SQLite, ticker.db) with four alerts."""
    database = database or database_for(tmp_path, "ticker.db")
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
name = "other"
url = "{URL}other"
selector = "li"
[[channel]]
name = "mail"
urls = ["mailto://127.0.0.1:2525?to=a@example.com"]
""",
        encoding="utf-8",
    )
    store = Store.open(database)
    store.record_poll("site", URL, lines("old"), 1_700_000_000.0, ["mail"])
    store.record_poll(
        "site", URL, lines("Hamas: First <b>news</b>", "old"), 1_700_000_060.0, ["mail"]
    )
    store.record_poll("other", URL, lines("x"), 1_700_000_000.0, ["mail"])
    store.record_poll(
        "other", URL, lines("Israeli media: Second news", "x"), 1_700_000_120.0, ["mail"]
    )
    first = store.pending_deliveries()[0]
    store.mark_sent(first.id, 1_700_000_061.0)
    return config, store


def run_cli(config: Path, *args: str):
    return CliRunner().invoke(main, ["--config", str(config), *args])


def test_tail_prints_newest_last_with_delivery_marks(tmp_path: Path, database: Any) -> None:
    config, store = make_db(tmp_path, database)
    result = run_cli(config, "tail")
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    assert len(out) == 2
    assert "site  Hamas: First <b>news</b>  [mail: sent]" in out[0]
    assert "other  Israeli media: Second news  [mail: pending]" in out[1]
    assert run_cli(config, "tail", "-n", "1").output.count("\n") == 1


def test_tail_filters_by_source_and_text(tmp_path: Path, database: Any) -> None:
    config, _ = make_db(tmp_path, database)
    assert "Second" in run_cli(config, "tail", "--source", "other").output
    assert "First" not in run_cli(config, "tail", "--source", "other").output
    grep = run_cli(config, "tail", "--grep", "FIRST").output
    assert "First" in grep and "Second" not in grep
    assert run_cli(config, "tail", "--grep", "%").output == ""  # LIKE wildcards are literal


def test_tail_json_lines(tmp_path: Path, database: Any) -> None:
    config, _ = make_db(tmp_path, database)
    result = run_cli(config, "tail", "--json")
    records = [json.loads(line) for line in result.output.splitlines()]
    assert records[0] == {
        "id": records[0]["id"],
        "source": "site",
        "kind": "new",
        "attribution": "Hamas",
        "text": "Hamas: First <b>news</b>",
        "url": None,
        "first_seen": "2023-11-14T22:14:20Z",
        "updates_id": None,
        "updates_text": None,
        "changes": [],
        "group": records[0]["id"],
        "deliveries": {"mail": "sent"},
        "also": [],
    }
    assert records[1]["deliveries"] == {"mail": "pending"}


def test_follow_yields_alerts_written_after_it_started(tmp_path: Path, database: Any) -> None:
    _, store = make_db(tmp_path, database)
    reader = Store.open_readonly(store.path)
    after = reader.last_alert_id()
    looks: list[int] = []

    def sleep(_seconds: float) -> None:
        looks.append(1)
        if len(looks) == 1:
            store.record_poll(
                "site",
                URL,
                lines("Third", "Hamas: First <b>news</b>", "old"),
                1_700_000_200.0,
                ["mail"],
            )

    seen = list(tailing.follow(reader, after, source=None, grep=None, sleep=sleep, rounds=3))
    assert [a.text if isinstance(a, AlertView) else a for a in seen] == ["Third"]
    reader.close()


def test_tail_without_a_database_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ticker]\ndatabase = "none.db"\n', encoding="utf-8")
    result = run_cli(config, "tail")
    assert result.exit_code == 1
    assert "no database yet" in result.output and "ticker poll" in result.output
    assert not (tmp_path / "none.db").exists()


def test_tail_imports_neither_apprise_nor_the_scheduler_nor_httpx(
    tmp_path: Path, database: Any
) -> None:
    config, store = make_db(tmp_path, database)
    store.close()
    probe = (
        "import sys\n"
        "from ticker.cli import main\n"
        f"sys.argv = ['ticker', '--config', {str(config)!r}, 'tail']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('apprise', 'apscheduler', 'httpx', 'sqlite_utils',"
        " 'selectolax', 'psycopg', 'ticker.pg') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert "Second news" in result.stdout, result.stderr
    # On SQLite, neither psycopg nor the PostgreSQL engine is imported.
    engine = ["psycopg", "ticker.pg"] if store.engine == "postgresql" else []
    assert f"HEAVY {engine}" in result.stdout


def test_tail_draws_updates_under_what_they_update_and_bursts_as_one(
    tmp_path: Path, database: Any
) -> None:
    from ticker.dedupe import Judge

    config, store = make_db(tmp_path, database)
    page = [
        "Hamas: First statement on the prisoner exchange talks in Cairo",
        "Hamas: Second statement about the humanitarian aid crossings",
        "Hamas: First <b>news</b>",
        "old",
    ]
    store.record_poll("site", URL, lines(*page), 1_700_000_300.0, ["mail"], judge=Judge())
    fixed = "Hamas: First statement on the prisoner exchange talks in Cairo and Doha"
    store.record_poll("site", URL, lines(fixed, *page), 1_700_000_400.0, ["mail"], judge=Judge())
    out = run_cli(config, "tail", "--source", "site").output.splitlines()
    burst = [n for n, line in enumerate(out) if "statement" in line and "UPDATE" not in line]
    assert "same burst" in out[burst[1]] and "same burst" not in out[burst[0]]
    assert (
        "UPDATE Hamas: First statement on the prisoner exchange talks in Cairo and Doha"
        in (out[-2])
    )
    assert out[-1].strip().startswith("\u21b3 updates #")
    assert out[-1].endswith("in Cairo (+ and Doha)")
    records = [json.loads(x) for x in run_cli(config, "tail", "--json").output.splitlines()]
    update = [r for r in records if r["kind"] == "update"][0]
    assert update["changes"] == ["+ and Doha"]
    first = [r for r in records if r["text"] == page[0]][0]
    assert update["updates_id"] == first["id"]
    second = [r for r in records if r["text"] == page[1]][0]
    assert first["group"] == second["group"] == second["id"]  # oldest of the burst first


# --- following deliveries (issue 15 item 2) -----------------------------------------------


def delivery_of(store: Store, text: str) -> tuple[int, int]:
    """(delivery id, alert id) of the pending delivery carrying the line `text`."""
    found = [d for d in store.pending_deliveries() if d.text == text]
    assert len(found) == 1, found
    return found[0].id, found[0].alert_id


def test_follow_shows_each_change_of_a_delivery_once_as_it_is_recorded(
    tmp_path: Path, database: Any
) -> None:
    _, store = make_db(tmp_path, database)
    second, second_alert = delivery_of(store, "Israeli media: Second news")
    reader = Store.open_readonly(store.path)
    _, seen = tailing.recent(reader, 20, source=None, grep=None)
    steps = [
        lambda: store.mark_retry(second, 1_700_000_130.0, "connection refused", 1_700_000_160.0),
        lambda: store.mark_sent(second, 1_700_000_161.0),
        lambda: store.record_poll(
            "site",
            URL,
            lines("Third", "Hamas: First <b>news</b>", "old"),
            1_700_000_200.0,
            ["mail"],
        ),
        lambda: store.mark_failed(delivery_of(store, "Third")[0], 1_700_000_230.0, "auth refused"),
    ]

    def sleep(_seconds: float) -> None:
        if steps:
            steps.pop(0)()

    shown = list(tailing.follow(reader, seen, source=None, grep=None, sleep=sleep, rounds=6))
    text = [tailing.as_text(item) for item in shown]
    third = [item for item in shown if isinstance(item, AlertView)]
    assert [a.text for a in third] == ["Third"] and third[0].deliveries == {"mail": "pending"}
    assert [line.split("  ", 1)[1] for line in text if "#" in line.split("  ")[1]] == [
        f"#{second_alert} mail: retrying (connection refused)",
        f"#{second_alert} mail: sent",
        f"#{third[0].id} mail: failed (auth refused)",
    ]
    reader.close()


def test_a_change_read_with_its_new_alert_is_not_shown_twice(tmp_path: Path, database: Any) -> None:
    _, store = make_db(tmp_path, database)
    reader = Store.open_readonly(store.path)
    _, seen = tailing.recent(reader, 20, source=None, grep=None)
    store.record_poll("site", URL, lines("Third", "Hamas: First <b>news</b>", "old"), 2e9, ["mail"])
    store.mark_sent(delivery_of(store, "Third")[0], 2e9 + 1)  # before the follower looks
    shown = list(
        tailing.follow(reader, seen, source=None, grep=None, sleep=lambda _: None, rounds=2)
    )
    assert len(shown) == 1 and isinstance(shown[0], AlertView)
    assert shown[0].deliveries == {"mail": "sent"}  # the alert shows its delivery as it is
    reader.close()


def test_follow_filters_delivery_changes_like_alerts(tmp_path: Path, database: Any) -> None:
    _, store = make_db(tmp_path, database)
    second, _ = delivery_of(store, "Israeli media: Second news")
    reader = Store.open_readonly(store.path)
    _, seen = tailing.recent(reader, 20, source="site", grep=None)
    store.mark_sent(second, 1_700_000_161.0)  # an alert of "other"
    assert (
        list(tailing.follow(reader, seen, source="site", grep=None, sleep=lambda _: None, rounds=1))
        == []
    )
    assert list(
        tailing.follow(reader, seen, source=None, grep="second", sleep=lambda _: None, rounds=1)
    )
    reader.close()


def test_tail_follow_json_emits_delivery_events_beside_unchanged_alert_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, store = make_db(tmp_path)
    second, second_alert = delivery_of(store, "Israeli media: Second news")
    steps = [
        lambda: store.mark_failed(second, 1_700_000_130.0, "recipient refused (550 no such user)"),
    ]

    def pause(_seconds: float) -> None:
        if not steps:
            raise KeyboardInterrupt  # Ctrl-C
        steps.pop(0)()

    monkeypatch.setattr(tailing, "_pause", pause)
    result = run_cli(config, "tail", "-f", "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [("event" in r) for r in records] == [False, False, True]
    assert records[2] == {
        "event": "delivery",
        "alert": second_alert,
        "channel": "mail",
        "status": "failed",
        "attempts": 1,
        "at": "2023-11-14T22:15:30Z",
        "error": "recipient refused (550 no such user)",
    }


@pytest.mark.sqlite_only("an older SQLite schema's file")
def test_follow_on_a_database_of_an_older_schema_shows_alerts_only(tmp_path: Path) -> None:
    from conftest import database_at

    database_at(tmp_path / "old.db", 8).close()  # delivery changes came with schema 9
    reader = Store.open_readonly(tmp_path / "old.db")
    alerts, seen = tailing.recent(reader, 20, source=None, grep=None)
    assert alerts == [] and seen == tailing.Seen(0, 0)
    assert (
        list(tailing.follow(reader, seen, source=None, grep=None, sleep=lambda _: None, rounds=1))
        == []
    )
    reader.close()


# --- waiting for a database ---------------------------------------------------------------


def test_wait_for_database_waits_until_one_is_made_and_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "state" / "ticker.db"
    told: list[str] = []
    assert not tailing.wait_for_database(
        database, waiting=lambda: told.append("waiting"), sleep=lambda _: None, rounds=3
    )
    assert told == ["waiting"] and not database.parent.exists()

    def sleep(_seconds: float) -> None:
        Store.open(database).close()  # `ticker run` started meanwhile

    assert tailing.wait_for_database(database, sleep=sleep, rounds=3)


def test_tail_follow_before_any_database_waits_for_one_then_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ticker]\ndatabase = "later.db"\n', encoding="utf-8")
    looks: list[int] = []

    def pause(_seconds: float) -> None:
        looks.append(1)
        if len(looks) == 2:
            store = Store.open(tmp_path / "later.db")
            store.record_poll("site", URL, lines("old"), 1_700_000_000.0, ["mail"])
            store.record_poll(
                "site", URL, lines("Hamas: at last", "old"), 1_700_000_060.0, ["mail"]
            )
            store.close()
        if len(looks) > 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(tailing, "_pause", pause)
    result = run_cli(config, "tail", "-f")
    assert result.exit_code == 0, result.output
    assert f"no database yet at {tmp_path / 'later.db'}; waiting for one" in result.stderr
    assert "Hamas: at last  [mail: pending]" in result.stdout


def test_tail_follow_stops_on_ctrl_c_while_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[ticker]\ndatabase = "none.db"\n', encoding="utf-8")

    def pause(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(tailing, "_pause", pause)
    result = run_cli(config, "tail", "-f")
    assert result.exit_code == 0 and "no database yet" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_a_change_recorded_before_the_tail_started_is_not_shown_again(
    tmp_path: Path, database: Any
) -> None:
    _, store = make_db(tmp_path, database)  # its first alert's delivery was marked sent already
    second, _ = delivery_of(store, "Israeli media: Second news")
    store.mark_sent(second, 1_700_000_161.0)
    reader = Store.open_readonly(store.path)
    alerts, seen = tailing.recent(reader, 20, source=None, grep=None)
    assert [a.deliveries for a in alerts] == [{"mail": "sent"}, {"mail": "sent"}]
    never = list(
        tailing.follow(reader, seen, source=None, grep=None, sleep=lambda _: None, rounds=2)
    )
    assert never == []
    reader.close()
