"""One story from several sources ([dedupe] across_sources): the second source's line is
"also reported by", not a second alert; `ticker tail` and `--json` show it under the first;
a channel with `also = "notify"` gets a short follow-up."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Clock, database_at, database_for, lines, poll_now
from servers import Reply, ScriptedSite, ticker_page

from ticker.cli import main
from ticker.config import Config, parse_config
from ticker.errors import ConfigError
from ticker.notify import Failure, Limits, Message
from ticker.outbox import Outbox, Shaping
from ticker.poll import judge_for
from ticker.route import router
from ticker.store import SCHEMA_VERSION, Store, across_key

STRIP, CHANNEL = "strip", "telegram"
URL = {STRIP: "https://english.example/", CHANNEL: "https://t.me/s/Chan"}
STORY = "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks"
STORY_AGAIN = "Hamas: the delegation will arrive in Cairo tomorrow to continue the talks."
STORY_MORE = (
    "Hamas: The delegation will arrive in Cairo tomorrow to continue the talks with mediators"
)
OTHER_STORY = "Israeli media: Sirens sound in Metula and Kiryat Shmona"
OLD = "Local sources: Clashes near the border crossing overnight"


class Inbox:
    """A Sender that accepts every message and keeps it by channel."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Message]] = []

    def send(self, channel: str, message: Message) -> Failure | None:
        self.got.append((channel, message))
        return None

    def limits(self, channel: str) -> Limits:
        return Limits()

    def bodies(self, channel: str) -> list[str]:
        return [message.body for name, message in self.got if name == channel]


def make_config(
    tmp_path: Path,
    *,
    across: bool | None = None,
    channels: list[dict[str, Any]] | None = None,
    urls: dict[str, str] = URL,
) -> Config:
    """Two sources (an html strip and a Telegram channel) and `channels` (default: "ops",
    which takes follow-ups, and "quiet", which does not; both take both sources)."""
    never = ["json://127.0.0.1:9/"]  # the tests send through an Inbox, never to this
    data: dict[str, Any] = {
        "ticker": {"database": str(database_for(tmp_path))},
        "source": [
            {"name": STRIP, "url": urls[STRIP], "selector": ".breaking-news li"},
            {"name": CHANNEL, "url": urls[CHANNEL], "kind": "telegram"},
        ],
        "channel": channels
        or [
            {"name": "ops", "urls": never, "also": "notify"},
            {"name": "quiet", "urls": never},
        ],
    }
    if across is not None:
        data["dedupe"] = {"across_sources": across}
    return parse_config(data, tmp_path / "config.toml")


class Sites:
    """Both sources recorded as the daemon records them (router, judge, across), driven by
    a test clock, with an outbox sending to an Inbox."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.store = Store.open(config.settings.database)
        self.inbox = Inbox()
        shaping = {c.name: Shaping.of(c, Limits()) for c in config.channels}
        self.outbox = Outbox(self.store, self.inbox, shaping, clock)
        self.pages: dict[str, list[str]] = {STRIP: [OLD], CHANNEL: [OLD]}
        for name in self.pages:  # both baselines: the old line is on both
            self.show(name)

    def show(self, name: str, *texts: str) -> None:
        """Source `name` puts `texts` (newest first) on top; ticker polls it."""
        self.clock.now += 30
        self.pages[name] = [*texts, *self.pages[name]]
        self.store.record_poll(
            name,
            URL[name],
            lines(*self.pages[name]),
            self.clock(),
            router(self.config.channels_for(name), self.clock),
            judge=judge_for(self.config),
            across=self.config.dedupe.across_sources,
        )

    def drain(self) -> None:
        asyncio.run(self.outbox.drain())

    def close(self) -> None:
        self.store.close()


def tail(config: Config, *args: str) -> str:
    """`ticker tail ARGS` on `config` written to its file."""
    path = config.path
    path.write_text(
        f'[ticker]\ndatabase = "{config.settings.database}"\n'
        + "".join(
            f'[[source]]\nname = "{s.name}"\nurl = "{s.url}"\nkind = "{s.kind}"\n'
            + ('selector = ".breaking-news li"\n' if s.kind == "html" else "")
            for s in config.sources
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["--config", str(path), "tail", *args])
    assert result.exit_code == 0, result.output
    return result.output


def alerted(store: Store) -> list[tuple[str, str]]:
    return [(alert.source, alert.text) for alert in store.recent_alerts(100)]


def test_the_same_story_from_a_second_source_is_one_alert_shown_as_also(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    assert config.dedupe.across_sources  # the default
    sites = Sites(config, Clock())
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, STORY_AGAIN)  # the same line, written another way
    sites.drain()
    assert alerted(sites.store) == [(STRIP, STORY)]  # before: the telegram line alerted too
    (alert,) = sites.store.recent_alerts(10)
    assert [(also.source, also.text) for also in alert.also] == [(CHANNEL, STORY_AGAIN)]
    assert sites.inbox.bodies("quiet") == [STORY.removeprefix("Hamas: ")]
    sites.close()
    text = tail(config)
    assert f"{STRIP}  {STORY}" in text
    also_line = next(line for line in text.splitlines() if "also:" in line)
    assert also_line.strip().startswith(f"\u21b3 also: {CHANNEL} (") and STORY_AGAIN in also_line
    (record,) = [json.loads(line) for line in tail(config, "--json").splitlines()]
    assert record["text"] == STORY
    assert [(a["source"], a["text"]) for a in record["also"]] == [(CHANNEL, STORY_AGAIN)]
    assert record["also"][0]["first_seen"].endswith("Z")
    assert record["also"][0]["deliveries"] == {"ops": "sent"}


def test_a_channel_with_also_notify_gets_a_follow_up_and_the_others_nothing(
    tmp_path: Path,
) -> None:
    sites = Sites(make_config(tmp_path), Clock())
    sites.show(CHANNEL, STORY)  # this time the channel is first: it makes the alert
    sites.show(STRIP, STORY_MORE)  # the strip's version adds a detail (an update-like line)
    sites.drain()
    assert alerted(sites.store) == [(CHANNEL, STORY)]
    assert sites.inbox.bodies("ops") == [
        STORY.removeprefix("Hamas: "),
        f"also reported by {STRIP}: {STORY_MORE}",
    ]
    assert [m.title for c, m in sites.inbox.got if c == "ops"][1] == (
        f"Also: {STRIP}: {STORY_MORE.removeprefix('Hamas: ')}"  # too long with the attribution
    )
    assert sites.inbox.bodies("quiet") == [STORY.removeprefix("Hamas: ")]  # nothing again
    sites.close()


def test_a_different_story_from_the_other_source_still_alerts(tmp_path: Path) -> None:
    sites = Sites(make_config(tmp_path), Clock())
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, OTHER_STORY)
    assert alerted(sites.store) == [(STRIP, STORY), (CHANNEL, OTHER_STORY)]
    assert all(not alert.also for alert in sites.store.recent_alerts(10))
    sites.close()


def test_across_sources_false_keeps_one_alert_per_source(tmp_path: Path) -> None:
    config = make_config(tmp_path, across=False)
    sites = Sites(config, Clock())
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, STORY_AGAIN)
    sites.drain()
    assert alerted(sites.store) == [(STRIP, STORY), (CHANNEL, STORY_AGAIN)]
    assert len(sites.inbox.bodies("quiet")) == 2
    shared = sites.store.conn.execute(
        "SELECT count(*) FROM terms WHERE key = ?", (across_key("delegation"),)
    ).fetchone()[0]
    assert shared == 0  # off writes no shared postings: it costs what it did
    sites.close()


def test_a_sources_own_update_still_alerts_as_an_update(tmp_path: Path) -> None:
    sites = Sites(make_config(tmp_path), Clock())
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, STORY_AGAIN)  # also
    sites.show(CHANNEL, "Hamas: The delegation arrived in Cairo tonight to continue the talks")
    kinds = [(alert.source, alert.kind) for alert in sites.store.recent_alerts(10)]
    assert kinds == [(STRIP, "new"), (CHANNEL, "update")]
    sites.show(STRIP, STORY_AGAIN.replace("Cairo", "Cairo,"))  # the strip's own re-post
    assert len(sites.store.recent_alerts(10)) == 2  # a duplicate of its own line: logged
    sites.close()


def test_a_new_sources_baseline_is_never_also(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store, clock = Store.open(config.settings.database), Clock()
    judge = judge_for(config)
    store.record_poll(STRIP, URL[STRIP], lines(OLD), clock(), ["quiet"], judge=judge, across=True)
    clock.now += 30
    store.record_poll(
        STRIP, URL[STRIP], lines(STORY, OLD), clock(), ["quiet"], judge=judge, across=True
    )
    clock.now += 30
    first = store.record_poll(
        CHANNEL, URL[CHANNEL], lines(STORY, OLD), clock(), ["quiet"], judge=judge, across=True
    )
    assert first.baseline and [item.kind for item in first.new] == ["new", "new"]
    assert all(item.also_of is None for item in first.new)
    (alert,) = store.recent_alerts(10)
    assert alert.also == []
    store.close()


def test_a_channel_that_takes_only_the_second_source_still_gets_the_story(
    tmp_path: Path,
) -> None:
    never = ["json://127.0.0.1:9/"]
    channels = [
        {"name": "strip-only", "urls": never, "sources": [STRIP]},
        {"name": "tg-only", "urls": never, "sources": [CHANNEL], "also": "notify"},
    ]
    sites = Sites(make_config(tmp_path, channels=channels), Clock())
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, STORY_AGAIN)
    sites.drain()
    assert sites.inbox.bodies("strip-only") == [STORY.removeprefix("Hamas: ")]
    assert sites.inbox.bodies("tg-only") == [STORY_AGAIN.removeprefix("Hamas: ")]  # its news
    item = sites.store.conn.execute("SELECT kind FROM items WHERE text = ?", (STORY_AGAIN,))
    assert item.fetchone()[0] == "also"  # and tail still shows it under the first alert
    sites.close()


def test_a_renamed_source_keeps_its_lines_findable_across_sources(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    sites = Sites(config, Clock())
    sites.show(CHANNEL, STORY)
    assert sites.store.rename_source(CHANNEL, "tg2", URL[CHANNEL], judge_for(config), across=True)
    sites.show(STRIP, STORY_AGAIN)
    (alert,) = sites.store.recent_alerts(10)
    assert (alert.source, [also.source for also in alert.also]) == ("tg2", [STRIP])
    sites.close()


def test_forgetting_the_first_item_unlinks_its_also(tmp_path: Path) -> None:
    sites = Sites(make_config(tmp_path), Clock())
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, STORY_AGAIN)
    sites.drain()
    sites.clock.now += 40 * 86400
    sites.pages[STRIP] = [OLD]  # the strip dropped the story long ago; the channel shows it
    sites.show(STRIP)
    sites.show(CHANNEL)
    sites.store.prune(sites.clock() - 30 * 86400)
    rows = sites.store.conn.execute("SELECT text, kind, also_of FROM items ORDER BY id")
    assert [tuple(row) for row in rows] == [
        (OLD, "new", None),
        (OLD, "new", None),
        (STORY_AGAIN, "also", None),
    ]
    sites.close()


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_a_schema_7_database_migrates_to_8_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "ticker.db"
    conn = database_at(path, 7)
    conn.execute(
        "INSERT INTO items (source, fingerprint, text, first_seen, last_seen) "
        "VALUES (?, ?, ?, 1.0, 1.0)",
        (STRIP, lines(OLD)[0].fingerprint, OLD),
    )
    conn.close()
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION
    rows = store.conn.execute("SELECT text, kind, also_of FROM items").fetchall()
    assert [tuple(row) for row in rows] == [(OLD, "new", None)]
    store.close()


def test_a_strip_and_a_telegram_channel_polled_over_loopback_make_one_alert(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    strip_pages = [ticker_page([OLD]), ticker_page([STORY, OLD])]
    channel_pages = [telegram_page([OLD]), telegram_page([STORY_MORE, OLD])]
    with (
        ScriptedSite([Reply(body=strip_pages[0])]) as strip,
        ScriptedSite([Reply(body=channel_pages[0])]) as channel,
    ):
        urls = {STRIP: strip.url, CHANNEL: f"{channel.base_url}/s/Chan"}
        config = make_config(tmp_path, urls=urls)
        for name in (STRIP, CHANNEL):  # baselines
            assert poll_now(config, store, clock, name).record is not None
        strip.replies = [Reply(body=strip_pages[1])]
        channel.replies = [Reply(body=channel_pages[1])]
        clock.now += 30
        strip_poll = poll_now(config, store, clock, STRIP)
        clock.now += 30
        channel_poll = poll_now(config, store, clock, CHANNEL)
    assert strip_poll.record is not None and len(strip_poll.record.alerts) == 1
    assert channel_poll.record is not None and channel_poll.record.alerts == ()
    assert [item.kind for item in channel_poll.record.new] == ["also"]
    inbox = Inbox()
    shaping = {c.name: Shaping.of(c, Limits()) for c in config.channels}
    asyncio.run(Outbox(store, inbox, shaping, clock).drain())
    assert [body.splitlines()[0] for body in inbox.bodies("quiet")] == [
        STORY.removeprefix("Hamas: ")
    ]  # the story once, with its link
    follow_up = inbox.bodies("ops")[1].splitlines()
    assert follow_up[0] == f"also reported by {CHANNEL}: {STORY_MORE}"


def telegram_page(texts: list[str]) -> str:
    """A Telegram channel preview with `texts` as posts, newest first (post ids count up)."""
    import html

    posts = "".join(
        f'<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" '
        f'data-post="Chan/{100 + len(texts) - index}"><div class="tgme_widget_message_text">'
        f"{html.escape(text)}</div></div></div>"
        for index, text in enumerate(texts)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Chan – Telegram</title>"
        f"</head><body><main>{posts}</main></body></html>"
    )


def test_the_keys_are_checked_like_any_other(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'channel\[1\] \("ops"\)\.also: expected "notify" or'):
        make_config(
            tmp_path, channels=[{"name": "ops", "urls": ["json://127.0.0.1:9/"], "also": "loud"}]
        )
    with pytest.raises(ConfigError, match=r"dedupe\.across_sources: expected true or false"):
        make_config(tmp_path, across="yes")  # type: ignore[arg-type]


def test_an_update_another_source_already_showed_word_for_word_is_also(tmp_path: Path) -> None:
    sites = Sites(make_config(tmp_path), Clock())
    arrived = "Hamas: The delegation arrived in Cairo tonight to continue the talks"
    sites.show(STRIP, STORY)
    sites.show(CHANNEL, STORY_AGAIN)
    sites.show(STRIP, arrived)  # the strip's update: alerted as an update
    sites.show(CHANNEL, arrived)  # the channel's update of its line: the strip said it
    alerts = sites.store.recent_alerts(10)
    assert [(a.source, a.kind) for a in alerts] == [(STRIP, "new"), (STRIP, "update")]
    assert [also.text for also in alerts[1].also] == [arrived]
    sites.close()
