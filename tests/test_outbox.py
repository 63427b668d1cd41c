"""The durable outbox: order, retries with backoff, giving up, at-least-once."""

from __future__ import annotations

import asyncio

from conftest import Clock, database_for, lines

from ticker.notify import Failure, Limits, Message
from ticker.outbox import GIVE_UP_AFTER, Outbox, Shaping, retry_delay
from ticker.store import Store

URL = "https://example.org/"


class FlakySender:
    """Fails every message while `down`; records what it accepted, per channel."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.received: dict[str, list[str]] = {}
        self.attempts = 0

    def send(self, channel: str, message: Message) -> Failure | None:
        self.attempts += 1
        if channel in self.down:
            return Failure("Connection error while submitting email")
        self.received.setdefault(channel, []).append(message.body)
        return None

    def limits(self, channel: str) -> Limits:
        return Limits()


def add_alerts(store: Store, clock: Clock, texts: list[str], channels: list[str]) -> None:
    store.record_poll("src", URL, lines("baseline"), clock(), channels)
    page = ["baseline"]
    for text in texts:
        page.insert(0, text)
        store.record_poll("src", URL, lines(*page), clock(), channels)


def drain(outbox: Outbox):
    return asyncio.run(outbox.drain())


def test_retry_delay_doubles_from_30s_and_caps_at_an_hour() -> None:
    assert [retry_delay(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert retry_delay(50) == 3600


def test_a_channel_that_fails_then_recovers_receives_every_alert_in_order(store: Store) -> None:
    clock, sender = Clock(), FlakySender()
    add_alerts(store, clock, ["one", "two", "three"], ["mail", "phone"])
    outbox = Outbox(store, sender, {"mail": Shaping(), "phone": Shaping()}, clock)
    sender.down.add("mail")
    result = drain(outbox)
    assert sender.received == {"phone": ["one", "two", "three"]}
    # mail stopped at its first failure: the later alerts wait behind it.
    assert (result.sent, result.retrying) == (3, 1)
    first = [d for d in store.pending_deliveries() if d.channel == "mail"][0]
    assert first.attempts == 1 and first.next_attempt == clock() + 30

    clock.now += 10  # not due yet: nothing is tried
    attempts = sender.attempts
    drain(outbox)
    assert sender.attempts == attempts

    clock.now += 25  # due, still down: the wait doubles
    drain(outbox)
    first = [d for d in store.pending_deliveries() if d.channel == "mail"][0]
    assert first.attempts == 2 and first.next_attempt == clock() + 60

    sender.down.clear()
    clock.now += 60
    drain(outbox)
    assert sender.received["mail"] == ["one", "two", "three"]
    assert store.pending_deliveries() == []
    assert {a.text: a.deliveries for a in store.recent_alerts()}["one"] == {
        "mail": "sent",
        "phone": "sent",
    }


def test_failure_reason_is_kept_and_delivery_gives_up_after_a_day(store: Store) -> None:
    clock, sender = Clock(), FlakySender()
    add_alerts(store, clock, ["one", "two"], ["mail"])
    outbox = Outbox(store, sender, {"mail": Shaping()}, clock)
    sender.down.add("mail")
    drain(outbox)
    row = store.conn.execute("SELECT last_error FROM deliveries ORDER BY id LIMIT 1").fetchone()
    assert row[0] == "Connection error while submitting email"
    clock.now += GIVE_UP_AFTER + 1
    drain(outbox)
    statuses = store.conn.execute("SELECT status FROM deliveries ORDER BY id").fetchall()
    # Both are over a day old: each is tried once more, then marked failed, reason kept.
    assert [s[0] for s in statuses] == ["failed", "failed"]
    assert store.counts()["failed"] == 2


def test_pending_deliveries_survive_a_restart(tmp_path) -> None:
    clock, sender = Clock(), FlakySender()
    path = database_for(tmp_path, "ticker.db")
    first = Store.open(path)
    add_alerts(first, clock, ["one", "two"], ["mail"])
    first.close()  # the process that recorded the alerts is gone before sending anything
    second = Store.open(path)
    drain(Outbox(second, sender, {"mail": Shaping()}, clock))
    assert sender.received == {"mail": ["one", "two"]}
    second.close()


def test_a_channel_removed_from_the_config_keeps_its_pending_deliveries(store: Store) -> None:
    clock, sender = Clock(), FlakySender()
    add_alerts(store, clock, ["one"], ["old", "mail"])
    drain(Outbox(store, sender, {"mail": Shaping()}, clock))
    assert sender.received == {"mail": ["one"]}
    assert [d.channel for d in store.pending_deliveries()] == ["old"]


def test_a_drain_requested_while_one_runs_is_folded_into_it(store: Store) -> None:
    clock = Clock()
    add_alerts(store, clock, ["one"], ["mail"])

    class SlowSender(FlakySender):
        def send(self, channel: str, message: Message) -> Failure | None:
            if message.body == "one":
                # A new alert arrives while "one" is being sent.
                add_later()
            return super().send(channel, message)

    sender = SlowSender()
    outbox = Outbox(store, sender, {"mail": Shaping()}, clock)

    def add_later() -> None:
        writer = Store.open(store.path)
        writer.record_poll("src", URL, lines("two", "one", "baseline"), clock(), ["mail"])
        writer.close()

    async def both() -> None:
        await asyncio.gather(outbox.drain(), outbox.drain())

    asyncio.run(both())
    assert sender.received == {"mail": ["one", "two"]}


def test_a_long_backlog_of_a_down_channel_never_hides_another_channels_alerts(
    store: Store,
) -> None:
    clock, sender = Clock(), FlakySender()
    sender.down.add("mail")
    outbox = Outbox(store, sender, {"mail": Shaping(), "phone": Shaping()}, clock)
    backlog = [f"story number {n}" for n in range(1_200)]
    add_alerts(store, clock, backlog, ["mail"])  # more than one read of pending rows holds
    drain(outbox)
    add_alerts(store, clock, ["for the phone"], ["phone"])
    result = drain(outbox)
    assert sender.received == {"phone": ["for the phone"]}
    assert result.sent == 1
    assert sender.attempts == 2  # mail's head was tried once, and not again before its retry
