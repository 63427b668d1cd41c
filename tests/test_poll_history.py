"""A source's lines across 304 replies, housekeeping and renames, polled over loopback
(tests/servers.py) with a test clock: lines still on the page are never forgotten, a
renamed source keeps its history, no invisible character reaches a message, and a ticker
over the cap keeps its newest lines (issue 12, findings 6, 11, 14 and 15)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from conftest import Clock, Recorder, poll_now, source_config
from servers import Reply, ScriptedSite, ticker_page

from ticker.config import Config
from ticker.notify import Limits
from ticker.outbox import Outbox, Shaping
from ticker.poll import PollOutcome
from ticker.sources import kind as kind_module
from ticker.store import Store

DAY = 86_400.0
RETENTION_DAYS = 3
SELECTOR = ".breaking-news li"
OLD_LINES = ["Hamas: The delegation arrives in Cairo", "Strikes reported near Tyre"]


def make_config(tmp_path: Path, *sources: dict[str, Any]) -> Config:
    """A config of `sources` (selector filled in), one channel, a short retention."""
    tables = [{"selector": SELECTOR, **source} for source in sources]
    return source_config(tmp_path, *tables, retention_days=RETENTION_DAYS)


def alerted_texts(store: Store) -> list[str]:
    return [alert.text for alert in store.recent_alerts(100)]


# --- finding 6: lines stay alive on 304s ----------------------------------------------------


def test_304s_keep_the_lines_of_the_last_200_alive_through_housekeeping(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    with ScriptedSite([Reply(body=ticker_page(OLD_LINES))]) as site:
        config = make_config(tmp_path, {"name": "site", "url": site.url})
        assert poll_now(config, store, clock, "site").record is not None  # the baseline
        for _ in range(RETENTION_DAYS * 2 + 1):  # 304s across twice the retention period
            clock.now += DAY / 2
            assert poll_now(config, store, clock, "site").not_modified
            store.prune(clock() - RETENTION_DAYS * DAY)  # the daemon's housekeeping
        site.replies = [Reply(body=ticker_page(OLD_LINES) + "<!-- changed -->")]
        clock.now += 60
        outcome = poll_now(config, store, clock, "site")
    assert outcome.record is not None and not outcome.record.baseline
    assert outcome.record.new == ()  # before: both lines were forgotten and alerted again
    assert alerted_texts(store) == []
    assert store.counts()["items"] == len(OLD_LINES)


def test_a_304_refreshes_only_what_the_last_200_showed(tmp_path: Path, store: Store) -> None:
    clock = Clock()
    gone = "A line that left the page"
    with ScriptedSite(
        [Reply(body=ticker_page([gone, *OLD_LINES])), Reply(body=ticker_page(OLD_LINES))]
    ) as site:
        config = make_config(tmp_path, {"name": "site", "url": site.url})
        poll_now(config, store, clock, "site")
        clock.now += 60
        poll_now(config, store, clock, "site")  # the 200 without `gone`
        for _ in range(RETENTION_DAYS + 1):
            clock.now += DAY
            assert poll_now(config, store, clock, "site").not_modified
    removed = store.prune(clock() - RETENTION_DAYS * DAY)
    assert removed["items"] == 1  # `gone` is forgotten, the lines still shown are not
    rows = store.conn.execute("SELECT text, last_seen FROM items ORDER BY text").fetchall()
    assert [row[0] for row in rows] == sorted(OLD_LINES)
    assert all(row[1] == clock() for row in rows)


# --- finding 11: a renamed source keeps its history -----------------------------------------

AMBUSH = "Israeli media: Major ambush in Gaza kills 5 Israeli troops, injures 14"
AMBUSH_UPDATED = "Israeli media: Major ambush in Gaza kills 6 Israeli troops, injures dozens"
ADDED = "Lebanese army arrests a number of people in the Matn area"


def renamed(
    tmp_path: Path,
    store: Store,
    caplog: pytest.LogCaptureFixture,
    later_page: list[str],
    new_source: dict[str, Any],
) -> tuple[PollOutcome, PollOutcome]:
    """Poll "old" (the baseline), then, renamed to `new_source` in the config while the
    site moved on to `later_page`, poll twice; the two outcomes under the new name."""
    clock = Clock()
    with ScriptedSite([Reply(body=ticker_page([AMBUSH, *OLD_LINES]))]) as site:
        before = make_config(tmp_path, {"name": "old", "url": site.url})
        assert poll_now(before, store, clock, "old").record is not None
        site.replies = [Reply(body=ticker_page(later_page))]
        after = make_config(tmp_path, {"url": site.url, **new_source})
        clock.now += 300
        with caplog.at_level(logging.INFO, logger="ticker.poll"):
            first = poll_now(after, store, clock, "new")
            clock.now += 300
            second = poll_now(after, store, clock, "new")
    renames = [r for r in caplog.records if "renamed from" in r.getMessage()]
    assert len(renames) == 1 and '"old"' in renames[0].getMessage()
    return first, second


def test_a_rename_with_the_same_url_alerts_what_appeared_meanwhile_once(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = renamed(tmp_path, store, caplog, [ADDED, AMBUSH, *OLD_LINES], {"name": "new"})
    assert first.record is not None and not first.record.baseline  # before: a silent baseline
    assert [item.line.text for item in first.record.alerts] == [ADDED]
    assert second.record is None or second.record.new == ()
    assert alerted_texts(store) == [ADDED]
    assert {a.source for a in store.recent_alerts(100)} == {"new"}
    assert store.source_state("old") is None
    assert store.conn.execute("SELECT count(*) FROM items WHERE source = 'old'").fetchone()[0] == 0


def test_renamed_from_with_a_changed_url_keeps_the_history(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    with ScriptedSite([Reply(body=ticker_page([AMBUSH, *OLD_LINES]))]) as site:
        before = make_config(tmp_path, {"name": "old", "url": site.url})
        poll_now(before, store, clock, "old")
        site.replies = [Reply(body=ticker_page([ADDED, AMBUSH, *OLD_LINES]))]
        moved = f"{site.url}english/"
        after = make_config(tmp_path, {"name": "new", "url": moved, "renamed_from": "old"})
        clock.now += 300
        with caplog.at_level(logging.INFO, logger="ticker.poll"):
            first = poll_now(after, store, clock, "new")
            second = poll_now(after, store, clock, "new")
        conditional = site.requests[1].get("If-None-Match")
    assert conditional is None  # the old URL's ETag is not sent to the new one
    assert first.record is not None and not first.record.baseline
    assert [item.line.text for item in first.record.alerts] == [ADDED]
    assert second.not_modified or (second.record is not None and second.record.new == ())
    assert alerted_texts(store) == [ADDED]
    state = store.source_state("new")
    assert state is not None and state.url == moved
    assert sum("renamed from" in r.getMessage() for r in caplog.records) == 1


def test_after_a_rename_an_old_lines_update_is_an_update(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    first, _ = renamed(tmp_path, store, caplog, [AMBUSH_UPDATED, *OLD_LINES], {"name": "new"})
    assert first.record is not None
    (item,) = first.record.new
    assert item.kind == "update"  # the term index of the old name was re-keyed
    assert item.changes == ("5 \u2192 6", "14 \u2192 dozens")
    (alert,) = store.recent_alerts(100)
    assert alert.kind == "update" and alert.updates_text == AMBUSH


def test_a_new_source_at_a_configured_sources_url_is_not_a_rename(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    with ScriptedSite([Reply(body=ticker_page(OLD_LINES))]) as site:
        both = make_config(
            tmp_path, {"name": "one", "url": site.url}, {"name": "two", "url": site.url}
        )
        poll_now(both, store, clock, "one")
        outcome = poll_now(both, store, clock, "two")
    assert outcome.record is not None and outcome.record.baseline
    assert store.source_state("one") is not None


# --- finding 14: invisible characters never reach an alert ----------------------------------

HIDDEN = "".join(chr(0xE0000 + ord(c)) for c in "click here")  # tag characters
TRICKY_LINE = f"\u2067Hamas\u2069: the talks \u202eresume\u202c{HIDDEN} in Cairo\u2066\u2069"


def test_bidi_isolates_and_tag_characters_never_reach_the_message(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    with ScriptedSite([Reply(body=ticker_page([TRICKY_LINE, *OLD_LINES]))]) as site:
        config = make_config(tmp_path, {"name": "site", "url": site.url, "backfill": 1})
        poll_now(config, store, clock, "site")
    recorder = Recorder()
    channel = config.channels[0]
    outbox = Outbox(store, recorder, {channel.name: Shaping.of(channel, Limits())}, clock)
    asyncio.run(outbox.drain())
    assert alerted_texts(store) == ["Hamas: the talks resume in Cairo"]
    assert len(recorder.messages) == 1
    message = recorder.messages[0]
    sent = message.title + message.body
    assert "resume in Cairo" in sent
    invisible = {c for c in sent if 0x2066 <= ord(c) <= 0x2069 or 0x202A <= ord(c) <= 0x202E}
    assert invisible == set()
    assert not any(0xE0000 <= ord(c) <= 0xE007F for c in sent)


# --- finding 15: a ticker over the cap keeps its newest lines, said once ----------------------


def test_a_601_item_ticker_listed_oldest_first_alerts_its_newest_line_warned_once(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kind_module, "_WARNED", set())

    def page(count: int) -> str:  # oldest first, each item a minute after the one before
        items = "".join(
            f'<li><time datetime="2026-11-29T{n // 60:02d}:{n % 60:02d}:00Z"></time>'
            f"Bulletin number {n}</li>"
            for n in range(count)
        )
        return f'<div class="breaking-news"><ul>{items}</ul></div>'

    clock = Clock()
    with ScriptedSite([Reply(body=page(601)), Reply(body=page(602))]) as site:
        config = make_config(tmp_path, {"name": "site", "url": site.url})
        with caplog.at_level(logging.WARNING, logger="ticker.sources.html"):
            poll_now(config, store, clock, "site")
            clock.now += 60
            outcome = poll_now(config, store, clock, "site")
    assert outcome.record is not None
    assert [item.line.text for item in outcome.record.alerts] == ["Bulletin number 601"]
    assert (
        store.conn.execute("SELECT count(*) FROM items WHERE text LIKE '%number 0'").fetchone()[0]
        == 0
    )  # the oldest item was never kept
    capped = [r for r in caplog.records if "more than ticker reads" in r.getMessage()]
    assert len(capped) == 1


def test_a_name_unpolled_for_longer_than_the_retention_is_not_taken_over(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    with ScriptedSite([Reply(body=ticker_page(OLD_LINES))]) as site:
        before = make_config(tmp_path, {"name": "old", "url": site.url})
        poll_now(before, store, clock, "old")
        site.replies = [Reply(body=ticker_page([ADDED, *OLD_LINES]))]
        clock.now += (RETENTION_DAYS + 1) * DAY  # its lines are forgotten by now
        after = make_config(tmp_path, {"name": "new", "url": site.url, "renamed_from": "old"})
        outcome = poll_now(after, store, clock, "new")
    assert outcome.record is not None and outcome.record.baseline  # not the whole ticker
    assert alerted_texts(store) == []
    assert store.source_state("old") is not None
