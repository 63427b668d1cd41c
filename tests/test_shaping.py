"""How the outbox paces a channel: quiet hours held for one digest, max_per_minute with a
digest for the excess, messages split to the channel's size limit, a service's
Retry-After honoured."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from conftest import Clock, Recorder, lines

from ticker.notify import Failure, Limits
from ticker.outbox import Outbox, Outgoing, Shaping, fit, plan
from ticker.route import in_quiet_hours, timezone_named
from ticker.store import Store

URL = "https://example.org/"
UTC_ZONE = timezone_named("UTC")


def at(hour: int, minute: int = 0, day: int = 25) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC).timestamp()


def record_alerts(store: Store, texts: list[str], now: float, source: str = "src") -> None:
    """Baseline `source`, then one poll per text, each line its own story."""
    if store.source_state(source) is None:
        store.record_poll(source, URL, lines("baseline"), now - 1, ["me"])
    page = ["baseline"]
    for text in texts:
        page.insert(0, text)
        store.record_poll(source, URL, lines(*page), now, ["me"])


def drain(outbox: Outbox) -> None:
    asyncio.run(outbox.drain())


def distinct(n: int) -> list[str]:
    return [f"Source {i}: statement number {i} on the situation" for i in range(n)]


def test_past_the_rate_limit_the_excess_goes_out_as_one_digest(store: Store) -> None:
    clock = Clock(at(12))
    record_alerts(store, distinct(10), clock())
    sender = Recorder()
    drain(Outbox(store, sender, {"me": Shaping(max_per_minute=3)}, clock))
    titles = [m.title for m in sender.messages]
    assert titles == [
        "src: Source 0: statement number 0 on the situation",
        "src: Source 1: statement number 1 on the situation",
        "ticker: 8 alerts over the rate limit",
    ]
    digest = sender.messages[2].body.splitlines()
    assert len(digest) == 8 and digest[0].endswith(
        "[src] Source 2: statement number 2 on the situation"
    )
    assert store.pending_deliveries() == []


def test_a_full_minute_holds_new_alerts_until_a_slot_frees(store: Store) -> None:
    clock = Clock(at(12))
    outbox = Outbox(store, Recorder(), {"me": Shaping(max_per_minute=2)}, clock)
    sender = outbox.sender
    assert isinstance(sender, Recorder)
    record_alerts(store, distinct(2), clock())
    drain(outbox)
    record_alerts(store, ["Late: one more line", "Later: and another"], clock() + 10)
    clock.now += 10
    drain(outbox)
    assert len(sender.messages) == 2  # the minute is used up: held, not dropped
    assert len(store.pending_deliveries()) == 2
    clock.now = at(12, 1) + 1
    drain(outbox)
    assert [m.title for m in sender.messages[2:]] == [
        "src: Late: one more line",
        "src: Later: and another",
    ]


def test_quiet_hours_hold_alerts_and_send_one_digest_when_they_end(store: Store) -> None:
    clock = Clock(at(23, 30, day=24))
    shaping = Shaping(
        quiet_at=lambda when: in_quiet_hours((1380, 420), UTC_ZONE, when), zone=UTC_ZONE
    )
    outbox = Outbox(store, Recorder(), {"me": shaping}, clock)
    sender = outbox.sender
    assert isinstance(sender, Recorder)
    record_alerts(store, ["Hamas: first night statement"], at(23, 30, day=24))
    record_alerts(store, ["Israeli media: army says", "Hamas: second statement"], at(3, 15))
    clock.now = at(3, 20)
    drain(outbox)
    assert sender.messages == []  # quiet: held
    clock.now = at(7, 0)
    drain(outbox)
    (digest,) = sender.messages
    assert digest.title == "ticker: 3 alerts held during quiet hours"
    assert digest.body.splitlines() == [
        "\u2022 23:30 [src] Hamas: first night statement",
        "\u2022 03:15 [src] Israeli media: army says",
        "\u2022 03:15 [src] Hamas: second statement",
    ]
    record_alerts(store, ["Hamas: a morning statement"], at(8))
    clock.now = at(8)
    drain(outbox)
    assert sender.messages[-1].title == "src: Hamas: a morning statement"  # daytime: one by one


def test_a_message_too_long_for_the_channel_is_split_at_alert_boundaries(store: Store) -> None:
    clock = Clock(at(12))
    texts = [f"Our correspondent: {'x' * 300} line {i}" for i in range(12)]
    page = ["Our correspondent: baseline"]
    store.record_poll("src", URL, lines(*page), clock() - 1, ["me"])
    store.record_poll("src", URL, lines(*texts, *page), clock(), ["me"])  # one burst of 12
    sender = Recorder(max_chars=1000)
    drain(Outbox(store, sender, {"me": Shaping(limits=Limits(chars=1000))}, clock))
    assert len(sender.messages) > 1
    assert all(m.chars() <= 1000 for m in sender.messages)
    numbers = [
        [int(line.rsplit(" ", 1)[1]) for line in m.body.splitlines()] for m in sender.messages
    ]
    # Each message lists its lines in the site's order (newest first); the older part of
    # the burst goes out first, and every line arrives exactly once.
    assert all(part == sorted(part) for part in numbers)
    assert all(max(later) < min(earlier) for earlier, later in pairwise(numbers))
    assert sorted(n for part in numbers for n in part) == list(range(12))


def test_fit_and_plan_keep_every_delivery_exactly_once(store: Store) -> None:
    clock = Clock(at(12))
    record_alerts(store, distinct(30), clock())
    deliveries = store.pending_deliveries()
    for allowance in (None, 1, 5, 29, 30, 31):
        messages = plan(deliveries, Shaping(), allowance)
        pieces = [p for m in messages for p in fit(m, Limits(chars=400), None)]
        ids = [d.id for p in pieces for d in p.deliveries]
        assert ids == [d.id for d in deliveries]
        assert all(p.render(None).chars() <= 400 or len(p.deliveries) == 1 for p in pieces)
    assert plan(deliveries, Shaping(), 0) == []
    one = plan(deliveries[:1], Shaping(), 1)
    assert one == [Outgoing(deliveries[:1])]


def test_a_retry_after_from_the_service_is_waited_out_exactly(store: Store) -> None:
    clock = Clock(at(12))
    record_alerts(store, ["Hamas: one", "Israeli media: two"], clock())
    sender = Recorder()
    sender.refuse.append(Failure("Too Many Requests: retry after 7, error=429.", 7.0))
    outbox = Outbox(store, sender, {"me": Shaping()}, clock)
    drain(outbox)
    assert sender.messages == []
    (first, second) = store.pending_deliveries()
    assert first.next_attempt == clock() + 7  # not the 30 s default
    clock.now += 6.9
    drain(outbox)
    assert sender.messages == []
    clock.now += 0.1
    drain(outbox)
    assert [m.body for m in sender.messages] == ["one", "two"]  # order kept
    assert second.attempts == 0  # it waited behind the first, never sent ahead of it


def test_fit_fills_each_piece_without_overflowing(store: Store) -> None:
    clock = Clock(at(12))
    record_alerts(store, distinct(120), clock())
    deliveries = store.pending_deliveries()
    for digest in (None, "over the rate limit"):
        for limits in (Limits(chars=300), Limits(chars=1000), Limits(lines=10), Limits(3000, 7)):
            pieces = fit(Outgoing(deliveries, digest), limits, None)
            assert [d.id for p in pieces for d in p.deliveries] == [d.id for d in deliveries]
            assert all(p.render(None).fits(limits) for p in pieces)
            for piece, following in pairwise(pieces):  # greedy: the next alert did not fit
                merged = Outgoing([*piece.deliveries, following.deliveries[0]], digest)
                assert not merged.render(None).fits(
                    Limits(limits.chars - 10 if limits.chars else 0, limits.lines)
                )


def test_a_restart_does_not_reset_the_minute(store: Store) -> None:
    """The window is counted in the database: a ticker restarted (or crash-looping) within
    the minute does not send the minute's allowance a second time."""
    clock = Clock(at(12))
    record_alerts(store, distinct(2), clock())
    sender = Recorder()
    drain(Outbox(store, sender, {"me": Shaping(max_per_minute=2)}, clock))
    clock.now += 5
    record_alerts(store, ["Late: one more line"], clock())
    drain(Outbox(store, sender, {"me": Shaping(max_per_minute=2)}, clock))  # the restart
    assert len(sender.messages) == 2  # held, not sent
    clock.now = at(12, 1) + 1
    drain(Outbox(store, sender, {"me": Shaping(max_per_minute=2)}, clock))
    assert sender.messages[-1].title == "src: Late: one more line"


def test_a_wall_clock_stepped_back_does_not_hold_the_channel(store: Store) -> None:
    """Sends counted under a wall clock since stepped back an hour are an hour ahead of
    it: not counted, so the channel does not wait for the clock to catch up."""
    clock = Clock(at(12))
    record_alerts(store, distinct(2), clock())
    sender = Recorder()
    outbox = Outbox(store, sender, {"me": Shaping(max_per_minute=2)}, clock)
    drain(outbox)
    clock.step(-3600)
    record_alerts(store, ["Late: one more line"], clock())
    drain(outbox)
    assert [m.title for m in sender.messages][2:] == ["src: Late: one more line"]


def test_a_send_the_database_cannot_count_is_still_marked(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Counting a message in the window is not worth a resend: a refused count costs one
    message more in the minute at worst, and the mark is written all the same."""
    clock = Clock(at(12))
    record_alerts(store, distinct(1), clock())

    def refuse(channel: str, times: Sequence[float]) -> None:
        raise sqlite3.OperationalError("database is locked")

    store.record_sends = refuse  # type: ignore[method-assign]
    sender = Recorder()
    assert (
        asyncio.run(Outbox(store, sender, {"me": Shaping(max_per_minute=2)}, clock).drain()).sent
        == 1
    )
    assert store.pending_deliveries() == []
    assert "cannot count a message in its max_per_minute window" in caplog.text
