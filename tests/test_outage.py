"""Outages: a full disk or a database locked by another process while polling, and a
Telegram API answering 5xx and 429 for a while. The daemon keeps running, retries, and
loses no alert; nothing goes out faster than allowed."""

from __future__ import annotations

import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from apprise.plugins.telegram import NotifyTelegram
from conftest import Clock
from pipeline import Pipeline
from servers import Reply, ScriptedSite, TelegramFake, ticker_page
from test_service import Harness, write_config
from test_telegram import CHAT, TOKEN
from test_telegram import write_config as telegram_config

from ticker.config import load_config
from ticker.store import Store

BASE = ["Hamas: first line", "Israeli media: second line"]
NEW = ["Our correspondent: a strike on the port", *BASE]


def pages() -> list[Reply]:
    return [Reply(body=ticker_page(BASE)), Reply(body=ticker_page(NEW))]


def delivered(harness: Harness) -> list[str]:
    return [m.body.splitlines()[0] for m in harness.sender.messages]  # the line, not its link


@pytest.mark.sqlite_only("a SQLite write lock held by another connection")
def test_a_database_locked_by_another_process_costs_a_poll_not_an_alert(tmp_path) -> None:
    with ScriptedSite(pages()) as site:
        harness = Harness(write_config(tmp_path, site.url), Clock())
        harness.run(1)  # the baseline
        harness.store.conn.execute("PRAGMA busy_timeout = 200")  # don't wait 10 s here
        other = sqlite3.connect(harness.config.settings.database)
        other.execute("BEGIN EXCLUSIVE")  # e.g. a backup tool holding the database
        harness.run(2, step=1.0)
        assert delivered(harness) == []
        other.execute("ROLLBACK")
        other.close()
        harness.run(1)
    assert delivered(harness) == ["a strike on the port"]
    harness.store.close()


def test_a_failing_database_write_loses_no_alert(tmp_path, monkeypatch, caplog) -> None:
    """Every write transaction failing with SQLITE_FULL, simulated at the Store layer (the
    real thing, on a full file system, is the tmpfs test below, where mounting is allowed)."""

    def full(self: Store):
        raise sqlite3.OperationalError("database or disk is full")

    with ScriptedSite(pages()) as site:
        harness = Harness(write_config(tmp_path, site.url), Clock())
        harness.run(1)
        with monkeypatch.context() as patch:
            patch.setattr(Store, "transaction", contextmanager(full))
            harness.run(3, step=1.0)
        assert delivered(harness) == []
        assert "database or disk is full" in caplog.text
        harness.run(1)
    assert delivered(harness) == ["a strike on the port"]
    harness.store.close()


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 2 MB tmpfs: a real file system that fills up. Needs mount rights (root)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=10)


@pytest.mark.sqlite_only("a SQLite file on a full tmpfs")
def test_a_full_file_system_loses_no_alert(tmp_path, small_disk: Path, caplog) -> None:
    with ScriptedSite(pages()) as site:
        config = write_config(tmp_path, site.url)
        path = config.path
        text = path.read_text(encoding="utf-8")
        moved = text.replace(f'database = "{tmp_path}/t.db"', f'database = "{small_disk}/t.db"')
        assert moved != text, "the database was not moved to the small disk"
        path.write_text(moved, encoding="utf-8")
        harness = Harness(load_config(path), Clock())
        harness.run(1)
        filler = small_disk / "filler"
        with filler.open("wb", buffering=0) as handle, pytest.raises(OSError):
            while True:  # fill the disk to the last block
                handle.write(b"\0" * 65536)  # unbuffered: no bytes left to flush at close
        harness.run(3, step=1.0)
        assert delivered(harness) == []
        assert "cannot write the database" in caplog.text
        filler.unlink()
        harness.run(1)
    assert delivered(harness) == ["a strike on the port"]
    harness.store.close()


def test_telegram_failing_then_limiting_loses_nothing_and_keeps_its_pace(
    tmp_path, monkeypatch
) -> None:
    clock = Clock()
    with TelegramFake(TOKEN, [CHAT], clock=clock) as telegram:
        monkeypatch.setattr(NotifyTelegram, "notify_url", telegram.api_url)
        telegram.per_minute = 20
        pipeline = Pipeline(telegram_config(tmp_path, "max_per_minute = 15"), clock)
        telegram.fail(5, status=502)  # the API is down for a while...
        telegram.throttle(2, retry_after=40)  # ...then asks for patience
        for i in range(40):
            pipeline.show(f"Source {i}: statement number {i}")
            pipeline.drain()
            clock.now += 5
        for _ in range(60):  # an hour of drains, a minute apart
            pipeline.drain()
            clock.now += 60
        pipeline.close()
    assert [status for status, _ in telegram.refusals] == [502] * 5 + [429] * 2
    texts = "\n".join(m.text for m in telegram.messages)
    seen = [int(t.split("statement number ")[1].split()[0]) for t in texts.split("\n")
            if "statement number " in t]  # fmt: skip
    assert sorted(set(seen)) == list(range(40)) and len(seen) == 40  # all, once
    assert seen == sorted(seen)  # in order
    for message in telegram.messages:  # never more than 15 in any minute
        window = [m for m in telegram.messages if message.at <= m.at < message.at + 60]
        assert len(window) <= 15
