"""Issue 12, findings 4 and 12: a channel that refuses a message for good, a channel that
leaves the config, and alerts that waited too long to be news."""

from __future__ import annotations

import asyncio
import logging
import tomllib
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from apprise.plugins.email import NotifyEmail
from click.testing import CliRunner
from conftest import Clock, Recorder, database_for, lines
from pipeline import Pipeline
from servers import SmtpSink

from ticker.cli import main
from ticker.config import load_config, parse_config
from ticker.daemon import Daemon, poll_once
from ticker.errors import ConfigError
from ticker.notify import Failure, Limits, Message
from ticker.outbox import Outbox, Shaping
from ticker.store import Store

URL = "https://example.org/"
DAY = 86_400.0
REFUSAL = "message refused (554 5.7.1 Message rejected as spam)"


def add_alerts(store: Store, clock: Clock, texts: list[str], channels: list[str]) -> None:
    """One poll per text, newest on top, each raising one alert to `channels`."""
    page = ["baseline"]
    store.record_poll("src", URL, lines(*page), clock(), channels)
    for text in texts:
        page.insert(0, text)
        store.record_poll("src", URL, lines(*page), clock(), channels)


def drain(outbox: Outbox) -> None:
    asyncio.run(outbox.drain())


def statuses(store: Store, channel: str) -> list[tuple[str, str, str | None]]:
    rows = store.conn.execute(
        "SELECT i.text, d.status, d.last_error FROM deliveries d JOIN alerts a ON a.id = "
        "d.alert_id JOIN items i ON i.id = a.item_id WHERE d.channel = ? ORDER BY d.id",
        (channel,),
    )
    return [tuple(row) for row in rows]


# --- permanent refusals (finding 4) -------------------------------------------------------


def test_a_permanent_refusal_fails_at_once_and_the_channel_goes_on(store: Store) -> None:
    clock, mail, ops = Clock(), Recorder(), Recorder()

    class Both:
        def send(self, channel: str, message: Message) -> Failure | None:
            return (mail if channel == "mail" else ops).send(channel, message)

        def limits(self, channel: str) -> Limits:
            return Limits()

    add_alerts(store, clock, ["one", "two", "three"], ["mail"])
    shaping = {"mail": Shaping(), "ops": Shaping(health=True)}
    outbox = Outbox(store, Both(), shaping, clock)
    mail.refuse.append(Failure(REFUSAL, permanent=True))
    drain(outbox)
    assert statuses(store, "mail") == [
        ("one", "failed", REFUSAL),
        ("two", "sent", None),
        ("three", "sent", None),
    ]
    assert [m.body for m in mail.messages] == ["two", "three"]
    assert [(m.title, m.body) for m in ops.messages] == [
        ("ticker: channel mail", f"channel mail refuses messages: {REFUSAL}")
    ]


def test_one_health_alert_per_refusing_episode_even_across_a_restart(tmp_path: Path) -> None:
    clock, sender = Clock(), Recorder()
    store = Store.open(database_for(tmp_path, "ticker.db"))
    shaping = {"mail": Shaping(health=True), "ops": Shaping(health=True)}
    refused = Failure(REFUSAL, permanent=True)

    def health_alerts() -> int:
        return len(statuses(store, "ops"))

    add_alerts(store, clock, ["one"], ["mail"])
    sender.refuse.append(refused)
    drain(Outbox(store, sender, shaping, clock))
    assert health_alerts() == 1
    assert statuses(store, "mail")[-1][1] == "failed"  # never told about itself

    clock.now += 60  # a restart: a new outbox on the same database, refusing again
    store.close()
    store = Store.open(database_for(tmp_path, "ticker.db"))
    add_alerts(store, clock, ["two"], ["mail"])
    sender.refuse.append(refused)
    drain(Outbox(store, sender, shaping, clock))
    assert health_alerts() == 1  # the same episode: not repeated

    clock.now += 60  # mail delivers again: the episode ends...
    add_alerts(store, clock, ["three"], ["mail"])
    outbox = Outbox(store, sender, shaping, clock)
    drain(outbox)
    assert statuses(store, "mail")[-1][1] == "sent"
    clock.now += 60  # ...so the next refusal is news again
    add_alerts(store, clock, ["four"], ["mail"])
    sender.refuse.append(refused)
    drain(outbox)
    assert health_alerts() == 2
    store.close()


def test_a_temporary_failure_is_still_retried_in_order(store: Store) -> None:
    clock, sender = Clock(), Recorder()
    add_alerts(store, clock, ["one", "two"], ["mail"])
    sender.refuse.append(Failure("message refused (451 4.3.0 try again later)"))
    drain(Outbox(store, sender, {"mail": Shaping(), "ops": Shaping(health=True)}, clock))
    assert [s for _, s, _ in statuses(store, "mail")] == ["pending", "pending"]
    assert statuses(store, "ops") == []


@pytest.fixture
def smtp_pair(monkeypatch):
    """Two SMTP servers: "mail" (the one that refuses) and "ops" (the health channel)."""
    monkeypatch.setattr(NotifyEmail, "request_rate_per_sec", 0)
    with SmtpSink() as mail, SmtpSink() as ops:
        yield mail, ops


def test_an_smtp_554_fails_that_alert_only_and_tells_the_health_channel_once(
    tmp_path: Path, smtp_pair: tuple[SmtpSink, SmtpSink]
) -> None:
    mail, ops = smtp_pair
    mail.refuse_data = "554 5.7.1 Message rejected as spam"
    mail.refuse_marker = b"casino"
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
        f'[[channel]]\nname = "mail"\nurls = ["{mail.url}"]\nhealth = false\n'
        f'[[channel]]\nname = "ops"\nurls = ["{ops.url}"]\nsources = []\n',
        encoding="utf-8",
    )
    clock = Clock()
    pipeline = Pipeline(load_config(path), clock)
    pipeline.show("Hamas: first")
    pipeline.show("Win at the casino tonight")  # the server refuses this one for good
    pipeline.show("Israeli media: third")
    pipeline.show("Another casino offer")  # refused too: same episode, no second alert
    pipeline.show("Reuters: fifth")
    pipeline.drain()
    assert [text for text, *_ in statuses(pipeline.store, "mail")] == [
        "Hamas: first",
        "Win at the casino tonight",
        "Israeli media: third",
        "Another casino offer",
        "Reuters: fifth",
    ]
    assert [(s, e) for _, s, e in statuses(pipeline.store, "mail")] == [
        ("sent", None),
        ("failed", REFUSAL),
        ("sent", None),
        ("failed", REFUSAL),
        ("sent", None),
    ]
    assert [body.strip() for body in mail.bodies()] == ["first", "third", "fifth"]
    assert [str(m["Subject"]) for m in ops.messages] == ["ticker: channel mail"]
    assert f"channel mail refuses messages: {REFUSAL}" in ops.bodies()[0]
    pipeline.close()


# --- removed channels and late alerts (finding 12) ----------------------------------------


def test_a_channel_removed_on_reload_has_its_pending_deliveries_cancelled(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock, sender = Clock(), Recorder()
    outbox = Outbox(store, sender, {"mail": Shaping(), "old": Shaping()}, clock)
    sender.refuse.append(Failure("connection refused"))
    add_alerts(store, clock, ["one", "two"], ["old"])
    drain(outbox)  # "old" is down: both wait
    with caplog.at_level(logging.WARNING, logger="ticker.outbox"):
        for _ in range(2):  # a reload (Daemon._apply, then its database step); a second one
            outbox.reconfigure(sender, {"mail": Shaping()})
            outbox.cancel_removed()
    assert statuses(store, "old") == [
        ("one", "cancelled", "channel removed"),
        ("two", "cancelled", "channel removed"),
    ]
    cancelled = [r.getMessage() for r in caplog.records if "cancelled" in r.getMessage()]
    assert cancelled == [
        "channel old is not in the config any more: 2 pending deliveries cancelled"
    ]
    assert store.channel_stats()["old"].cancelled == 2

    clock.now += 3 * DAY  # added back days later: nothing old goes out
    outbox.reconfigure(sender, {"mail": Shaping(), "old": Shaping()})
    add_alerts(store, clock, ["fresh"], ["old"])
    drain(outbox)
    assert [m.body for m in sender.messages] == ["fresh"]


def test_a_channel_removed_while_ticker_was_stopped_is_cancelled_at_start(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[channel]]\nname = "mail"\nurls = ["json://127.0.0.1:9/"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    clock, sender = Clock(), Recorder()
    store = Store.open(config.settings.database)
    add_alerts(store, clock, ["one"], ["pager", "mail"])
    asyncio.run(poll_once(config, (), store, sender, clock))  # what `ticker poll` runs
    assert statuses(store, "pager") == [("one", "cancelled", "channel removed")]
    assert statuses(store, "mail") == [("one", "sent", None)]
    store.close()


@pytest.mark.parametrize("late", ["expire", "digest"])
def test_alerts_older_than_max_delivery_age_are_never_sent_as_fresh_news(
    store: Store, late: str
) -> None:
    clock, sender = Clock(), Recorder()
    add_alerts(store, clock, ["one", "two"], ["mail"])  # ticker stops before sending them
    clock.now += 2 * DAY  # started again two days later
    add_alerts(store, clock, ["three"], ["mail"])
    shaping = {"mail": Shaping(max_age=DAY, late=late)}
    drain(Outbox(store, sender, shaping, clock))
    if late == "expire":
        assert [m.body for m in sender.messages] == ["three"]
        assert [s for _, s, _ in statuses(store, "mail")] == ["expired", "expired", "sent"]
        assert store.channel_stats()["mail"].expired == 2
        return
    digest, fresh = sender.messages
    held = datetime.fromtimestamp(clock.now - 2 * DAY).strftime("%H:%M")
    assert digest.title == f"ticker: 2 late alerts (held since {held})"
    assert "one" in digest.body and "two" in digest.body
    assert fresh.body == "three"
    assert [s for _, s, _ in statuses(store, "mail")] == ["sent", "sent", "sent"]


def test_a_wall_clock_step_expires_nothing_raised_while_the_channel_was_configured(
    store: Store,
) -> None:
    clock, sender = Clock(), Recorder()
    outbox = Outbox(store, sender, {"mail": Shaping(max_age=DAY)}, clock)
    add_alerts(store, clock, ["one"], ["mail"])
    clock.now += 2 * DAY  # the wall clock jumps before the drain
    drain(outbox)
    assert [m.body for m in sender.messages] == ["one"]


# --- config -------------------------------------------------------------------------------

AGE = "a number of seconds between 60 and 604800"
CHANNEL = '[[channel]]\nname = "me"\nurls = ["json://localhost/"]\n'


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("max_delivery_age = 0", f"expected {AGE}, got 0"),
        ('max_delivery_age = "1d"', f"expected {AGE}, got '1d'"),
        ("max_delivery_age = true", f"expected {AGE}, got True"),
        ("max_delivery_age = 604801", f"expected {AGE}, got 604801"),
        ('late = "drop"', """expected "expire" or "digest", got 'drop'"""),
        ("late = 1", """expected "expire" or "digest", got 1"""),
    ],
)
def test_bad_max_delivery_age_and_late_are_config_errors(line: str, expected: str) -> None:
    key = line.split(" ")[0]
    with pytest.raises(ConfigError) as error:
        parse_config(tomllib.loads(CHANNEL + line), Path("config.toml"))
    assert str(error.value) == f'config.toml: channel[1] ("me").{key}: {expected}'


def test_max_delivery_age_and_late_defaults_and_values() -> None:
    default = parse_config(tomllib.loads(CHANNEL), Path("c.toml")).channels[0]
    assert (default.max_delivery_age, default.late) == (DAY, "expire")
    text = CHANNEL + 'max_delivery_age = 3600\nlate = "digest"\n'
    channel = parse_config(tomllib.loads(text), Path("c.toml")).channels[0]
    assert (channel.max_delivery_age, channel.late) == (3600, "digest")
    shape = Shaping.of(channel, Limits())
    assert (shape.max_age, shape.late, shape.health) == (3600, "digest", True)


def test_a_reload_without_a_channel_cancels_its_deliveries_and_status_counts_them(
    tmp_path: Path,
) -> None:
    def config_with(*names: str) -> Path:
        path = tmp_path / "config.toml"
        channels = "".join(
            f'[[channel]]\nname = "{name}"\nurls = ["json://127.0.0.1:9/{name}"]\n'
            for name in names
        )
        path.write_text(
            f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n{channels}', encoding="utf-8"
        )
        return path

    clock, sender = Clock(), Recorder()
    config = load_config(config_with("mail", "pager"))
    store = Store.open(config.settings.database)
    sender.refuse = [Failure("connection refused")] * 2  # pager is down: its alert waits

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            daemon = Daemon(config, store, client, sender, clock)
            await daemon.coord.start()  # as `ticker run` does: on PostgreSQL, the leases
            try:
                add_alerts(store, clock, ["one"], ["pager"])
                await daemon.drain()
                assert statuses(store, "pager") == [("one", "pending", "connection refused")]
                await daemon.reload(lambda: (load_config(config_with("mail")), sender))
            finally:
                await daemon.coord.stop()

    asyncio.run(run())
    assert statuses(store, "pager") == [("one", "cancelled", "channel removed")]
    store.close()
    shown = CliRunner().invoke(main, ["--config", str(tmp_path / "config.toml"), "status"])
    pager = shown.stdout.split("\npager ", 1)[1].splitlines()
    assert pager[0].split()[:2] == ["0", "0"]  # nothing pending, nothing failed
    assert [line.strip() for line in pager[1:3]] == [
        "1 cancelled: the channel left the config",
        "not in the config any more",
    ]
