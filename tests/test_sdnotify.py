"""ticker.sdnotify against real Unix datagram sockets standing in for systemd's notify socket."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import queued_datagrams

from ticker import sdnotify

RECV_TIMEOUT = 1.0  # seconds; a datagram that was sent is already queued, so this is generous


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see no notify socket or watchdog from the environment pytest itself runs in."""
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)


def recv(sock: socket.socket) -> list[str]:
    """The fields of the next datagram."""
    return sock.recv(65536).decode("utf-8").split("\n")


def test_ready(notify_socket: socket.socket) -> None:
    assert sdnotify.notify("READY=1") is True
    assert recv(notify_socket) == ["READY=1"]


def test_several_fields_go_in_one_datagram(notify_socket: socket.socket) -> None:
    assert sdnotify.notify("READY=1", "STATUS=polling 3 sources", "MAINPID=1234")
    assert recv(notify_socket) == ["READY=1", "STATUS=polling 3 sources", "MAINPID=1234"]
    assert queued_datagrams(notify_socket) == []


def test_status_is_one_line_and_capped(notify_socket: socket.socket) -> None:
    assert sdnotify.notify("STATUS=first\nREADY=1\r\nthird")
    assert recv(notify_socket) == ["STATUS=first READY=1 third"]

    assert sdnotify.notify("STATUS=" + "x" * 1000)
    (field,) = recv(notify_socket)
    text = field.removeprefix("STATUS=")
    assert len(text) == sdnotify.STATUS_MAX
    assert text == "x" * (sdnotify.STATUS_MAX - 1) + "…"


def test_newlines_and_nuls_in_other_fields_cannot_add_assignments(
    notify_socket: socket.socket,
) -> None:
    assert sdnotify.notify("ERRNO=5\nSTOPPING=1", "BUSERROR=a\0b")
    assert recv(notify_socket) == ["ERRNO=5 STOPPING=1", "BUSERROR=ab"]


def test_reloading_carries_the_monotonic_clock(notify_socket: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    reloading, monotonic = recv(notify_socket)
    assert reloading == "RELOADING=1"
    key, _, usec = monotonic.partition("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(usec) <= after


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"ticker-test-{os.getpid()}-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(b"\0" + name.encode())
        except OSError as exc:
            pytest.skip(f"no abstract Unix sockets here: {exc}")
        sock.settimeout(RECV_TIMEOUT)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.notify("READY=1", "STATUS=abstract")
        assert recv(sock) == ["READY=1", "STATUS=abstract"]


@pytest.mark.parametrize("value", [None, ""])
def test_no_notify_socket_is_a_quiet_no_op(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        monkeypatch.setenv("NOTIFY_SOCKET", value)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.reloading() is False


def test_no_fields_sends_nothing(notify_socket: socket.socket) -> None:
    assert sdnotify.notify() is False
    assert queued_datagrams(notify_socket) == []


@pytest.mark.parametrize("value", ["relative/notify", "@", "vsock:2:1234"])
def test_unusable_address_is_false(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", value)
    with caplog.at_level(logging.DEBUG, logger="ticker.sdnotify"):
        assert sdnotify.notify("READY=1") is False
    assert "unsupported NOTIFY_SOCKET" in caplog.text


def test_missing_socket_path_is_false_not_an_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    with caplog.at_level(logging.DEBUG, logger="ticker.sdnotify"):
        assert sdnotify.notify("READY=1") is False
    assert "failed" in caplog.text


def test_socket_that_is_not_listening_is_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "closed"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))  # the file remains, nobody is bound to it
    assert sdnotify.notify("WATCHDOG=1") is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sdnotify.watchdog_interval() is None

    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert sdnotify.watchdog_interval() == 30.0

    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 30.0

    monkeypatch.setenv("WATCHDOG_USEC", "2500")
    assert sdnotify.watchdog_interval() == 0.0025


@pytest.mark.parametrize("pid", ["other", "", "abc", "-1", "1 2"])
def test_watchdog_for_another_process_is_none(monkeypatch: pytest.MonkeyPatch, pid: str) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1) if pid == "other" else pid)
    assert sdnotify.watchdog_interval() is None


@pytest.mark.parametrize(
    "usec", ["", "0", "-5", "abc", "1.5", "30 s", " 30", "3_000", "١٢٣", str(2**64 - 1)]
)
def test_garbage_watchdog_usec_is_none(monkeypatch: pytest.MonkeyPatch, usec: str) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", usec)
    assert sdnotify.watchdog_interval() is None


def test_watchdog_loop_pings_until_cancelled(notify_socket: socket.socket) -> None:
    beats: list[float] = []

    async def run() -> asyncio.Task[None]:
        task = asyncio.create_task(sdnotify.watchdog_loop(0.2, lambda: beats.append(1.0)))
        await asyncio.sleep(0.35)  # pings at about 0, 0.1, 0.2 and 0.3 s
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task

    task = asyncio.run(asyncio.wait_for(run(), timeout=5))
    assert task.cancelled()
    pings = queued_datagrams(notify_socket)
    assert len(pings) >= 2
    assert all(ping == ["WATCHDOG=1"] for ping in pings)
    assert len(beats) == len(pings)

    time.sleep(0.15)  # longer than one period: a loop still running would have pinged again
    assert queued_datagrams(notify_socket) == []


def test_watchdog_loop_stops_when_beat_raises(notify_socket: socket.socket) -> None:
    def beat() -> None:
        raise RuntimeError("stuck")

    with pytest.raises(RuntimeError, match="stuck"):
        asyncio.run(asyncio.wait_for(sdnotify.watchdog_loop(0.2, beat), timeout=5))
    assert queued_datagrams(notify_socket) == []


def test_watchdog_loop_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError):
        asyncio.run(asyncio.wait_for(sdnotify.watchdog_loop(0), timeout=5))


def test_a_blocked_event_loop_sends_no_watchdog_pings(tmp_path: Path, monkeypatch) -> None:
    """What systemd sees when the daemon's loop is stuck: the pings stop for as long as it
    is, so WatchdogSec= runs out and systemd kills and restarts the service."""
    path = tmp_path / "notify.sock"
    notify_socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_socket.bind(str(path))
    notify_socket.settimeout(0.05)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    arrivals: list[float] = []
    done = threading.Event()

    def listen() -> None:  # the service manager's side, in its own thread
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                notify_socket.recv(64)
                arrivals.append(time.monotonic())

    async def stuck_for_a_while() -> None:
        task = asyncio.create_task(sdnotify.watchdog_loop(0.2))  # a ping every 0.1 s
        await asyncio.sleep(0.35)
        time.sleep(0.8)  # the loop is blocked: a stuck poll, a deadlock...
        await asyncio.sleep(0.35)
        task.cancel()

    listener = threading.Thread(target=listen)
    listener.start()
    try:
        asyncio.run(asyncio.wait_for(stuck_for_a_while(), timeout=5))
    finally:
        done.set()
        listener.join(timeout=2)
        notify_socket.close()
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(arrivals) >= 4
    assert max(gaps) >= 0.75  # silence for as long as the loop was blocked
    assert sorted(gaps)[len(gaps) // 2] < 0.2  # otherwise a ping every 0.1 s
