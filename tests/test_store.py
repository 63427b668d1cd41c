"""The log and the diff: baseline, new lines, scroll-off and reappearance, shared lines."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import lines, vm_steps

from ticker.dedupe import Judge
from ticker.errors import DatabaseUnusable
from ticker.store import CACHE_KIB, SCHEMA_VERSION, Store

URL = "https://example.org/"


def alert_texts(store: Store) -> list[str]:
    return [alert.text for alert in store.recent_alerts(100)]


@pytest.mark.sqlite_only("the SQLite file's WAL mode and user_version")
def test_new_database_is_wal_and_versioned(tmp_path: Path) -> None:
    db = Store.open(tmp_path / "sub" / "ticker.db")
    assert db.schema_version() == SCHEMA_VERSION
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB  # KiB, not pages
    tables = {
        row[0] for row in db.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {"sources", "items", "alerts", "deliveries"} <= tables
    db.close()
    # Re-opening does not migrate again, and keeps the data.
    again = Store.open(tmp_path / "sub" / "ticker.db")
    assert again.schema_version() == SCHEMA_VERSION
    again.close()


@pytest.mark.sqlite_only("a SQLite file's user_version")
def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ticker.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(DatabaseUnusable, match="newer than this ticker"):
        Store.open(path)


def test_first_poll_is_a_silent_baseline(store: Store) -> None:
    record = store.record_poll("src", URL, lines("C", "B", "A"), 100.0, ["me"])
    assert record.baseline
    assert [item.line.text for item in record.new] == ["A", "B", "C"]  # oldest first
    assert record.alerts == ()
    assert store.pending_deliveries() == []
    assert store.counts()["items"] == 3


def test_backfill_alerts_the_newest_lines_of_the_first_poll(store: Store) -> None:
    record = store.record_poll("src", URL, lines("C", "B", "A"), 100.0, ["me"], backfill=2)
    assert [item.line.text for item in record.alerts] == ["B", "C"]
    assert alert_texts(store) == ["B", "C"]


def test_only_never_seen_lines_alert_and_scroll_off_is_not_new(store: Store) -> None:
    store.record_poll("src", URL, lines("C", "B", "A"), 100.0, ["me"])
    second = store.record_poll("src", URL, lines("E", "D", "C", "B"), 130.0, ["me"])
    assert [item.line.text for item in second.alerts] == ["D", "E"]
    assert second.seen == 2
    # A scrolled off, comes back between new lines: only F is new.
    third = store.record_poll("src", URL, lines("F", "A", "E"), 160.0, ["me"])
    assert [item.line.text for item in third.alerts] == ["F"]
    assert alert_texts(store) == ["D", "E", "F"]
    row = store.conn.execute(
        "SELECT first_seen, last_seen, times_seen FROM items WHERE text = 'A'"
    ).fetchone()
    assert tuple(row) == (100.0, 160.0, 2)


def test_cosmetic_differences_are_the_same_line(store: Store) -> None:
    store.record_poll("src", URL, lines("Hamas: \u2018Israel\u2019 must withdraw"), 1.0, [])
    record = store.record_poll("src", URL, lines("hamas:  'Israel' must withdraw."), 2.0, [])
    assert record.alerts == ()
    changed_number = store.record_poll("src", URL, lines("Hamas: 5 killed"), 3.0, [])
    assert len(changed_number.alerts) == 1


def test_two_sources_that_share_a_line_each_alert_once(store: Store) -> None:
    store.record_poll("one", URL, lines("A"), 1.0, ["me"])
    store.record_poll("two", URL, lines("B"), 1.0, ["me"])
    first = store.record_poll("one", URL, lines("Shared line", "A"), 2.0, ["me"])
    second = store.record_poll("two", URL, lines("Shared line", "B"), 2.0, ["me"])
    assert len(first.alerts) == 1 and len(second.alerts) == 1
    again = store.record_poll("one", URL, lines("Shared line", "A"), 3.0, ["me"])
    assert again.alerts == ()
    assert [(a.source, a.text) for a in store.recent_alerts()] == [
        ("one", "Shared line"),
        ("two", "Shared line"),
    ]


def test_each_alert_gets_one_pending_delivery_per_channel(store: Store) -> None:
    store.record_poll("src", URL, lines("A"), 1.0, ["mail", "phone"])
    store.record_poll("src", URL, lines("B", "A"), 2.0, ["mail", "phone"])
    pending = store.pending_deliveries()
    assert sorted(d.channel for d in pending) == ["mail", "phone"]
    assert {d.text for d in pending} == {"B"}
    assert store.recent_alerts()[0].deliveries == {"mail": "pending", "phone": "pending"}


def test_a_failing_write_leaves_nothing_half_written(store: Store, monkeypatch) -> None:
    store.record_poll("src", URL, lines("A"), 1.0, ["me"])

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_insert_alert", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.record_poll("src", URL, lines("B", "A"), 2.0, ["me"])
    assert store.counts() == {"items": 1, "alerts": 0, "pending": 0, "failed": 0}
    monkeypatch.undo()
    # The line is still new on the next poll: nothing was lost.
    assert len(store.record_poll("src", URL, lines("B", "A"), 3.0, ["me"]).alerts) == 1


def test_failures_are_counted_and_reset_by_success(store: Store) -> None:
    assert store.record_failure("src", URL, 1.0, "HTTP 503") == 1
    assert store.record_failure("src", URL, 2.0, "HTTP 503") == 2
    state = store.source_state("src")
    assert state is not None and state.last_error == "HTTP 503" and state.last_success is None
    # A failed first poll is not a baseline: the first success still is.
    record = store.record_poll("src", URL, lines("A"), 3.0, ["me"], etag='"v1"')
    assert record.baseline
    state = store.source_state("src")
    assert state is not None
    assert (state.consecutive_failures, state.last_error, state.etag) == (0, None, '"v1"')


def test_prune_keeps_pending_deliveries_and_recent_lines(store: Store) -> None:
    judge = Judge()
    store.record_poll("src", URL, lines("Alpha line"), 1.0, ["me"], judge=judge)
    store.record_poll("src", URL, lines("Bravo line", "Alpha line"), 2.0, ["me"], judge=judge)
    store.record_poll("src", URL, lines("Charlie line", "Bravo line"), 3.0, ["me"], judge=judge)
    b, c = store.pending_deliveries()
    store.mark_sent(b.id, 4.0)
    removed = store.prune(before=10.0)
    # B's alert and delivery are gone; C is still pending so C, its alert and item stay;
    # A (not seen since t=2) is forgotten.
    assert removed == {"deliveries": 1, "alerts": 1, "items": 2}
    assert [d.id for d in store.pending_deliveries()] == [c.id]
    assert store.counts()["items"] == 1
    # The forgotten items leave nothing in the term index.
    indexed = {row[0] for row in store.conn.execute("SELECT DISTINCT item_id FROM terms")}
    assert indexed == {_item_of(store, c.text)}


@pytest.mark.sqlite_only("a SQLite write lock held by another connection")
def test_readonly_store_reads_while_a_writer_holds_the_database(tmp_path: Path) -> None:
    path = tmp_path / "ticker.db"
    writer = Store.open(path)
    writer.record_poll("src", URL, lines("A"), 1.0, ["me"])
    writer.record_poll("src", URL, lines("B", "A"), 2.0, ["me"])
    reader = Store.open_readonly(path)
    assert [a.text for a in reader.recent_alerts()] == ["B"]
    with pytest.raises(sqlite3.OperationalError):
        reader.conn.execute("DELETE FROM alerts")
    reader.close()
    writer.close()
    with pytest.raises(FileNotFoundError):
        Store.open_readonly(tmp_path / "missing.db")


def _item_of(store: Store, text: str) -> int:
    return int(store.conn.execute("SELECT id FROM items WHERE text = ?", (text,)).fetchone()[0])


def _store_with_alerts(path: Path, count: int) -> Store:
    """A store holding `count` alerts of one source (one poll of `count` new lines)."""
    store = Store.open(path)
    store.record_poll("s", URL, lines("seed"), 0.0, ["mail"])
    page = lines(*(f"Correspondent: line number {n} of the test" for n in range(count)))
    store.record_poll("s", URL, page, 1.0, ["mail"])
    return store


@pytest.mark.sqlite_only("counts SQLite's virtual-machine steps")
def test_reading_the_newest_alerts_costs_the_same_whatever_the_history(tmp_path: Path) -> None:
    # `ticker tail` shows, for an update, the newest alert of the item it updates: without
    # an index on alerts(item_id) that look-up read every alert, 20 times per tail.
    small = _store_with_alerts(tmp_path / "small.db", 1_000)
    large = _store_with_alerts(tmp_path / "large.db", 20_000)
    assert len(large.recent_alerts(20)) == 20
    cost_small = vm_steps(small, lambda: small.recent_alerts(20))
    cost_large = vm_steps(large, lambda: large.recent_alerts(20))
    assert cost_large <= cost_small + 2, (cost_small, cost_large)


@pytest.mark.sqlite_only("SQLite's query plan")
def test_forgetting_an_item_finds_its_alerts_through_an_index(sqlite_store: Store) -> None:
    store = sqlite_store
    # The foreign key check SQLite makes for each deleted item is this look-up.
    plan = store.conn.execute("EXPLAIN QUERY PLAN SELECT 1 FROM alerts WHERE item_id = ?", (1,))
    assert any("USING" in row[3] and "INDEX alerts_item" in row[3] for row in plan)


def test_a_304_refreshes_the_last_200s_lines_across_failures_and_health(store: Store) -> None:
    """The lines a 304 keeps alive are those of the last 200, whatever came in between."""
    store.record_poll("src", URL, lines("b", "a"), 100.0, ["me"])
    store.record_poll("src", URL, lines("c", "b"), 200.0, ["me"])  # "a" left the page
    store.record_health("src", "down", "src is down", 200.0, ["me"])  # same instant as the 200
    store.record_failure("src", URL, 300.0, "timed out")
    store.record_not_modified("src", URL, 400.0)
    store.record_failure("src", URL, 500.0, "timed out")
    store.record_not_modified("src", URL, 600.0)
    store.record_poll("other", "https://example.net/", lines("b"), 600.0, ["me"])
    store.record_not_modified("other", "https://example.net/", 700.0)
    seen = dict(
        store.conn.execute(
            "SELECT text, last_seen FROM items WHERE source = 'src' ORDER BY text"
        ).fetchall()
    )
    assert seen == {"a": 100.0, "b": 600.0, "c": 600.0, "src is down": 200.0}
    assert store.prune(550.0)["items"] == 1  # "a"; the health item has its alert


def test_rename_source_moves_everything_or_nothing(store: Store) -> None:
    judge = Judge(window=3600, threshold=75)
    store.record_poll("old", URL, lines("Strikes reported near Tyre"), 100.0, ["me"], judge=judge)
    store.record_poll("old", URL, lines("Talks resume in Cairo"), 200.0, ["me"], judge=judge)
    store.record_poll("taken", URL, lines("x"), 200.0, ["me"])
    assert not store.rename_source("old", "taken", URL, judge)  # "taken" has its own history
    assert not store.rename_source("nobody", "new", URL, judge)
    assert store.rename_source("old", "new", URL, judge)
    assert store.source_state("old") is None
    state = store.source_state("new")
    assert state is not None and state.last_success == 200.0
    assert {a.source for a in store.recent_alerts(100)} == {"new"}
    rows = store.conn.execute("SELECT DISTINCT source FROM items WHERE id <= 2").fetchall()
    assert [tuple(row) for row in rows] == [("new",)]
    found = store.candidates("new", {"strikes", "tyre"}, 0.0)
    assert [c.text for c in found] == ["Strikes reported near Tyre"]
    assert store.candidates("old", {"strikes", "tyre"}, 0.0) == []


# --- delivery changes, numbered for `ticker tail -f` --------------------------------------


def _changes(store: Store) -> list[tuple[int, str, int | None]]:
    rows = store.conn.execute("SELECT id, status, changed FROM deliveries ORDER BY id")
    return [(int(i), str(s), c) for i, s, c in rows]


def test_each_change_of_a_delivery_takes_the_next_number_and_new_ones_none(store: Store) -> None:
    store.record_poll("s", URL, lines("old"), 0.0, ["mail"])
    store.record_poll("s", URL, lines("a", "b", "c", "d", "old"), 1.0, ["mail", "phone"])
    assert {changed for _, _, changed in _changes(store)} == {None}  # new: the alert says it
    assert store.last_delivery_change() == 0
    first, second, third, *_ = [d.id for d in store.pending_deliveries()]
    store.mark_retry(first, 2.0, "timeout", 32.0)
    store.mark_sent(first, 33.0)
    store.mark_failed(second, 34.0, "auth refused")
    store.mark_expired([third], 35.0)
    store.cancel_deliveries(["mail"], 36.0)  # "phone" left the config: its pending ones
    numbers = {i: c for i, _, c in _changes(store)}
    assert numbers[first] == 2 and numbers[second] == 3 and numbers[third] == 4
    cancelled = [c for _, s, c in _changes(store) if s == "cancelled"]
    assert cancelled and set(cancelled) == {5}  # one transaction, one number
    assert store.last_delivery_change() == 5
    assert [(c.changed, c.status) for c in store.delivery_changes(1)][:3] == [
        (2, "sent"),
        (3, "failed"),
        (4, "expired"),
    ]


def test_pruning_never_takes_the_change_sequence_back(store: Store) -> None:
    store.record_poll("s", URL, lines("old"), 0.0, ["mail"])
    store.record_poll("s", URL, lines("a", "b", "old"), 1.0, ["mail"])
    for delivery in store.pending_deliveries():
        store.mark_sent(delivery.id, 2.0)
    newest = store.last_delivery_change()
    store.prune(before=1e9)  # every finished delivery is older than that
    assert _changes(store) == [] and store.last_delivery_change() == newest
    store.record_poll("s", URL, lines("c", "a", "b", "old"), 3.0, ["mail"])
    store.mark_sent(store.pending_deliveries()[0].id, 4.0)
    assert _changes(store)[0][2] == newest + 1  # never a number a follower has seen


@pytest.mark.sqlite_only("counts SQLite's virtual-machine steps")
def test_following_delivery_changes_costs_the_same_whatever_the_outbox(tmp_path: Path) -> None:
    from ticker.store import Mark

    stores = []
    for name, count in (("small.db", 1_000), ("large.db", 20_000)):
        store = _store_with_alerts(tmp_path / name, count)
        pending = store.pending_deliveries(count)
        store.write_marks([Mark(d.id, "sent", 2.0) for d in pending[:-5]])  # one number
        for delivery in pending[-5:]:
            store.mark_sent(delivery.id, 3.0)  # a number each
        stores.append(store)
    small, large = stores

    def look(store: Store) -> Callable[[], object]:
        after = store.last_delivery_change() - 5
        return lambda: (store.last_delivery_change(), store.delivery_changes(after))

    assert len(look(large)()[1]) == 5  # type: ignore[index]
    assert vm_steps(large, look(large)) <= vm_steps(small, look(small)) + 2
    plan = large.conn.execute("EXPLAIN QUERY PLAN SELECT * FROM deliveries WHERE changed > 1")
    assert any("INDEX deliveries_changed" in row[3] for row in plan)
    for store in stores:
        store.close()


def test_changes_of_one_transaction_are_read_in_pages_without_a_gap(store: Store) -> None:
    store.record_poll("s", URL, lines("old"), 0.0, ["mail"])
    store.record_poll("s", URL, lines("a", "b", "c", "d", "e", "old"), 1.0, ["gone"])
    store.cancel_deliveries(["mail"], 2.0)  # five changes, one number
    after, within, read = store.last_delivery_change() - 1, None, []
    for _ in range(5):  # bounded: pages of two
        page = store.delivery_changes(after, after_delivery=within, limit=2)
        if not page:
            break
        read += [change.delivery_id for change in page]
        after, within = page[-1].changed, page[-1].delivery_id
    assert read == [d for d, _, _ in _changes(store)]


@pytest.mark.sqlite_only("counts SQLite's virtual-machine steps")
def test_channel_stats_cost_the_same_whatever_the_sent_history(tmp_path: Path) -> None:
    """`ticker status` and the web page read each channel's state every few seconds: its
    last success comes from an index (schema 12), not from a scan of every delivery."""
    from ticker.store import Mark

    stores = []
    for name, count in (("small.db", 1_000), ("large.db", 20_000)):
        store = _store_with_alerts(tmp_path / name, count)
        pending = store.pending_deliveries(count)
        store.write_marks([Mark(d.id, "sent", 2.0 + d.id) for d in pending[:-3]])
        store.mark_failed(pending[-1].id, 9e9, "refused")
        stores.append(store)
    small, large = stores
    stats = large.channel_stats()
    assert [(s.channel, s.pending, s.failed, s.last_error) for s in stats.values()] == [
        ("mail", 2, 1, "refused")
    ]
    assert stats["mail"].last_sent == 2.0 + pending[-4].id
    assert vm_steps(large, large.channel_stats) <= vm_steps(small, small.channel_stats) + 2
    for store in stores:
        store.close()
