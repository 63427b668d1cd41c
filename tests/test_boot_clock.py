"""The age of a pending alert across a restart: measured on the boot clock (CLOCK_BOOTTIME
and the boot id) the alert was stamped with, so a wall clock stepped while ticker was
stopped neither expires recent alerts nor gives them up; only after a reboot, or for alerts
stamped by no boot clock (an older ticker, another OS), does it come from the wall clock.
Found by bench/chaos.py: SIGKILLs and restarts under a wall clock stepped +25 h expired
alerts raised minutes before."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import Clock, Recorder, database_at, database_for
from servers import PageServer, SmtpSink, ticker_page
from test_channels import add_alerts, drain, statuses
from test_clock_steps import faketime  # noqa: F401  (a fixture)
from test_e2e import stop_daemon, tail_json, wait_until
from test_service_e2e import config_text, start

from ticker import clock as clock_module
from ticker.clock import Moment
from ticker.notify import Failure
from ticker.outbox import Outbox, Shaping, age_of
from ticker.store import Store

MACHINE_BOOT_CLOCK = clock_module.boot_clock  # before conftest's no_boot_clock replaces it
HOUR = 3600.0
DAY = 24 * HOUR
DOWN = Failure("connection refused")


def stamped(path: Path, clock: Clock) -> Store:
    """A process's store on the database at `path`, its boot clock the test's."""
    store = Store.open(path)
    store.boot_clock = clock.boot
    return store


def raised_then_restarted(tmp_path: Path, clock: Clock, texts: list[str]) -> Path:
    """Alerts raised to "mail" by a process that died before sending them."""
    path = database_for(tmp_path, "ticker.db")
    first = stamped(path, clock)
    add_alerts(first, clock, texts, ["mail"])
    first.close()
    return path


# --- a restart under a stepped wall clock -------------------------------------------------


@pytest.mark.parametrize("late", ["expire", "digest"])
def test_a_restart_under_a_clock_stepped_a_day_ahead_sends_alerts_raised_a_minute_before(
    tmp_path: Path, late: str
) -> None:
    clock, sender = Clock(), Recorder()
    path = raised_then_restarted(tmp_path, clock, ["one", "two"])
    clock.now += 60  # the restart, a minute later...
    clock.step(25 * HOUR)  # ...under a wall clock stepped a day ahead
    store = stamped(path, clock)
    drain(Outbox(store, sender, {"mail": Shaping(max_age=DAY, late=late)}, clock))
    assert [m.body for m in sender.messages] == ["one", "two"]  # fresh news, not late
    assert [s for _, s, _ in statuses(store, "mail")] == ["sent", "sent"]
    store.close()


def test_a_restart_under_a_clock_stepped_a_day_ahead_retries_a_failed_send(
    tmp_path: Path,
) -> None:
    clock, sender = Clock(), Recorder()
    path = raised_then_restarted(tmp_path, clock, ["one"])
    clock.now += 60
    clock.step(25 * HOUR)
    store = stamped(path, clock)
    outbox = Outbox(store, sender, {"mail": Shaping()}, clock)
    sender.refuse.append(DOWN)
    drain(outbox)
    assert statuses(store, "mail") == [("one", "pending", "connection refused")]  # not given up
    clock.now += 30
    drain(outbox)
    assert [m.body for m in sender.messages] == ["one"]
    store.close()


@pytest.mark.parametrize("max_age", [DAY, None])
def test_an_alert_a_day_old_on_the_boot_clock_is_late_whatever_the_wall_clock_says(
    tmp_path: Path, max_age: float | None
) -> None:
    """25 h really passed on this boot; the wall clock was stepped back 2 h meanwhile, so it
    says 23 h: the alert is expired (max_age), or given up after one failed attempt."""
    clock, sender = Clock(), Recorder()
    path = raised_then_restarted(tmp_path, clock, ["one"])
    clock.now += 25 * HOUR
    clock.step(-2 * HOUR)
    store = stamped(path, clock)
    sender.refuse.append(DOWN)
    drain(Outbox(store, sender, {"mail": Shaping(max_age=max_age)}, clock))
    assert sender.messages == []
    expected = "older than max_delivery_age" if max_age else "connection refused"
    assert statuses(store, "mail") == [("one", "expired" if max_age else "failed", expected)]
    store.close()


def test_a_step_between_join_and_alert_does_not_make_an_alert_raised_since_late(
    store: Store,
) -> None:
    """The channel joined this outbox; then the wall clock was stepped back two days, an
    alert was raised (the mail server down), and the clock was stepped forward again: the
    alert was raised after the join, and is a minute old, whatever the wall clock says."""
    clock, sender = Clock(), Recorder()
    store.boot_clock = clock.boot
    outbox = Outbox(store, sender, {"mail": Shaping(max_age=DAY)}, clock)
    clock.step(-2 * DAY)
    add_alerts(store, clock, ["one"], ["mail"])
    sender.refuse.append(DOWN)
    drain(outbox)
    clock.step(2 * DAY + HOUR)
    clock.now += 60
    drain(outbox)
    assert [m.body for m in sender.messages] == ["one"]


# --- where the boot clock cannot tell: the wall clock --------------------------------------


def test_an_alert_from_another_boot_is_aged_on_the_wall_clock(tmp_path: Path) -> None:
    clock, sender = Clock(), Recorder()
    path = raised_then_restarted(tmp_path, clock, ["old"])
    clock.now += 25 * HOUR
    clock.reboot()  # a boot clock 30 s old, its id new: the old stamp means nothing
    store = stamped(path, clock)
    add_alerts(store, clock, ["new"], ["mail"])
    drain(Outbox(store, sender, {"mail": Shaping(max_age=DAY)}, clock))
    assert [m.body for m in sender.messages] == ["new"]
    assert statuses(store, "mail") == [
        ("old", "expired", "older than max_delivery_age"),
        ("new", "sent", None),
    ]
    store.close()


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_alerts_from_before_boot_stamps_are_aged_on_the_wall_clock(tmp_path: Path) -> None:
    """A database written by a ticker at schema 5 (no boot stamps): migration 6 adds them
    empty, and those alerts' ages come from the wall clock, as they did."""
    clock, sender = Clock(), Recorder()
    path = tmp_path / "ticker.db"
    conn = database_at(path, 5)
    for number, age in enumerate([25 * HOUR, HOUR], start=1):
        created = clock.now - age
        conn.execute("INSERT INTO items (source, fingerprint, text, first_seen, last_seen) "
                     "VALUES ('src', ?, ?, ?, ?)", (f"f{number}", f"{age:.0f} s old", created,
                     created))  # fmt: skip
        conn.execute("INSERT INTO alerts (item_id, source, created) VALUES (?, 'src', ?)",
                     (number, created))  # fmt: skip
        conn.execute("INSERT INTO deliveries (alert_id, channel, created, next_attempt) "
                     "VALUES (?, 'mail', ?, ?)", (number, created, created))  # fmt: skip
    conn.close()
    store = stamped(path, clock)
    assert [(d.boot_id, d.boot_time) for d in store.pending_deliveries()] == [(None, None)] * 2
    drain(Outbox(store, sender, {"mail": Shaping(max_age=DAY)}, clock))
    assert [m.body for m in sender.messages] == ["3600 s old"]
    assert [s for _, s, _ in statuses(store, "mail")] == ["expired", "sent"]
    store.close()


def test_a_store_without_a_boot_clock_stamps_nothing_and_ages_on_the_wall_clock(
    store: Store,
) -> None:
    clock = Clock()
    store.boot_clock = lambda: None  # another OS
    add_alerts(store, clock, ["one"], ["mail"])
    (delivery,) = store.pending_deliveries()
    assert (delivery.boot_id, delivery.boot_time) == (None, None)
    clock.step(HOUR)
    assert age_of(delivery, Moment(clock(), clock.boot())) == HOUR


# --- the pieces -----------------------------------------------------------------------------


def test_alerts_are_stamped_with_the_store_boot_clock(store: Store) -> None:
    clock = Clock()
    store.boot_clock = clock.boot
    add_alerts(store, clock, ["one"], ["mail"])
    (delivery,) = store.pending_deliveries()
    assert (delivery.boot_id, delivery.boot_time) == clock.boot()
    clock.now += 90
    clock.step(DAY)
    assert age_of(delivery, Moment(clock(), clock.boot())) == 90


def test_moments_compare_on_the_boot_clock_only_within_one_boot() -> None:
    start = Moment(1000.0, ("a", 50.0))
    assert start.seconds_until(Moment(91_000.0, ("a", 110.0))) == 60  # a step: not counted
    assert start.seconds_until(Moment(91_000.0, ("b", 10.0))) == 90_000  # a reboot: wall
    assert start.seconds_until(Moment(1060.0)) == 60  # no boot clock now: wall
    assert Moment(1000.0).seconds_until(Moment(1060.0, ("a", 5.0))) == 60  # none then: wall


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CLOCK_BOOTTIME is Linux's")
def test_the_machine_boot_clock_is_clock_boottime_and_the_boot_id() -> None:
    before = time.clock_gettime(time.CLOCK_BOOTTIME)
    reading = MACHINE_BOOT_CLOCK()
    after = time.clock_gettime(time.CLOCK_BOOTTIME)
    assert reading is not None
    boot_id, seconds = reading
    assert boot_id == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert before <= seconds <= after


def test_a_store_stamps_alerts_with_the_machine_boot_clock_by_default(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock_module, "boot_clock", lambda: ("this-boot", 42.0))
    add_alerts(store, Clock(), ["one"], ["mail"])
    (delivery,) = store.pending_deliveries()
    assert (delivery.boot_id, delivery.boot_time) == ("this-boot", 42.0)


# --- `ticker run` under libfaketime -------------------------------------------------------


@pytest.mark.e2e
def test_ticker_restarted_under_a_clock_stepped_a_day_ahead_sends_what_was_pending(
    tmp_path: Path,
    faketime: tuple[Path, dict[str, str]],  # noqa: F811
) -> None:
    """bench/chaos.py's finding, end to end: an alert waits (the mail server answers 451),
    ticker is stopped, the wall clock is stepped +25 h, ticker starts again: the alert is
    sent, not expired as older than max_delivery_age (24 h). libfaketime with
    DONT_FAKE_MONOTONIC=1 leaves CLOCK_BOOTTIME real, as a step by NTP or by hand would."""
    offset, env = faketime
    page = ["Hamas: old line"]
    with PageServer([ticker_page(page)]) as site, SmtpSink() as smtp:
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"a": site.url}, smtp.url), encoding="utf-8")
        smtp.refusing = True
        daemon = start(config, **env)
        try:
            wait_until(lambda: site.requests >= 2, daemon)
            page.insert(0, "Hamas: talks resume in Cairo")
            site.pages.append(ticker_page(page))
            wait_until(lambda: smtp.refused >= 1, daemon)
        finally:
            stop_daemon(daemon)
        offset.write_text("+25h\n", encoding="ascii")
        smtp.refusing = False
        daemon = start(config, **env)
        try:
            wait_until(lambda: tail_json(config)[0]["deliveries"] != {"mail": "pending"}, daemon)
        finally:
            output = stop_daemon(daemon)
    assert "expired unsent" not in output
    assert [a["deliveries"] for a in tail_json(config)] == [{"mail": "sent"}]
    assert [str(m["Subject"]) for m in smtp.messages] == ["a: Hamas: talks resume in Cairo"]
