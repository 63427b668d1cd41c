"""Deliveries with replicas (issue 17, docs/REPLICAS.md section 3): one sender per channel at
a time, handed from replica to replica through a gate (the channel's lease), with the order
within the channel kept, nothing sent twice, the claims of a dead holder taken over, and the
max_per_minute window carried in the database to the next holder.

Two outboxes on one database stand for two replicas; the gate is a dict that says which one
holds each channel, and the test moves it by hand (no leases, no sleeps)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Clock, database_at, database_for
from test_claims import Sink, claims, separate
from test_outbox import add_alerts, drain

from ticker.notify import Failure, Message
from ticker.outbox import CLAIM_TTL, Outbox, Shaping
from ticker.store import SENDS_KEPT, Store


class Holders:
    """Who holds each channel: the gates of the outboxes named in it."""

    def __init__(self, **held: str) -> None:
        self.held = dict(held)  # channel -> replica name

    def gate(self, replica: str) -> Callable[[str], bool]:
        return lambda channel: self.held.get(channel) == replica


class HandOver(Sink):
    """A Sink that hands `channel` to `to` while its `after`-th message is in flight (the
    lease is lost mid-send), and says who sent what."""

    def __init__(self, holders: Holders, after: int, to: str) -> None:
        super().__init__()
        self.holders, self.after, self.to = holders, after, to
        self.senders: list[str] = []

    def send(self, channel: str, message: Message) -> Failure | None:
        self.senders.append(self.holders.held[channel])
        if len(self.bodies) + 1 == self.after:
            self.holders.held[channel] = self.to
        return super().send(channel, message)


def replica(
    store: Store, sink: Sink, clock: Clock, name: str, holders: Holders, **kwargs: Any
) -> Outbox:
    """An outbox as replica `name` runs it: claims in its name, gated by `holders`."""
    shaping = {"mail": Shaping(max_per_minute=kwargs.pop("max_per_minute", 0))}
    return Outbox(store, sink, shaping, clock, owner=name, gate=holders.gate(name), **kwargs)


def test_a_gate_that_turns_false_mid_batch_stops_sending_and_the_next_holder_goes_on(
    store: Store,
) -> None:
    clock, holders = Clock(), Holders(mail="a")
    add_alerts(store, clock, separate(6), ["mail"])
    sink = HandOver(holders, after=2, to="b")  # a loses the channel while sending story 1
    a = replica(store, sink, clock, "a", holders)
    b = replica(store, sink, clock, "b", holders)
    assert drain(b).sent == 0  # not its channel yet
    assert drain(a).sent == 2  # the message in flight is sent and marked; nothing after it
    assert drain(a).sent == 0
    assert drain(b).sent == 4
    assert sink.bodies == [f"story {i}" for i in range(6)]  # in order, each once
    assert sink.senders == ["a", "a", "b", "b", "b", "b"]
    assert store.pending_deliveries() == []
    assert claims(store) == [(None, None)] * 6


def test_a_channel_lost_while_claiming_gives_its_claim_back_unsent(store: Store) -> None:
    clock, holders = Clock(), Holders(mail="a")
    add_alerts(store, clock, separate(2), ["mail"])
    sink = Sink()
    a = replica(store, sink, clock, "a", holders, alive=lambda owner: True)
    b = replica(store, sink, clock, "b", holders, alive=lambda owner: True)
    claim = store.claim

    def claim_then_lose(*args: Any, **kwargs: Any) -> set[int]:
        held = claim(*args, **kwargs)
        holders.held["mail"] = "b"  # the lease ran out while the claim was written
        return held

    store.claim = claim_then_lose  # type: ignore[method-assign]
    assert drain(a).sent == 0
    del store.claim
    assert sink.bodies == []
    assert claims(store) == [(None, None)] * 2  # given back, not left to expire
    assert drain(b).sent == 2  # at once, though "a" is alive
    assert sink.bodies == ["story 0", "story 1"]


def test_the_new_holder_sends_what_a_dead_holder_had_claimed(store: Store) -> None:
    clock, holders = Clock(), Holders(mail="b")
    add_alerts(store, clock, separate(3), ["mail"])
    first = store.pending_deliveries()[0].id
    # "a" claimed the first delivery, then died before sending it.
    assert store.claim([first], "a", clock(), clock() + CLAIM_TTL) == {first}
    live = {"a", "b"}
    sink = Sink()
    b = replica(store, sink, clock, "b", holders, alive=live.__contains__)
    assert drain(b).sent == 0  # "a" may still be sending it: the channel's order waits
    live.discard("a")  # its heartbeat expired
    assert drain(b).sent == 3
    assert sink.bodies == ["story 0", "story 1", "story 2"]
    assert claims(store) == [(None, None)] * 3


def test_claims_end_with_the_hold_so_a_holder_that_stalled_is_not_waited_for(
    store: Store,
) -> None:
    clock, holders = Clock(), Holders(mail="a")
    add_alerts(store, clock, separate(2), ["mail"])
    hold_ends = clock() + 3  # the channel's lease
    seen: list[tuple[str | None, float | None]] = []

    class Stall(Sink):
        """Records the claim of the message in flight, then stalls: "a" is stopped
        (SIGSTOP) with the message unsent, and its heartbeat says nothing yet."""

        def send(self, channel: str, message: Message) -> Failure | None:
            seen.append(claims(store)[0])
            holders.held["mail"] = "b"
            return Failure("stalled")  # as if never sent: the mark is a retry

    a = replica(store, Stall(), clock, "a", holders, claim_until=lambda channel: hold_ends)
    store.write_marks = lambda marks: None  # type: ignore[method-assign]  # "a" stops there
    drain(a)
    del store.write_marks
    assert seen == [("a", hold_ends)]  # not CLAIM_TTL (10 min) later
    sink = Sink()
    b = replica(store, sink, clock, "b", holders, alive=lambda owner: True)
    assert drain(b).sent == 0  # the claim holds until the lease it was made under ends
    clock.now = hold_ends + 1
    assert drain(b).sent == 2
    assert sink.bodies == ["story 0", "story 1"]


def test_the_rate_window_is_carried_to_the_next_holder(store: Store) -> None:
    clock, holders = Clock(), Holders(mail="a")
    add_alerts(store, clock, separate(2), ["mail"])
    sink = Sink()
    a = replica(store, sink, clock, "a", holders, max_per_minute=3)
    b = replica(store, sink, clock, "b", holders, max_per_minute=3)
    assert drain(a).sent == 2  # one message of the minute left
    holders.held["mail"] = "b"
    clock.now += 10
    add_alerts(store, clock, [f"Later {i}: line {i}" for i in range(4)], ["mail"])
    assert drain(b).sent == 4  # one message: a digest of the four
    assert sink.bodies[:2] == ["story 0", "story 1"]
    assert len(sink.bodies) == 3 and len(sink.bodies[2].splitlines()) == 4
    add_alerts(store, clock, ["Even later: one more"], ["mail"])
    assert drain(b).sent == 0  # the minute is full: held, not dropped
    clock.now += 50.5  # a minute after "a"'s sends
    assert drain(b).sent == 1
    assert sink.bodies[-1] == "one more"


def test_the_send_counts_are_kept_a_few_minutes_and_per_channel(store: Store) -> None:
    now = 1_764_000_000.0
    store.record_sends("mail", [now, now + 1])
    store.record_sends("phone", [now])
    assert store.sends_since("mail", now - 60) == 2
    assert store.sends_since("mail", now) == 1  # after, not at
    store.record_sends("mail", [now + SENDS_KEPT + 0.5])
    assert store.sends_since("mail", 0) == 2  # the one at `now` is gone
    assert store.sends_since("phone", 0) == 1  # another channel's are not touched
    store.record_sends("mail", [now - 3600])  # a clock stepped back an hour
    assert store.sends_since("mail", 0) == 1  # rows far ahead of it are gone


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_schema_13_adds_the_send_counts_to_a_schema_12_database(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ticker.db"
    database_at(path, 12).close()
    store = Store.open(path)
    assert store.sends_since("mail", 0) == 0
    store.record_sends("mail", [5.0])
    assert store.sends_since("mail", 0) == 1
    store.close()


def test_a_channel_that_comes_back_waits_out_the_other_holders_retry(store: Store) -> None:
    clock, holders = Clock(), Holders(mail="a")
    add_alerts(store, clock, separate(1), ["mail"])
    start, sink = clock(), Sink()
    a = replica(store, sink, clock, "a", holders)
    b = replica(store, sink, clock, "b", holders)
    sink.send = lambda channel, message: Failure("down")  # type: ignore[method-assign]
    assert drain(a).retrying == 1  # again in 30 s
    holders.held["mail"] = "b"
    assert drain(a).retrying == 0  # gated
    clock.now = start + 30
    assert drain(b).retrying == 1  # again in 60 s: at start + 90
    holders.held["mail"] = "a"
    clock.now = start + 40
    assert drain(a).retrying == 0  # b's backoff holds here too
    del sink.send
    clock.now = start + 90
    assert drain(a).sent == 1
    assert sink.bodies == ["story 0"]


def test_two_connections_share_the_window_and_the_channel(tmp_path: Path) -> None:
    """As two processes would: each replica on its own connection to the database."""
    clock, holders, path = Clock(), Holders(mail="a"), database_for(tmp_path, "ticker.db")
    first, second = Store.open(path), Store.open(path)
    add_alerts(first, clock, separate(5), ["mail"])
    sink = HandOver(holders, after=2, to="b")
    a = replica(first, sink, clock, "a", holders, max_per_minute=4)
    b = replica(second, sink, clock, "b", holders, max_per_minute=4)
    assert drain(a).sent == 2
    assert drain(b).sent == 3  # two messages: one alert, then a digest of the last two
    assert sink.bodies[:3] == ["story 0", "story 1", "story 2"]
    assert len(sink.bodies) == 4 and len(sink.bodies[3].splitlines()) == 2
    assert second.sends_since("mail", 0) == first.sends_since("mail", 0) == 4
    first.close()
    second.close()
