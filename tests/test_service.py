"""A good citizen of the sites it polls: conditional GET, Retry-After, backoff with jitter
and recovery, 403 recognised, adaptive polling; and health alerts, each exactly once.
In process, against a scripted site on loopback, with a test clock."""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import Clock, Recorder, database_for
from servers import Reply, ScriptedSite, ticker_page

from ticker import poll as poll_module
from ticker.config import Config, Source, load_config
from ticker.daemon import Daemon
from ticker.fetch import make_client
from ticker.notify import Failure, Message
from ticker.pacing import BACKOFF_CAP, backoff, next_delay
from ticker.scheduler import SteadyScheduler
from ticker.sources import html as html_kind
from ticker.store import Store

PAGE = ticker_page(["Hamas: first line", "Israeli media: second line"])
NEWER = ticker_page(
    ["Our correspondent: a new line", "Hamas: first line", "Israeli media: second line"]
)
NO_TICKER = "<html><body><main><p>Redesigned page, no ticker here.</p></main></body></html>"
EMPTY = "<html><body><div class='breaking-news'><span>BREAKING</span><ul></ul></div></body></html>"


# --- pacing, pure ---------------------------------------------------------------------


def source(**fields: object) -> Source:
    return Source(name="s", url="https://example.org/", **fields)  # type: ignore[arg-type]


def test_backoff_doubles_from_the_interval_and_is_capped() -> None:
    assert [backoff(30, n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 960, 1800]
    assert backoff(30, 50) == BACKOFF_CAP
    assert backoff(3600, 3) == 3600  # a long interval is its own cap


def test_delays_are_jittered_within_bounds_and_recover_on_success() -> None:
    rng = random.Random(7)
    s = source(interval=30.0, jitter=3.0)
    for failures in range(1, 10):
        for _ in range(50):
            delay = next_delay(s, failures=failures, rng=rng)
            assert 0.8 * backoff(30, failures) <= delay <= 1.2 * backoff(30, failures)
    assert len({round(next_delay(s, failures=3, rng=rng), 3) for _ in range(20)}) > 10
    assert all(30 <= next_delay(s, rng=rng) <= 33 for _ in range(50))  # success: the interval


def test_retry_after_is_never_undercut_and_not_believed_past_six_hours() -> None:
    s = source(interval=30.0)
    assert next_delay(s, failures=1, retry_after=600) >= 600
    assert next_delay(s, failures=1, retry_after=10**9) == 6 * 3600


def test_a_moving_ticker_is_polled_at_min_interval() -> None:
    s = source(interval=60.0, min_interval=10.0, jitter=0.0)
    assert next_delay(s, moving=True) == 10.0
    assert next_delay(s, moving=False) == 60.0
    assert next_delay(source(interval=60.0, jitter=0.0), moving=True) == 60.0  # not set


# --- against a scripted site ----------------------------------------------------------


def write_config(
    tmp_path: Path, url: str, source_extra: str = "", ticker_extra: str = ""
) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\ninterval = 30\n{ticker_extra}\n'
        f'[[source]]\nname = "site"\nurl = "{url}"\nselector = ".breaking-news li"\n'
        f'label = "BREAKING"\n{source_extra}\n'
        '[[channel]]\nname = "me"\nurls = ["json://127.0.0.1:9/"]\n',
        encoding="utf-8",
    )
    return load_config(path)


class Harness:
    """A Daemon on a test clock whose scheduler is never started: the test calls `poll`."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.monotonic = Clock(1000.0)  # moved with `clock` by `polls`, unless a test steps it
        self.store = Store.open(config.settings.database)
        self.sender = Recorder()
        self.source = config.sources[0]

    async def polls(
        self, count: int, step: float = 0.0, moves: list[tuple[float, float]] | None = None
    ) -> list[float]:
        """Poll `count` times, `step` seconds of test time apart (or, after poll k, the wall
        clock moved by moves[k][0] and the monotonic one by moves[k][1]); the planned
        delays."""
        delays = []
        async with make_client(self.config.settings) as client:
            daemon = Daemon(
                self.config, self.store, client, self.sender, self.clock, self.monotonic
            )
            daemon.schedule(SteadyScheduler(self.clock, self.monotonic))
            await daemon.coord.start()  # as `ticker run` does: on PostgreSQL, the leases
            try:
                for _ in range(count):
                    await daemon.poll(self.source)
                    state = self.store.source_state(self.source.name)
                    assert state is not None and state.next_poll is not None
                    delays.append(state.next_poll - self.clock())
                    wall, monotonic = moves[len(delays) - 1] if moves else (step, step)
                    self.clock.now += wall
                    self.monotonic.now += monotonic
            finally:
                await daemon.coord.stop()
        return delays

    def run(
        self, count: int, step: float = 0.0, moves: list[tuple[float, float]] | None = None
    ) -> list[float]:
        return asyncio.run(self.polls(count, step, moves))

    def state(self):
        return self.store.source_state(self.source.name)

    def health_titles(self) -> list[str]:
        return [m.body for m in self.sender.messages if m.title.startswith("ticker: source")]


@pytest.fixture
def harness_for(tmp_path):
    made: list[Harness] = []

    def make(url: str, **extra: str) -> Harness:
        harness = Harness(write_config(tmp_path, url, **extra), Clock())
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.store.close()


def test_an_unchanged_page_costs_a_304_no_parse_and_no_alert(harness_for, monkeypatch) -> None:
    with ScriptedSite([Reply(body=PAGE)]) as site:
        harness = harness_for(site.url)
        parsed = []
        real = html_kind.KIND.parse
        counting = lambda page, src: parsed.append(1) or real(page, src)  # noqa: E731
        monkeypatch.setattr(html_kind.KIND, "parse", counting)
        harness.run(3)
    assert site.requests[0].get("If-None-Match") is None
    assert site.requests[1]["If-None-Match"] == site.requests[2]["If-None-Match"]
    assert len(parsed) == 1  # the two 304s were not parsed
    state = harness.state()
    assert state.last_result == "not-modified" and state.consecutive_failures == 0
    assert harness.sender.messages == []
    assert "gzip" in site.requests[0]["Accept-Encoding"]  # compression offered


def test_a_304_leaves_the_connection_open_for_the_next_poll(harness_for) -> None:
    # A 304 closed unread made httpx drop the connection: every poll paid a new TCP (and
    # TLS) handshake.
    with ScriptedSite([Reply(body=PAGE)]) as site:
        harness_for(site.url).run(4)
    assert [r.get("If-None-Match") is not None for r in site.requests] == [False, True, True, True]
    assert len(set(site.peers)) == 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_delays_the_next_poll(harness_for, status) -> None:
    reply = Reply(status=status, body="slow down", headers=(("Retry-After", "900"),))
    with ScriptedSite([Reply(body=PAGE), reply]) as site:
        harness = harness_for(site.url)
        delays = harness.run(2)
    assert delays[0] <= 33  # the interval and its jitter
    assert delays[1] >= 900
    assert f"HTTP {status}" in (harness.state().last_error or "")


def test_failures_back_off_exponentially_then_the_interval_returns(harness_for) -> None:
    script = [Reply(body=PAGE), *[Reply(status=500, body="oops")] * 6, Reply(body=PAGE)]
    with ScriptedSite(script) as site:
        harness = harness_for(site.url)
        delays = harness.run(8, step=1.0)
    for failures, delay in enumerate(delays[1:7], start=1):
        assert 0.8 * backoff(30, failures) <= delay <= 1.2 * backoff(30, failures)
    assert delays[6] > 8 * delays[1] * 0.8 / 1.2  # grew
    assert 30 <= delays[7] <= 33  # recovered: the normal interval at once


def test_a_403_is_reported_as_blocking_with_advice_not_as_a_layout_change(harness_for) -> None:
    page = "<html><title>Just a moment...</title><body>Checking your browser</body></html>"
    with ScriptedSite([Reply(body=PAGE), Reply(status=403, body=page)]) as site:
        harness = harness_for(site.url)
        harness.run(2)
    state = harness.state()
    assert state.last_result == "failed" and state.layout_failures == 0
    assert "blocking ticker" in (state.last_error or "")
    assert "user_agent" in (state.last_error or "")


def test_a_lost_ticker_raises_one_layout_alert_and_one_recovery(harness_for) -> None:
    script = [Reply(body=PAGE), *[Reply(body=NO_TICKER)] * 6, Reply(body=NEWER), Reply(body=NEWER)]
    with ScriptedSite(script) as site:
        harness = harness_for(site.url)
        harness.run(len(script) + 2, step=1.0)
    alerts = harness.health_titles()
    assert len(alerts) == 2, alerts
    assert "ticker was not found 3 times in a row" in alerts[0]
    assert "ticker poll --dry-run --source site" in alerts[0]
    assert "update its selector or label" in alerts[0]  # the html kind's advice
    assert alerts[1] == "site works again; alerts from it resume."
    # and the line that appeared meanwhile was delivered as usual
    assert any("a new line" in m.body for m in harness.sender.messages)


def test_a_site_down_raises_one_alert_however_long_it_lasts(harness_for) -> None:
    script = [Reply(body=PAGE), *[Reply(status=502, body="bad gateway")] * 9, Reply(body=PAGE)]
    with ScriptedSite(script) as site:
        harness = harness_for(site.url, ticker_extra="health_failures = 4")
        harness.run(len(script), step=1.0)
    alerts = harness.health_titles()
    assert len(alerts) == 2
    assert alerts[0].startswith("site cannot be polled (4 failures in a row): HTTP 502")
    assert alerts[1].startswith("site works again")
    tail = harness.store.recent_alerts(10)
    assert [a.kind for a in tail] == ["health", "health"]


def test_an_empty_ticker_is_not_a_failure(harness_for) -> None:
    with ScriptedSite([Reply(body=PAGE), *[Reply(body=EMPTY)] * 6]) as site:
        harness = harness_for(site.url)
        harness.run(7, step=1.0)
    state = harness.state()
    assert state.consecutive_failures == 0 and state.health == "ok"
    assert harness.sender.messages == []


def test_health_alerts_go_only_to_channels_that_want_them(tmp_path) -> None:
    with ScriptedSite([Reply(body=PAGE), Reply(status=500, body="x")]) as site:
        path = tmp_path / "config.toml"
        path.write_text(
            f'[ticker]\ndatabase = "{database_for(tmp_path)}"\nhealth_failures = 1\n'
            f'[[source]]\nname = "site"\nurl = "{site.url}"\nselector = "li"\n'
            '[[channel]]\nname = "ops"\nurls = ["json://127.0.0.1:9/"]\n'
            '[[channel]]\nname = "family"\nurls = ["json://127.0.0.1:9/"]\nhealth = false\n',
            encoding="utf-8",
        )
        harness = Harness(load_config(path), Clock())
        harness.run(2)
    (alert,) = harness.store.recent_alerts(5)
    assert alert.kind == "health" and alert.deliveries == {"ops": "sent"}
    harness.store.close()


def test_a_moving_ticker_is_polled_faster_until_it_calms_down(harness_for) -> None:
    pages = [ticker_page([f"Source {i}: line number {i}"]) for i in range(3)]
    with ScriptedSite([Reply(body=p) for p in pages]) as site:
        harness = harness_for(site.url, source_extra="interval = 60\nmin_interval = 10\njitter = 0")
        delays = harness.run(3, step=5.0)  # new lines at every poll after the first
        harness.clock.now += 400  # quiet for longer than the moving window
        harness.monotonic.now += 400
        delays += harness.run(1)
    assert delays == [60.0, 10.0, 10.0, 60.0]


@pytest.mark.parametrize(
    ("wall_step", "later", "expected"),
    [
        (-3600.0, 400.0, 60.0),  # stepped back: calm after 400 s, not held "moving" an hour
        (25 * 3600.0, 100.0, 10.0),  # stepped forward: still moving 100 s after a new line
    ],
)
def test_the_moving_window_is_measured_on_the_monotonic_clock(
    harness_for, wall_step: float, later: float, expected: float
) -> None:
    pages = [ticker_page(["Source 0: a line"]), ticker_page(["Source 1: new", "Source 0: a line"])]
    with ScriptedSite([Reply(body=p) for p in pages]) as site:
        harness = harness_for(site.url, source_extra="interval = 60\nmin_interval = 10\njitter = 0")
        # poll 1: the baseline; poll 2 finds a new line; then the wall clock is stepped while
        # `later` seconds pass on the monotonic clock; poll 3 finds nothing new.
        moves = [(5.0, 5.0), (later + wall_step, later), (0.0, 0.0)]
        delays = harness.run(3, moves=moves)
    assert delays == [60.0, 10.0, expected]


def test_min_interval_longer_than_interval_is_a_config_error(tmp_path) -> None:
    from ticker.errors import ConfigError

    with pytest.raises(ConfigError, match="min_interval: expected at most the interval"):
        write_config(tmp_path, "https://example.org/", source_extra="min_interval = 120")


def test_poll_outcome_knows_when_the_ticker_moved() -> None:
    outcome = poll_module.PollOutcome(source="s")
    assert not outcome.found_new
    assert replace(outcome, error="x").failures == 0


class GatedSender(Recorder):
    """A channel that takes as long as the test wants: `send` waits for `gate`."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.sending = threading.Event()

    def send(self, channel: str, message: Message) -> Failure | None:
        self.sending.set()
        if not self.gate.wait(timeout=30):
            raise AssertionError("the test never opened the gate")
        return super().send(channel, message)


def test_a_scheduled_poll_does_not_wait_for_a_slow_channel(harness_for) -> None:
    newest = ticker_page(
        ["Hamas: newest line", "Our correspondent: a new line", "Hamas: first line"]
    )
    with ScriptedSite([Reply(body=PAGE), Reply(body=NEWER), Reply(body=newest)]) as site:
        harness = harness_for(site.url)
        sender = GatedSender()

        async def run() -> list[str]:
            async with make_client(harness.config.settings) as client:
                daemon = Daemon(harness.config, harness.store, client, sender, harness.clock)
                daemon.schedule(SteadyScheduler(harness.clock, harness.clock))
                await daemon.coord.start()  # as `ticker run` does: on PostgreSQL, the leases
                try:
                    await daemon.poll(harness.source)  # the baseline: nothing to send
                    first = await daemon.poll(harness.source, deliver=False)
                    assert first.found_new
                    assert await asyncio.to_thread(sender.sending.wait, 10)
                    # The channel holds the first alert; the next poll runs and records anyway.
                    second = await daemon.poll(harness.source, deliver=False)
                    assert second.found_new and sender.messages == []
                    sender.gate.set()
                    await daemon.idle()
                    await daemon.drain()
                finally:
                    await daemon.coord.stop()
                return [m.body for m in sender.messages]

        bodies = asyncio.run(run())
    assert len(bodies) == 2
    assert "a new line" in bodies[0] and "newest line" in bodies[1]
