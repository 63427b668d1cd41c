"""Each alert once, whatever happens around a send: a mark the database cannot write (locked,
full, failing), a slow channel beside a fast one, a clean stop in the middle of a send, and a
wall clock stepped either way (issue 12, findings 1, 3, 5 and 9)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from apprise.plugins.email import NotifyEmail
from conftest import Clock, LiveClock, Recorder
from pipeline import Pipeline
from servers import SmtpSink
from test_outage import small_disk  # noqa: F401  (a fixture)
from test_outbox import URL, FlakySender, add_alerts, drain
from test_service import write_config

from ticker import daemon as daemon_module
from ticker.config import load_config
from ticker.daemon import Daemon
from ticker.notify import Failure, Limits, Message
from ticker.outbox import GIVE_UP_AFTER, Outbox, Sender, Shaping
from ticker.store import Store

DRAINS = 6  # drains while the database refuses writes: each one would have re-sent before


def statuses(store: Store) -> list[str]:
    return [row[0] for row in store.conn.execute("SELECT status FROM deliveries ORDER BY id")]


class AfterSend:
    """A Sender that runs `hook` once, right after the first message was accepted: the
    database breaks between the send and its mark. Sends are taken one at a time (channels
    send from their own threads), so the hook has run before any send's mark can be
    written: without that, another channel's send could be marked before the database
    broke, and that channel would go on."""

    def __init__(self, inner: Sender, hook: Callable[[], None]) -> None:
        self.inner, self.hook, self.hooked = inner, hook, False
        self._one_at_a_time = threading.Lock()

    def send(self, channel: str, message: Message) -> Failure | None:
        with self._one_at_a_time:
            failure = self.inner.send(channel, message)
            if not self.hooked:
                self.hooked = True
                self.hook()
        return failure

    def limits(self, channel: str) -> Limits:
        return self.inner.limits(channel)


def separate(texts: list[str]) -> list[str]:
    """Lines of distinct attributions: each alert is a message of its own."""
    return [f"Source {i}: {text}" for i, text in enumerate(texts)]


# --- finding 1: send, then mark, never send twice ------------------------------------------


def test_a_mark_that_cannot_be_written_holds_the_channel_and_nothing_is_sent_twice(
    store: Store, monkeypatch, caplog
) -> None:
    clock, recorder = Clock(), Recorder()
    add_alerts(store, clock, separate(["one", "two", "three"]), ["mail"])
    broken = threading.Event()
    real = Store.transaction

    @contextmanager
    def failing(self: Store) -> Iterator[sqlite3.Connection]:
        if broken.is_set():
            raise sqlite3.OperationalError("database or disk is full")
        with real(self) as conn:
            yield conn

    monkeypatch.setattr(Store, "transaction", failing)
    sender = AfterSend(recorder, broken.set)  # the disk fills while "one" is being sent
    outbox = Outbox(store, sender, {"mail": Shaping()}, clock)
    caplog.set_level(logging.INFO, logger="ticker.outbox")
    for _ in range(DRAINS):
        with suppress(sqlite3.OperationalError):  # the next claim cannot be written either
            drain(outbox)
        clock.now += 15
    assert [m.body for m in recorder.messages] == ["one"]
    assert statuses(store) == ["pending", "pending", "pending"]
    unrecorded = [r for r in caplog.records if "cannot record it" in r.getMessage()]
    assert len(unrecorded) == 1 and unrecorded[0].levelno == logging.ERROR
    assert unrecorded[0].getMessage() == (
        "alert 1 was sent to mail but the database cannot record it (database or disk is full);"
        " holding the channel until it can"
    )

    broken.clear()  # space is freed: the mark lands first, then the channel goes on
    drain(outbox)
    drain(outbox)
    assert [m.body for m in recorder.messages] == ["one", "two", "three"]
    assert statuses(store) == ["sent", "sent", "sent"]
    recovered = [r for r in caplog.records if "of alert 1 at last" in r.getMessage()]
    assert len(recovered) == 1


@pytest.mark.sqlite_only("a SQLite write lock held by another connection")
def test_a_database_locked_by_another_process_after_a_send_sends_it_once(
    sqlite_store: Store, caplog
) -> None:
    store = sqlite_store  # reaches into SQLite itself
    """The real thing: another connection takes the write lock (BEGIN IMMEDIATE) while a
    message is being sent, and keeps it over several drains."""
    clock, recorder = Clock(), Recorder()
    add_alerts(store, clock, separate(["one", "two"]), ["mail", "phone"])
    store.conn.execute("PRAGMA busy_timeout = 50")  # don't wait 10 s per write here
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    sender = AfterSend(recorder, lambda: other.execute("BEGIN IMMEDIATE"))
    outbox = Outbox(store, sender, {"mail": Shaping(), "phone": Shaping()}, clock)
    for _ in range(DRAINS):
        try:
            drain(outbox)
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)  # a claim cannot be written: nothing more is sent
        clock.now += 15
    # The channels send side by side: "one" went out once on the channel whose send broke
    # the database, and at most once on the other if its send had begun; each is held.
    assert [m.body for m in recorder.messages] in (["one"], ["one", "one"])
    held = caplog.text.count("holding the channel until it can")
    assert held == len(recorder.messages)
    other.execute("ROLLBACK")
    other.close()
    drain(outbox)
    assert sorted(m.body for m in recorder.messages) == ["one", "one", "two", "two"]
    assert statuses(store) == ["sent"] * 4


@pytest.mark.sqlite_only("a SQLite file on a full tmpfs")
def test_a_full_file_system_after_a_send_sends_it_once(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811
    monkeypatch,
    caplog,
) -> None:
    """A real ENOSPC on a 2 MB tmpfs, real e-mail to a loopback SMTP server."""
    monkeypatch.setattr(NotifyEmail, "request_rate_per_sec", 0)
    with SmtpSink() as smtp:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[ticker]\ndatabase = "{small_disk}/t.db"\n'
            '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
            f'[[channel]]\nname = "mail"\nurls = ["{smtp.url}"]\n',
            encoding="utf-8",
        )
        pipeline = Pipeline(load_config(config), Clock())
        pipeline.show(*separate(["one", "two", "three"]))
        # An empty WAL: the next write needs new blocks of the file system.
        pipeline.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = small_disk / "filler"

        def fill() -> None:
            with filler.open("wb", buffering=0) as handle, pytest.raises(OSError):
                while True:  # to the last block
                    handle.write(b"\0" * 65536)  # unbuffered: no bytes left to flush at close

        pipeline.outbox.sender = AfterSend(pipeline.outbox.sender, fill)
        for _ in range(DRAINS):
            with suppress(sqlite3.OperationalError):  # no claim can be written: nothing sent
                pipeline.drain()
            pipeline.clock.now += 15
        assert len(smtp.messages) == 1
        assert "cannot record it (database or disk is full)" in caplog.text
        filler.unlink()
        pipeline.drain()
        assert sorted(str(m["Subject"]) for m in smtp.messages) == [
            "src: Source 0: one",
            "src: Source 1: two",
            "src: Source 2: three",
        ]
        assert statuses(pipeline.store) == ["sent"] * 3
        pipeline.close()


def test_a_refused_write_is_tried_once_per_drain_not_once_per_channel(
    store: Store, monkeypatch
) -> None:
    """Each try may wait out the busy timeout on the event loop: with the database locked,
    five channels cost one wait per drain, not five."""
    clock, recorder = Clock(), Recorder()
    channels = [f"channel{n}" for n in range(5)]
    add_alerts(store, clock, ["one"], channels)
    tries = []

    def locked(*args: object) -> set[int]:
        tries.append(args)
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "claim", locked)
    outbox = Outbox(store, recorder, {name: Shaping() for name in channels}, clock)
    for _ in range(3):
        with pytest.raises(sqlite3.OperationalError):
            drain(outbox)
        clock.now += 15
    assert len(tries) == 3 and recorder.messages == []
    monkeypatch.undo()
    drain(outbox)
    assert len(recorder.messages) == 5


# --- finding 5: channels are independent -----------------------------------------------------


class GatedChannel(Recorder):
    """Holds every message to channel `slow` until the test opens `gate`."""

    def __init__(self, slow: str = "slow") -> None:
        super().__init__()
        self.slow = slow
        self.gate = threading.Event()
        self.slow_sending = threading.Event()
        self.fast_done = threading.Event()
        self.fast: list[str] = []

    def send(self, channel: str, message: Message) -> Failure | None:
        if channel == self.slow:
            self.slow_sending.set()
            if not self.gate.wait(timeout=30):
                raise AssertionError("the test never opened the gate")
        else:
            self.fast.append(message.body)
            if len(self.fast) == 2:
                self.fast_done.set()
        return super().send(channel, message)


def test_a_slow_channel_never_delays_another(store: Store) -> None:
    clock, sender = Clock(), GatedChannel()
    add_alerts(store, clock, separate(["one", "two"]), ["slow", "fast"])
    outbox = Outbox(store, sender, {"slow": Shaping(), "fast": Shaping()}, clock)

    async def run() -> None:
        draining = asyncio.create_task(outbox.drain())
        assert await asyncio.to_thread(sender.slow_sending.wait, 10)
        # "slow" is stuck in its first send; "fast" gets both alerts meanwhile, in order.
        assert await asyncio.to_thread(sender.fast_done.wait, 10)
        assert sender.fast == ["one", "two"]
        assert not draining.done()  # drain() waits for every channel
        sender.gate.set()
        result = await draining
        assert result.sent == 4

    asyncio.run(run())
    assert [m.body for m in sender.messages][-2:] == ["one", "two"]  # slow's, in order
    assert statuses(store) == ["sent"] * 4


# --- finding 9: a clean stop never duplicates ------------------------------------------------


def test_a_clean_stop_waits_for_the_send_in_flight_and_marks_it(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    """SIGTERM (the stop event) in the middle of a send. The send outlasts the grace after
    which polls are cancelled (the old grace cancelled the delivery too, and the message
    went out unmarked): it is awaited and marked; nothing new is sent once stopping."""
    monkeypatch.setattr(daemon_module, "POLL_GRACE", 0.05)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    config = write_config(tmp_path, "http://127.0.0.1:9/")  # polls fail: no site needed
    clock, sender = LiveClock(), GatedChannel(slow="me")  # the config's channel
    store = Store.open(config.settings.database)
    add_alerts(store, clock, separate(["one", "two"]), ["me"])
    caplog.set_level(logging.INFO)

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            daemon = Daemon(config, store, client, sender, clock)
            stop = asyncio.Event()
            running = asyncio.create_task(daemon.run(stop))
            assert await asyncio.to_thread(sender.slow_sending.wait, 10)
            stop.set()
            # Well past POLL_GRACE: the stop still waits for the send in flight.
            done, _ = await asyncio.wait({running}, timeout=1.0)
            assert not done
            sender.gate.set()
            await asyncio.wait_for(running, timeout=10)

    asyncio.run(run())
    assert [m.body for m in sender.messages] == ["one"]
    assert statuses(store) == ["sent", "pending"]  # "two" waits for the next start
    assert "channel(s) sending" in caplog.text
    store.close()


def test_the_units_stop_timeout_covers_the_send_grace() -> None:
    for unit in ("systemd/ticker.service", "systemd/user/ticker.service"):
        text = (Path(__file__).parent.parent / unit).read_text(encoding="utf-8")
        stop = [line for line in text.splitlines() if line.startswith("TimeoutStopSec=")]
        assert float(stop[-1].split("=")[1]) >= daemon_module.STOP_GRACE + 3, unit


# --- finding 3: waits and ages on the monotonic clock ------------------------------------------


def stepped(store: Store, channels: list[str], group_window: float = 0.0):
    """An outbox on a wall clock the test steps and a monotonic clock it moves by hand."""
    wall, monotonic, sender = Clock(), Clock(1000.0), FlakySender()
    add_alerts(store, wall, ["one"], channels)
    shaping = {name: Shaping(group_window=group_window) for name in channels}
    return wall, monotonic, sender, Outbox(store, sender, shaping, wall, monotonic)


def test_a_wall_clock_stepped_a_day_ahead_during_an_outage_gives_nothing_up(store: Store) -> None:
    wall, monotonic, sender, outbox = stepped(store, ["mail"])
    sender.down.add("mail")
    drain(outbox)
    wall.now += 25 * 3600  # the clock is stepped forward while the server is down
    monotonic.now += 30
    drain(outbox)
    assert statuses(store) == ["pending"]  # retried, not failed: it is only 30 s old
    sender.down.clear()
    monotonic.now += 60
    drain(outbox)
    assert sender.received == {"mail": ["one"]}
    assert statuses(store) == ["sent"]


def test_a_wall_clock_stepped_back_an_hour_keeps_the_retry_schedule(store: Store) -> None:
    wall, monotonic, sender, outbox = stepped(store, ["mail"])
    sender.down.add("mail")
    drain(outbox)
    (row,) = store.pending_deliveries()
    assert row.next_attempt == wall() + 30  # stored and shown in wall time
    wall.now -= 3600
    monotonic.now += 29
    attempts = sender.attempts
    drain(outbox)
    assert sender.attempts == attempts  # not due yet
    sender.down.clear()
    monotonic.now += 1
    drain(outbox)  # 30 s after the failure, not an hour and 30 s
    assert sender.received == {"mail": ["one"]}


def test_a_wall_clock_stepped_back_does_not_stretch_a_group_window(store: Store) -> None:
    wall, monotonic, sender, outbox = stepped(store, ["mail"], group_window=30)
    drain(outbox)
    assert sender.received == {}  # held for the group window
    wall.now -= 3600
    monotonic.now += 30
    drain(outbox)
    assert sender.received == {"mail": ["one"]}


def test_the_give_up_age_runs_on_the_monotonic_clock(store: Store) -> None:
    wall, monotonic, sender, outbox = stepped(store, ["mail"])
    sender.down.add("mail")
    wall.now += 3600  # an alert an hour old when this process first sees it
    drain(outbox)
    monotonic.now += GIVE_UP_AFTER - 3600 - 1
    drain(outbox)
    assert statuses(store) == ["pending"]  # a second short of a day: retried
    monotonic.now += 60  # its next retry, past a day
    drain(outbox)
    assert statuses(store) == ["failed"]


def test_a_restart_after_a_step_back_waits_at_most_the_retry_delay(store: Store) -> None:
    """The stored retry time is in wall time; a process reading it after the clock was
    stepped back waits what was left of the delay, never the step."""
    wall, monotonic, sender, outbox = stepped(store, ["mail"])
    sender.down.add("mail")
    drain(outbox)  # retry stored at wall + 30
    wall.now -= 3600
    sender.down.clear()
    again = Outbox(store, sender, {"mail": Shaping()}, wall, monotonic)
    drain(again)
    assert sender.received == {}
    monotonic.now += 30
    drain(again)
    assert sender.received == {"mail": ["one"]}


def test_the_daemon_gives_the_outbox_its_monotonic_clock(tmp_path: Path) -> None:
    config = write_config(tmp_path, URL)
    store = Store.open(config.settings.database)
    monotonic = Clock(5.0)
    daemon = Daemon(config, store, httpx.AsyncClient(), Recorder(), Clock(), monotonic)
    assert daemon.outbox.monotonic is monotonic
    store.close()


def test_an_alert_raised_while_the_clock_was_ahead_is_due_at_once_after_a_restart(
    store: Store,
) -> None:
    """A delivery never tried is due when it is made, however far its stored times are
    from the wall clock a restarted process reads (bench.chaos: lines recorded while the
    clock was 25 h ahead waited an hour after it came back)."""
    wall, monotonic, sender, _ = stepped(store, [])
    wall.now += 25 * 3600  # the clock is ahead while a line is recorded
    add_alerts(store, wall, ["ahead"], ["mail"])
    wall.now -= 25 * 3600  # and back when ticker restarts
    restarted = Outbox(store, sender, {"mail": Shaping()}, wall, monotonic)
    drain(restarted)
    assert sender.received == {"mail": ["ahead"]}
