"""A reload while the database is locked by another process: systemd gets READY=1 after
RELOADING=1 whatever happened, the new config applies, the failed database step is logged
once and done at the next drain, and no reload task dies unobserved. In process, with a
real second SQLite connection holding the write lock and a real datagram socket standing
in for systemd's notify socket."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import Clock, Recorder, database_for, lines, queued_datagrams
from servers import PageServer, ticker_page

from ticker.config import Config, load_config
from ticker.daemon import Daemon, run_until_signalled
from ticker.fetch import make_client
from ticker.outbox import Sender
from ticker.store import Store

WAIT = 10.0  # seconds any wait below may take before the test fails


def received(sock: socket.socket) -> list[str]:
    """The first field of every datagram queued so far (RELOADING=1, READY=1, STATUS=...)."""
    return [fields[0] for fields in queued_datagrams(sock)]


def write_config(tmp_path: Path, url: str, channels: tuple[str, ...] = ("me",)) -> Config:
    path = tmp_path / "config.toml"
    text = f'[ticker]\ndatabase = "{database_for(tmp_path, "ticker.db")}"\n'
    text += f'[[source]]\nname = "s"\nurl = "{url}"\n'
    text += "interval = 3600\nselector = 'li'\n"
    for name in channels:
        text += f'[[channel]]\nname = "{name}"\nurls = ["json://127.0.0.1:9/"]\n'
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.mark.sqlite_only("a SQLite write lock held by another connection")
def test_a_reload_under_a_write_lock_ends_with_ready_and_retries_later(
    tmp_path: Path, notify_socket: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    clock, sender = Clock(), Recorder()
    store = Store.open(config.settings.database)
    store.conn.execute("PRAGMA busy_timeout = 50")  # the real one is 10 s
    # One alert whose delivery failed and waits an hour; a reload should make it due now.
    store.record_poll("s", config.sources[0].url, lines("old"), clock(), ["me"])
    store.record_poll("s", config.sources[0].url, lines("new", "old"), clock(), ["me"])
    (waiting,) = store.pending_deliveries()
    store.mark_retry(waiting.id, clock(), "Connection refused", clock() + 3600)
    new_config = write_config(tmp_path, "http://127.0.0.1:9/", channels=("me", "ops"))
    locker = sqlite3.connect(config.settings.database, isolation_level=None)

    async def run() -> bool:
        async with make_client(config.settings) as client:
            daemon = Daemon(config, store, client, sender, clock)
            locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            reloaded = await daemon.reload(lambda: (new_config, sender))
            assert daemon.config is new_config  # the change applied all the same
            assert sender.messages == []  # still waiting: it could not be made due
            locker.execute("ROLLBACK")
            await daemon._timed_drain()  # the next drain: the database is free again
            return reloaded

    with caplog.at_level(logging.INFO, logger="ticker"):
        assert asyncio.run(run())
    locker.close()
    store.close()
    assert received(notify_socket)[:2] == ["RELOADING=1", "READY=1"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        "cannot make pending deliveries due now (database is locked); tried again at the next drain"
    ]
    assert [m.body for m in sender.messages] == ["new"]


class Exploding:
    """A config loader that fails in a way nobody foresaw."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> tuple[Config, Sender]:
        self.calls += 1
        raise sqlite3.OperationalError("database is locked")


def test_a_reload_that_raises_still_sends_ready_and_its_error_is_logged(
    tmp_path: Path, notify_socket: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    load = Exploding()

    async def wait_for_datagrams(want: list[str]) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + WAIT
        while seen[-len(want) :] != want:
            assert time.monotonic() < deadline, f"waited for {want}, got {seen}"
            await asyncio.sleep(0.02)
            seen += [f for f in received(notify_socket) if not f.startswith("STATUS=")]
        return seen

    async def run(site: PageServer) -> None:
        config = write_config(tmp_path, site.url)
        store = Store.open(config.settings.database)
        async with make_client(config.settings) as client:
            daemon = Daemon(config, store, client, Recorder())
            running = asyncio.create_task(run_until_signalled(daemon, load))
            await wait_for_datagrams(["READY=1"])
            os.kill(os.getpid(), signal.SIGHUP)
            await wait_for_datagrams(["RELOADING=1", "READY=1"])
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(running, WAIT)
        store.close()

    with PageServer([ticker_page(["Hamas: a line"])]) as site:
        asyncio.run(run(site))
    gc.collect()  # a task whose exception nobody retrieved says so when it is collected
    assert load.calls == 1
    assert "Task exception was never retrieved" not in caplog.text
    assert "reload failed: database is locked" in caplog.text
