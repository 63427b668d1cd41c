"""Claims: a delivery is claimed in the database before it is sent, so two outboxes (two
processes, or a `ticker poll` beside `ticker run`) on one database never send it twice
(issue 12, finding 2: the mechanism; refusing a second `ticker run` is the instance lock's)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from conftest import Clock, database_at, database_for, lines
from test_outbox import URL, add_alerts, drain

from ticker.notify import Failure, Limits, Message
from ticker.outbox import CLAIM_TTL, Outbox, Shaping, owner_alive, owner_id
from ticker.store import SCHEMA_VERSION, Store

HOST = socket.gethostname()


class Sink:
    """A Sender shared by several outboxes (and threads): counts each message body."""

    def __init__(self, hold_first: threading.Event | None = None) -> None:
        self.bodies: list[str] = []
        self.lock = threading.Lock()
        self.hold_first = hold_first  # the first message waits for it
        self.sending = threading.Event()

    def send(self, channel: str, message: Message) -> Failure | None:
        self.sending.set()
        if self.hold_first is not None:
            hold, self.hold_first = self.hold_first, None
            if not hold.wait(timeout=30):
                raise AssertionError("the test never let the first send go")
        with self.lock:
            self.bodies.append(message.body)
        return None

    def limits(self, channel: str) -> Limits:
        return Limits()


def separate(count: int) -> list[str]:
    """Lines of distinct attributions: each alert is a message of its own."""
    return [f"Source {i}: story {i}" for i in range(count)]


def claims(store: Store) -> list[tuple[str | None, float | None]]:
    rows = store.conn.execute("SELECT claimed_by, claim_expires FROM deliveries ORDER BY id")
    return [(row[0], row[1]) for row in rows]


def test_an_outbox_never_sends_what_another_one_is_sending(tmp_path: Path) -> None:
    clock, path = Clock(), database_for(tmp_path, "ticker.db")
    first, second = Store.open(path), Store.open(path)
    add_alerts(first, clock, separate(3), ["mail"])
    go = threading.Event()
    sink = Sink(hold_first=go)
    one = Outbox(first, sink, {"mail": Shaping()}, clock)
    other = Outbox(second, sink, {"mail": Shaping()}, clock)

    async def run() -> None:
        sending = asyncio.create_task(one.drain())
        assert await asyncio.to_thread(sink.sending.wait, 10)
        # `one` holds the first message in flight: `other` finds it claimed and, to keep
        # the channel's order, sends nothing after it either.
        assert (await other.drain()).sent == 0
        go.set()
        assert (await sending).sent == 3

    asyncio.run(run())
    assert sink.bodies == ["story 0", "story 1", "story 2"]
    assert claims(first) == [(None, None)] * 3  # the marks released them
    first.close()
    second.close()


def test_two_outboxes_draining_side_by_side_send_each_alert_once(tmp_path: Path) -> None:
    """Two connections and two outboxes in two threads (as two processes would), draining
    over and over while alerts keep coming."""
    clock, path = Clock(), database_for(tmp_path, "ticker.db")
    writer = Store.open(path)
    writer.record_poll("src", URL, lines("baseline"), clock(), ["mail", "phone"])
    sink = Sink()
    done = threading.Event()

    def drainer() -> None:
        store = Store.open(path)
        outbox = Outbox(store, sink, {"mail": Shaping(), "phone": Shaping()}, clock)
        for _ in range(10_000):  # bounded; ends soon after the writer is done
            drain(outbox)
            if done.is_set() and store.pending_count() == 0:
                break
        store.close()

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    page = ["baseline"]
    for text in separate(40):
        page.insert(0, text)
        writer.record_poll("src", URL, lines(*page), clock(), ["mail", "phone"])
    done.set()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    counts = Counter(sink.bodies)
    assert set(counts) == {f"story {i}" for i in range(40)}
    assert set(counts.values()) == {2}  # once per channel, never more
    assert writer.pending_count() == 0
    writer.close()


def test_an_expired_claim_is_taken_over_and_a_live_one_is_not(store: Store) -> None:
    clock = Clock()
    add_alerts(store, clock, separate(2), ["mail"])
    first, second = (d.id for d in store.pending_deliveries())
    assert store.claim([first], "a", clock(), clock() + CLAIM_TTL) == {first}
    assert store.claim([first, second], "b", clock(), clock() + CLAIM_TTL) == {second}
    assert store.claim([first], "a", clock(), clock() + CLAIM_TTL) == {first}  # its own
    clock.now += CLAIM_TTL + 1  # "a" died holding it
    assert store.claim([first], "b", clock(), clock() + CLAIM_TTL) == {first}


@pytest.mark.sqlite_only("a SQLite write lock held by another connection")
def test_a_claim_that_cannot_be_written_sends_nothing(sqlite_store: Store) -> None:
    store = sqlite_store  # reaches into SQLite itself
    clock, sink = Clock(), Sink()
    add_alerts(store, clock, separate(1), ["mail"])
    store.conn.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    outbox = Outbox(store, sink, {"mail": Shaping()}, clock)
    try:
        drain(outbox)
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
    assert sink.bodies == []
    other.execute("ROLLBACK")
    other.close()
    clock.now += 15  # the next drain
    drain(outbox)
    assert sink.bodies == ["story 0"]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_the_daemon_frees_the_claims_of_processes_that_are_gone(store: Store) -> None:
    clock = Clock()
    add_alerts(store, clock, separate(5), ["mail"])
    ids = [d.id for d in store.pending_deliveries()]
    outbox = Outbox(store, Sink(), {"mail": Shaping()}, clock)
    owners = [
        f"{HOST}:{dead_pid()}:aa",  # a previous ticker, killed
        f"{HOST}:{os.getppid()}:bb",  # a live process (a `ticker poll` sending)
        f"elsewhere:{os.getpid()}:cc",  # this host's previous life (a container)
        f"{HOST}:{os.getpid()}:dd",  # an earlier process that had this pid
        outbox.owner,  # ourselves
    ]
    for delivery_id, owner in zip(ids, owners, strict=True):
        store.claim([delivery_id], owner, clock(), clock() + CLAIM_TTL)
    assert outbox.release_dead_claims() == 3
    assert [owner for owner, _ in claims(store)] == [None, owners[1], None, None, outbox.owner]


def test_owner_ids_name_host_and_process_and_differ_per_outbox() -> None:
    one, two = owner_id(), owner_id()
    assert one != two
    assert one.startswith(f"{HOST}:{os.getpid()}:")
    assert owner_alive(one, one) and owner_alive(f"{HOST}:{os.getppid()}:x", one)
    assert not owner_alive("garbage", one)


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_schema_5_adds_claims_to_a_database_with_pending_deliveries(tmp_path: Path) -> None:
    path = tmp_path / "ticker.db"
    conn = database_at(path, 4)  # a database as ticker left it before claims
    conn.execute("INSERT INTO items (source, fingerprint, text, first_seen, last_seen) "
                 "VALUES ('src', 'f', 'Hamas: a line', 1, 1)")  # fmt: skip
    conn.execute("INSERT INTO alerts (item_id, source, created) VALUES (1, 'src', 1)")
    conn.execute("INSERT INTO deliveries (alert_id, channel, created, next_attempt) "
                 "VALUES (1, 'mail', 1, 1)")  # fmt: skip
    conn.close()
    store = Store.open(path)
    assert store.schema_version() == SCHEMA_VERSION
    assert claims(store) == [(None, None)]
    sink = Sink()
    drain(Outbox(store, sink, {"mail": Shaping()}, Clock()))
    assert sink.bodies == ["Hamas: a line"]
    store.close()
