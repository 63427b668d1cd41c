"""One delivering process per database: a second `ticker run` is refused naming the first,
a `ticker poll` beside a daemon records and leaves delivery to it, a short poll holding the
lock is waited for, and a killed holder's lock is gone with it. Real processes, real
locks, loopback servers."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from servers import PageServer, SmtpSink, ticker_page
from test_e2e import SOURCE, start_daemon, stop_daemon, tail_json, wait_until, write_config

from ticker.cli import EXIT_IN_USE
from ticker.errors import DatabaseInUse
from ticker.instance import InstanceLock, lock_path, read_holder

pytestmark = pytest.mark.sqlite_only("the instance lock file beside the SQLite file")


def test_the_lock_file_says_who_holds_it_and_a_second_taker_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "ticker.db"
    with InstanceLock.acquire(database, "run") as lock:
        note = json.loads(lock_path(database).read_text(encoding="utf-8"))
        assert note["pid"] == os.getpid() and note["command"] == "run"
        assert note["host"] == socket.gethostname()
        assert oct(lock_path(database).stat().st_mode & 0o777) == "0o600"
        with pytest.raises(DatabaseInUse) as refused:
            InstanceLock.acquire(database, "run")
        assert str(refused.value).startswith(
            f"{database} is in use by ticker run (pid {os.getpid()} on {socket.gethostname()}, "
            "since "
        )
        assert str(refused.value).endswith(" UTC); stop it first")
        assert lock.holder == read_holder(database)
    assert read_holder(database) is None  # released: nobody holds it
    InstanceLock.acquire(database, "poll").release()
    assert not database.exists()  # the lock never creates the database


class FakeTime:
    """monotonic and sleep for InstanceLock.acquire: each sleep moves the clock on, and
    may run `on_sleep` (another process letting go)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self.on_sleep = lambda: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        self.on_sleep()


def test_ticker_run_waits_for_a_poll_holding_the_lock_then_takes_it(tmp_path: Path) -> None:
    database = tmp_path / "ticker.db"
    poll = InstanceLock.acquire(database, "poll")
    fake = FakeTime()
    fake.on_sleep = lambda: poll.release() if fake.sleeps == 5 else None
    run = InstanceLock.acquire(
        database, "run", wait_for_poll=30.0, clock=fake.clock, sleep=fake.sleep
    )
    assert run.holder.command == "run" and fake.sleeps == 5
    run.release()


def test_a_poll_that_holds_on_is_waited_for_a_bounded_time_then_named(tmp_path: Path) -> None:
    database = tmp_path / "ticker.db"
    fake = FakeTime()
    poll = InstanceLock.acquire(database, "poll")
    with poll, pytest.raises(DatabaseInUse, match=r"in use by ticker poll \(pid"):
        InstanceLock.acquire(database, "run", wait_for_poll=2.0, clock=fake.clock, sleep=fake.sleep)
    assert fake.now == pytest.approx(2.0)  # 20 waits of 0.1 s, then the refusal


def test_a_killed_holders_lock_is_released_by_the_kernel(tmp_path: Path) -> None:
    database = tmp_path / "ticker.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from ticker.instance import "
            f"InstanceLock; InstanceLock.acquire(Path({str(database)!r}), 'run'); "
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DatabaseInUse, match=f"pid {holder.pid} "):
            InstanceLock.acquire(database, "run")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    InstanceLock.acquire(database, "run").release()  # no stale lock to clean up


# --- real processes -------------------------------------------------------------------


def ticker(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STATE_DIRECTORY"}
    return subprocess.run(
        [sys.executable, "-m", "ticker", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )


def baselined(database: Path) -> bool:
    """True once the daemon's first poll of the source is recorded."""
    if not database.exists():
        return False
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT last_success FROM sources").fetchone()
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    return row is not None and row[0] is not None


@pytest.mark.e2e
def test_a_second_ticker_run_is_refused_naming_the_first(tmp_path: Path, seed_lines) -> None:
    with PageServer([ticker_page(seed_lines[:3])]) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        first = start_daemon(config)
        try:
            wait_until(lambda: baselined(tmp_path / "ticker.db"), first)
            second = ticker(config, "run")
        finally:
            stop_daemon(first)
    assert second.returncode == EXIT_IN_USE, second.stderr
    assert second.stderr.splitlines()[-1].startswith(
        f"ticker: error: {tmp_path / 'ticker.db'} is in use by ticker run "
        f"(pid {first.pid} on {socket.gethostname()}, since "
    )
    assert second.stderr.rstrip().endswith("; stop it first")
    assert "watching" not in second.stderr and "Traceback" not in second.stderr


@pytest.mark.e2e
def test_ticker_poll_beside_a_daemon_records_and_leaves_delivery_to_it(
    tmp_path: Path, seed_lines
) -> None:
    new = "Hamas: The delegation arrived in Cairo for talks"
    pages = [ticker_page(seed_lines[:3]), ticker_page([new, *seed_lines[:3]])]
    with PageServer(pages) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        # The daemon polls once (the baseline), then not for an hour: the new line is
        # seen by the `ticker poll` below, and sent by the daemon's drain (every 15 s).
        text = config.read_text(encoding="utf-8").replace("interval = 1", "interval = 3600")
        config.write_text(text, encoding="utf-8")
        daemon = start_daemon(config)
        try:
            wait_until(lambda: baselined(tmp_path / "ticker.db"), daemon)
            poll = ticker(config, "poll")
            wait_until(lambda: len(smtp.messages) >= 1, daemon)
        finally:
            output = stop_daemon(daemon)
    assert poll.returncode == 0, poll.stderr
    assert poll.stdout.splitlines()[0] == f"[{SOURCE}] {new}"  # the poll recorded it
    assert f"ticker run (pid {daemon.pid} on" in poll.stderr
    assert "it delivers these alerts" in poll.stderr
    assert " sent to mail" not in poll.stderr  # the poll sent nothing itself
    assert " sent to mail" in output  # the daemon did
    bodies = smtp.bodies()
    assert sum("delegation arrived in Cairo" in body for body in bodies) == 1, bodies
    assert [a["deliveries"] for a in tail_json(config)] == [{"mail": "sent"}]


@pytest.mark.e2e
def test_ticker_poll_without_a_daemon_takes_the_lock_and_delivers(
    tmp_path: Path, seed_lines
) -> None:
    new = "Hamas: The delegation arrived in Cairo for talks"
    pages = [ticker_page(seed_lines[:3]), ticker_page([new, *seed_lines[:3]])]
    with PageServer(pages) as site, SmtpSink() as smtp:
        config = write_config(tmp_path, site.url, smtp.url)
        assert ticker(config, "poll").returncode == 0
        second = ticker(config, "poll")
    assert second.returncode == 0, second.stderr
    assert "it delivers these alerts" not in second.stderr
    assert len(smtp.messages) == 1
    assert read_holder(tmp_path / "ticker.db") is None  # let go when it ended


def test_ticker_run_held_off_by_a_long_poll_exits_1_so_systemd_tries_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from ticker import instance
    from ticker.cli import EXIT_FAILURE, main

    monkeypatch.setattr(instance, "POLL_WAIT", 0.3)
    config = tmp_path / "config.toml"
    config.write_text('[ticker]\ndatabase = "ticker.db"\n', encoding="utf-8")
    with InstanceLock.acquire(tmp_path / "ticker.db", "poll"):
        result = CliRunner().invoke(main, ["--config", str(config), "run"])
    assert result.exit_code == EXIT_FAILURE, result.output
    assert "is in use by ticker poll (pid" in result.stderr
