"""A wall clock stepped back an hour or forward a day changes nothing but timestamps: polls go
on at their interval and nothing fires early. In process with a wall-clock shim that the
whole process sees (APScheduler's `datetime.now` included) while time.monotonic runs on; and
end to end with `ticker run` under libfaketime, its wall clock stepped while it runs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import apscheduler.executors.base
import apscheduler.schedulers.base
import httpx
import pytest
from conftest import Recorder
from servers import PageServer, SmtpSink, ticker_page
from test_e2e import stop_daemon, tail_json, wait_until
from test_service_e2e import config_text, start

from ticker.config import load_config
from ticker.daemon import Daemon
from ticker.fetch import make_client
from ticker.scheduler import STEP_TOLERANCE, SteadyScheduler
from ticker.store import Store

HOUR = 3600.0
WAIT = 10.0  # seconds of real time any wait below may take before the test fails
# Where distributions put libfaketime (Debian and Ubuntu per architecture, Fedora, Arch).
LIBFAKETIME = sorted(
    [
        *Path("/usr/lib").glob("*/faketime/libfaketime.so.1"),
        *Path("/usr/lib64/faketime").glob("libfaketime.so.1"),
        *Path("/usr/lib/faketime").glob("libfaketime.so.1"),
    ]
)


class Wall:
    """time.time() plus an offset the test steps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


# --- the scheduler alone ----------------------------------------------------------------


class Fake:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def noop() -> None:
    pass


def test_a_step_moves_every_job_by_the_step_and_a_drift_moves_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wall, monotonic = Fake(1_764_000_000.0), Fake(500.0)
    scheduler = SteadyScheduler(wall, monotonic)
    first = scheduler.at(30)
    scheduler.add_job(noop, "interval", id="a", seconds=30, next_run_time=first)
    wall.now += 10 + STEP_TOLERANCE / 2  # NTP slewing, well within the tolerance
    monotonic.now += 10
    assert scheduler.follow_clock() == 0.0
    assert scheduler.get_job("a").next_run_time == first
    with caplog.at_level(logging.WARNING, logger="ticker.scheduler"):
        wall.now -= HOUR
        assert scheduler.follow_clock() == pytest.approx(-HOUR)
        assert scheduler.follow_clock() == 0.0  # noticed once
    assert scheduler.get_job("a").next_run_time == first - timedelta(seconds=HOUR)
    assert caplog.messages == ["the wall clock stepped back 3600 s; schedules unaffected"]
    # `at` looks first: a run time asked for after a step is in the stepped clock's terms.
    wall.now += 25 * HOUR
    assert scheduler.at(0) == datetime.fromtimestamp(wall.now, UTC)
    assert scheduler.get_job("a").next_run_time == first + timedelta(seconds=24 * HOUR)


# --- a daemon, in process -----------------------------------------------------------------


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> Wall:
    """The wall clock the daemon and APScheduler see, stepped by the test."""
    shim = Wall()

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return datetime.fromtimestamp(shim(), tz)

    for module in (apscheduler.schedulers.base, apscheduler.executors.base):
        monkeypatch.setattr(module, "datetime", ShiftedDatetime)
    return shim


async def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_polls_go_on_at_their_interval_when_the_wall_clock_is_stepped(
    tmp_path: Path, wall: Wall, caplog: pytest.LogCaptureFixture
) -> None:
    housekeeping: list[float] = []

    async def run(site: PageServer) -> None:
        path = tmp_path / "config.toml"
        path.write_text(config_text(tmp_path, {"site": site.url}), encoding="utf-8")
        config = load_config(path)
        # Faster than the config allows, so that the test takes a second or two.
        config = replace(config, sources=(replace(config.sources[0], interval=0.1, jitter=0),))
        store = Store.open(config.settings.database)
        stop = asyncio.Event()
        async with make_client(config.settings) as client:
            daemon = Daemon(config, store, client, Recorder(), clock=wall)

            async def counted() -> None:
                housekeeping.append(time.monotonic())

            daemon.housekeeping = counted  # type: ignore[method-assign]
            running = asyncio.create_task(daemon.run(stop))
            try:
                await wait_for(lambda: site.requests >= 3, "the first polls")
                for step in (-HOUR, 25 * HOUR):
                    wall.offset += step
                    goal = site.requests + 5
                    await wait_for(lambda goal=goal: site.requests >= goal, f"polls after {step} s")
            finally:
                stop.set()
                await running
        store.close()

    with (
        PageServer([ticker_page(["Hamas: a line"])]) as site,
        caplog.at_level(logging.WARNING),
    ):
        asyncio.run(run(site))
    assert [r.getMessage() for r in caplog.records if r.name == "ticker.scheduler"] == [
        "the wall clock stepped back 3600 s; schedules unaffected",
        "the wall clock stepped forward 90000 s; schedules unaffected",
    ]
    assert "was missed by" not in caplog.text  # no job was dropped as late either
    assert housekeeping == []  # due a minute after the start: a day's step did not fire it


# --- `ticker run` under libfaketime -------------------------------------------------------


@pytest.fixture
def faketime(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A file holding libfaketime's offset ("+0" now; the test rewrites it) and the
    environment that makes a process read it at every clock call, CLOCK_REALTIME only."""
    if not LIBFAKETIME:
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    offset = tmp_path / "faketime"
    offset.write_text("+0\n", encoding="ascii")
    env = {
        "LD_PRELOAD": str(LIBFAKETIME[0]),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "DONT_FAKE_MONOTONIC": "1",
    }
    yield offset, env


@pytest.mark.e2e
def test_ticker_run_stepped_back_an_hour_then_forward_a_day_keeps_polling_and_delivering(
    tmp_path: Path, faketime: tuple[Path, dict[str, str]]
) -> None:
    offset, env = faketime
    page = ["Hamas: old line"]
    with PageServer([ticker_page(page)]) as site, SmtpSink() as smtp:
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"a": site.url}, smtp.url), encoding="utf-8")
        daemon = start(config, **env)
        try:
            wait_until(lambda: site.requests >= 2, daemon)
            # libfaketime's offsets from the real time: back 1 h, then forward 24 h from there
            steps = {"-1h": "Hamas: talks resume in Cairo", "+23h": "Hamas: a ceasefire holds"}
            for number, (step, line) in enumerate(steps.items(), start=1):
                offset.write_text(f"{step}\n", encoding="ascii")
                polled = site.requests
                wait_until(lambda: site.requests >= polled + 3, daemon)  # noqa: B023
                page.insert(0, line)
                site.pages.append(ticker_page(page))
                wait_until(lambda: len(smtp.messages) >= number, daemon)  # noqa: B023
        finally:
            output = stop_daemon(daemon)
    assert "the wall clock stepped back 3600 s; schedules unaffected" in output
    assert "the wall clock stepped forward 86400 s; schedules unaffected" in output
    assert [str(m["Subject"]) for m in smtp.messages] == [f"a: {line}" for line in steps.values()]
    assert [a["deliveries"] for a in tail_json(config)] == [{"mail": "sent"}] * 2


def test_every_job_runs_however_late_it_is(tmp_path: Path) -> None:
    """APScheduler skips a run more than `misfire_grace_time` (default 1 s) late, judged on
    the wall clock when its executor gets to it: a starved process, or a step of the
    clock between the scheduler's wake-up and the run, dropped the start-up drain and held
    pending alerts until the next one. Every job of the daemon runs late rather than never
    (once: coalesced)."""
    path = tmp_path / "config.toml"
    path.write_text(
        config_text(tmp_path, {"a": "http://127.0.0.1:9/", "b": "http://127.0.0.1:9/b"})
    )
    config = load_config(path)
    store = Store.open(config.settings.database)

    async def jobs() -> list[tuple[str, object, bool]]:
        scheduler = SteadyScheduler()
        Daemon(config, store, httpx.AsyncClient(), Recorder()).schedule(scheduler)
        return [(j.id, j.misfire_grace_time, j.coalesce) for j in scheduler.get_jobs()]

    scheduled = asyncio.run(jobs())
    store.close()
    assert len(scheduled) == 4  # two sources, the drain timer, housekeeping
    assert all(grace is None and coalesced for _, grace, coalesced in scheduled), scheduled
