"""Telegram through Apprise's tgram:// against a local fake of the Bot API (tests/servers.py)
that checks what Telegram checks: token, chat id, parse mode, entities, length."""

from __future__ import annotations

from pathlib import Path

import pytest
from apprise.plugins.telegram import NotifyTelegram
from click.testing import CliRunner
from conftest import Clock, database_for
from pipeline import Pipeline
from servers import TELEGRAM_LIMIT, TelegramFake, free_port

from ticker.cli import main
from ticker.config import Config, load_config
from ticker.notify import AppriseSender, Message, format_message
from ticker.store import Delivery

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = "-1001234567890"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def telegram(monkeypatch, clock):
    """The fake Bot API on loopback, with Apprise's Telegram endpoint pointed at it."""
    with TelegramFake(TOKEN, [CHAT], clock=clock) as fake:
        monkeypatch.setattr(NotifyTelegram, "notify_url", fake.api_url)
        yield fake


def write_config(tmp_path: Path, extra: str = "", chat: str = CHAT) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
        f'[[channel]]\nname = "phone"\nurls = ["tgram://{TOKEN}/{chat}"]\n{extra}\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return load_config(path)


def test_site_markup_arrives_literally_never_as_formatting_or_a_link(
    tmp_path, telegram, clock
) -> None:
    pipeline = Pipeline(write_config(tmp_path), clock)
    hostile = (
        '<i>Hamas</i>: <b>urgent</b> & <a href="https://evil.example/">read more</a> '
        "*bold* _italic_ [link](https://evil.example/) `code` &amp; &lt;"
    )
    pipeline.show(hostile)
    pipeline.drain()
    (message,) = telegram.messages
    assert telegram.refusals == []
    assert message.parse_mode == "HTML"
    assert message.chat_id == CHAT
    # The only formatting is the title Apprise bolds; the site's tags are text.
    assert message.entities == [("b", "")]
    title, body = message.text.split("\r\n", 1)
    assert title == (  # too long for a title: the headline cut at a word
        'src: <b>urgent</b> & <a href="https://evil.example/">read more</a> *bold* _italic_\u2026'
    )
    assert body == hostile  # whole, attribution and all
    assert "evil.example" not in "".join(attrs for _, attrs in message.entities)


def test_a_burst_longer_than_telegram_allows_is_split_never_cut(tmp_path, telegram, clock) -> None:
    pipeline = Pipeline(write_config(tmp_path), clock)
    burst = [f"Our correspondent: report {i:02d} " + "detail & more " * 70 for i in range(12)]
    pipeline.show(*burst)
    pipeline.drain()
    assert telegram.refusals == []  # not one "message is too long"
    assert len(telegram.messages) >= 3
    assert all(len(m.text) <= TELEGRAM_LIMIT for m in telegram.messages)
    items = [line for m in telegram.messages for line in m.text.splitlines()[1:]]  # not titles
    reports = [int(line.split("report ")[1][:2]) for line in items if "report " in line]
    assert sorted(reports) == list(range(12))  # every line once, none cut
    assert all(line.rstrip().endswith("more") for line in items if "report " in line)


def test_a_429_is_waited_out_for_retry_after_and_order_is_kept(tmp_path, telegram, clock) -> None:
    pipeline = Pipeline(write_config(tmp_path), clock)
    telegram.throttle(2, retry_after=9)
    pipeline.show("Hamas: first")
    pipeline.show("Israeli media: second", "Hamas: first")
    pipeline.drain()
    assert telegram.messages == []
    assert [d.next_attempt - clock() for d in pipeline.store.pending_deliveries()][0] == 9
    clock.now += 8
    pipeline.drain()
    assert telegram.messages == []  # still inside retry_after: nothing sent early
    clock.now += 1
    pipeline.drain()  # the second 429 answers this attempt: wait 9 s more
    clock.now += 9
    pipeline.drain()
    # A headline the title holds whole is the message, once (and not bold: nothing follows).
    assert [m.text for m in telegram.messages] == [
        "src: Hamas: first",
        "src: Israeli media: second",
    ]
    assert [status for status, _ in telegram.refusals] == [429, 429]
    assert pipeline.store.pending_deliveries() == []


def test_a_flood_becomes_one_digest_within_telegram_limits(tmp_path, telegram, clock) -> None:
    pipeline = Pipeline(write_config(tmp_path), clock)  # max_per_minute defaults to 20
    telegram.per_minute = 20  # the fake refuses what the real group limit would
    for i in range(45):
        pipeline.show(f"Source {i}: statement {i}")
    pipeline.drain()
    assert telegram.refusals == []
    assert len(telegram.messages) == 20
    digest = telegram.messages[-1].text
    assert digest.startswith("ticker: 26 alerts over the rate limit")
    assert "Source 44: statement 44" in digest
    clock.now += 30
    pipeline.show("Late source: one more")
    pipeline.drain()
    assert len(telegram.messages) == 20  # held, not dropped, not sent too fast
    clock.now += 31
    pipeline.drain()
    assert telegram.messages[-1].text.endswith("one more")
    assert telegram.refusals == []


def test_a_routed_channel_only_gets_what_its_rules_take(tmp_path, telegram, clock) -> None:
    config = write_config(
        tmp_path, 'attributions = ["Al Mayadeen\'s correspondent"]\nexclude = ["/weather/"]'
    )
    pipeline = Pipeline(config, clock)
    pipeline.show(
        "Our correspondent: Israeli drone strike on Bint Jbeil",
        "Hamas: statement on the talks",
        "Al Mayadeen correspondent: weather warning for the south",
    )
    pipeline.drain()
    assert [m.text for m in telegram.messages] == [
        "src: Our correspondent: Israeli drone strike on Bint Jbeil"
    ]
    assert len(pipeline.store.recent_alerts(10)) == 3  # every line is still logged


def test_notify_test_names_the_reason_and_never_the_token(tmp_path, telegram) -> None:
    config = write_config(tmp_path, chat="-100999")
    result = CliRunner().invoke(main, ["--config", str(config.path), "notify-test", "phone"])
    assert result.exit_code == 1
    assert "phone: failed:" in result.output and "chat not found" in result.output
    assert TOKEN not in result.output and TOKEN.split(":")[1] not in result.output
    good = write_config(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(good.path), "notify-test"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "phone: sent\n"
    assert telegram.messages[-1].text.startswith("ticker: test message to phone")


def test_the_bold_first_line_is_the_headline_and_the_body_does_not_repeat_it(
    tmp_path, telegram, clock
) -> None:
    sender = AppriseSender(write_config(tmp_path).channels)
    delivery = Delivery(
        id=1, alert_id=1, channel="phone", attempts=0, created=0.0, next_attempt=0.0,
        source="src", text="Hamas: <b>5</b> killed & 3 wounded", attribution="Hamas",
        body="<b>5</b> killed & 3 wounded", url="https://example.org/news/1?a=1&b=2",
        first_seen=0.0,
    )  # fmt: skip
    assert sender.send("phone", format_message(delivery)) is None
    (message,) = telegram.messages
    assert message.text == (
        "src: Hamas: <b>5</b> killed & 3 wounded\r\nhttps://example.org/news/1?a=1&b=2"
    )
    assert message.entities == [("b", "")]  # the title, bold; the site's <b> is text
    assert telegram.refusals == []


# --- failure reasons and permanence (issue 12, finding 4) ---------------------------------


@pytest.mark.parametrize(
    ("status", "description", "reason", "permanent"),
    [
        (
            403,
            "Forbidden: bot was blocked by the user",
            "Forbidden: bot was blocked by the user (HTTP 403)",
            True,
        ),
        (400, "Bad Request: chat not found", "Bad Request: chat not found (HTTP 400)", True),
        (
            429,
            "Too Many Requests: retry after 7",
            "Too Many Requests: retry after 7 (HTTP 429)",
            False,
        ),
        (502, "Bad Gateway", "Bad Gateway (HTTP 502)", False),
    ],
)
def test_a_refusal_carries_telegrams_own_description_and_whether_it_is_permanent(
    tmp_path, telegram, status: int, description: str, reason: str, permanent: bool
) -> None:
    config = write_config(tmp_path)
    telegram.fail(1, status, description)
    failure = AppriseSender(config.channels).send("phone", Message("src: test", "a line"))
    assert failure is not None
    assert (failure.reason, failure.permanent) == (reason, permanent)
    assert failure.retry_after == (7 if status == 429 else None)
    assert TOKEN not in failure.reason and TOKEN.split(":")[1] not in failure.reason


def test_an_unreachable_api_is_connection_refused_and_never_shows_the_token(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(NotifyTelegram, "notify_url", f"http://127.0.0.1:{free_port()}/bot")
    config = write_config(tmp_path)
    failure = AppriseSender(config.channels).send("phone", Message("src: test", "a line"))
    assert failure is not None
    assert (failure.reason, failure.permanent) == ("connection refused", False)
