"""Identity per kind: a line whose source gives it an id (an RSS guid, a JSON id, a
Telegram post id) is known by that id as well as by its text. The same id with new text is
an update of that story; a new id whose text was seen is no new story; lines without an id
(html strips) are known by their text's fingerprint alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import database_at

from ticker.dedupe import Judge
from ticker.lines import Line
from ticker.sources.kind import in_order
from ticker.store import SCHEMA_VERSION, PollRecord, Store

URL = "https://example.org/feed.xml"
T0 = 1_764_000_000.0
HOUR = 3600.0


def keyed(*items: tuple[str, str]) -> list[Line]:
    """Lines in document order, newest first, each (key, text)."""
    return [Line.from_text(text, key=key) for key, text in items]


def poll(store: Store, items: list[Line], now: float, **kwargs: object) -> PollRecord:
    return store.record_poll("feed", URL, items, now, ["mail"], judge=Judge(), **kwargs)  # type: ignore[arg-type]


def alert_rows(store: Store) -> list[tuple[str, str, int | None, str | None]]:
    """(text, alert kind, the item it updates, changes) of every alert, oldest first."""
    rows = store.conn.execute(
        "SELECT i.text, a.kind, a.updates_item, a.changes FROM alerts a "
        "JOIN items i ON i.id = a.item_id ORDER BY a.id"
    )
    return [tuple(row) for row in rows]


def test_the_same_id_with_new_text_is_an_update_of_that_item(store: Store) -> None:
    poll(store, keyed(("post/1", "Gaza Civil Defense: 5 killed in a strike on Jabalia")), T0)
    record = poll(
        store,
        keyed(
            ("post/2", "Hezbollah: a drone downed over the south"),
            ("post/1", "Gaza Civil Defense: 7 killed in a strike on Jabalia camp"),
        ),
        T0 + 60,
    )
    kinds = {item.line.key: item.kind for item in record.new}
    assert kinds == {"post/1": "update", "post/2": "new"}
    (first,) = store.conn.execute("SELECT id FROM items WHERE key = 'post/1' ORDER BY id LIMIT 1")
    update = next(item for item in record.new if item.line.key == "post/1")
    assert update.of_item == first[0] and update.alert_id is not None
    assert update.changes == ("5 \u2192 7", "+ camp")
    assert [row[:2] for row in alert_rows(store)] == [
        ("Gaza Civil Defense: 7 killed in a strike on Jabalia camp", "update"),
        ("Hezbollah: a drone downed over the south", "new"),
    ]


def test_an_edit_that_rewrites_every_word_is_still_an_update(store: Store) -> None:
    """The source says it is the same post: no similarity threshold applies."""
    poll(store, keyed(("post/9", "Breaking: explosions heard")), T0)
    record = poll(
        store, keyed(("post/9", "Israeli strikes on Khan Younis, casualties reported")), T0 + 60
    )
    (item,) = record.new
    assert item.kind == "update" and item.alert_id is not None


def test_an_edit_of_an_item_older_than_the_dedupe_window_is_still_an_update(
    store: Store,
) -> None:
    poll(store, keyed(("g1", "Lebanese army: roads closed in the Matn")), T0)
    record = poll(store, keyed(("g1", "Lebanese army: roads reopened in the Matn")), T0 + 72 * HOUR)
    assert [item.kind for item in record.new] == ["update"]


def test_edits_chain_each_updating_the_newest_text_under_the_id(store: Store) -> None:
    poll(store, keyed(("g1", "Toll rises to 10")), T0)
    second = poll(store, keyed(("g1", "Toll rises to 12")), T0 + 60).new[0]
    third = poll(store, keyed(("g1", "Toll rises to 15")), T0 + 120).new[0]
    assert third.kind == "update" and third.of_item == second.item_id
    assert third.changes == ("12 \u2192 15",)


def test_an_edit_back_to_a_text_already_seen_alerts_nothing(store: Store) -> None:
    poll(store, keyed(("g1", "Toll rises to 10")), T0)
    poll(store, keyed(("g1", "Toll rises to 12")), T0 + 60)
    record = poll(store, keyed(("g1", "Toll rises to 10")), T0 + 120)
    assert record.new == () and record.seen == 1
    assert len(alert_rows(store)) == 1


def test_a_new_id_with_a_known_text_is_no_new_story(store: Store) -> None:
    """A feed that re-issues its guids (or re-posts an item under a new id) alerts nothing."""
    poll(store, keyed(("old-guid", "Hamas: the two delegations met in Cairo")), T0)
    record = poll(store, keyed(("new-guid", "Hamas: the two delegations met in Cairo.")), T0 + 60)
    assert record.new == () and record.seen == 1
    assert alert_rows(store) == []


def test_a_new_id_with_reworded_text_goes_to_the_judge(store: Store) -> None:
    """Without an id match the words decide, as for html: a reworded re-post under a new
    id is an update of the story it repeats, a different story is new."""
    poll(store, keyed(("a", "Gaza Civil Defense: 5 killed in a strike on Jabalia")), T0)
    record = poll(
        store,
        keyed(
            ("c", "Yemeni Armed Forces: a ship targeted in the Red Sea"),
            ("b", "Gaza Civil Defense: 6 killed in a strike on Jabalia"),
        ),
        T0 + 60,
    )
    assert {item.line.key: item.kind for item in record.new} == {"b": "update", "c": "new"}


def test_ids_are_per_source(store: Store) -> None:
    poll(store, keyed(("1", "Source one: first line")), T0)
    record = store.record_poll(
        "other", URL, keyed(("1", "Another story entirely, new here")), T0 + 1, ["mail"]
    )
    assert record.baseline and record.new[0].kind == "new"
    later = store.record_poll(
        "other", URL, keyed(("1", "Another story entirely, edited")), T0 + 2, ["mail"]
    )
    assert later.new[0].kind == "update"  # an update of `other`'s item 1, not `feed`'s


def test_an_edit_is_an_update_without_a_judge(store: Store) -> None:
    store.record_poll("feed", URL, keyed(("p", "first words")), T0, ["mail"])
    record = store.record_poll("feed", URL, keyed(("p", "second words")), T0 + 1, ["mail"])
    assert record.new[0].kind == "update" and record.new[0].alert_id is not None


def test_an_edit_during_the_baseline_is_not_alerted(store: Store) -> None:
    record = poll(store, keyed(("p2", "newer"), ("p1", "older")), T0)
    assert record.baseline and record.alerts == ()


def test_key_and_published_are_kept_with_the_item(store: Store) -> None:
    line = Line.from_text("Al Mayadeen: a line", key="  tag:site,2026:42 ", published=T0 - 30)
    poll(store, [line], T0)
    row = store.conn.execute("SELECT key, published FROM items").fetchone()
    assert tuple(row) == ("tag:site,2026:42", T0 - 30)


def test_lines_without_a_key_are_known_by_text_as_before(store: Store) -> None:
    poll(store, [Line.from_text("Toll rises to 10")], T0)
    record = poll(store, [Line.from_text("Toll rises to 12")], T0 + 60)
    assert record.new[0].kind == "update"  # by the judge: similar words, a number changed
    (keys,) = store.conn.execute("SELECT count(*) FROM items WHERE key IS NOT NULL").fetchone()
    assert keys == 0


def test_in_order_keeps_the_first_of_repeated_ids_and_texts() -> None:
    """A document listing one id twice (a feed's item repeated with an edit) yields one line
    for it, the first (newest) one: two items of one id in one poll would be a story and
    its own update."""
    items = keyed(("1", "newest text"), ("2", "other"), ("1", "older text"), ("3", "other"))
    assert [(line.key, line.text) for line in in_order(items)] == [
        ("1", "newest text"),
        ("2", "other"),
    ]


def test_in_order_sorts_by_published_when_every_line_has_it() -> None:
    items = [
        Line.from_text("b", key="b", published=T0 + 10),
        Line.from_text("a", key="a", published=T0),
        Line.from_text("c", key="c", published=T0 + 20),
    ]
    assert [line.text for line in in_order(items)] == ["c", "b", "a"]
    items[1] = Line.from_text("a", key="a")  # one without a time: the document order stands
    assert [line.text for line in in_order(items)] == ["b", "a", "c"]
    assert [line.text for line in in_order(items, "oldest-first")] == ["c", "a", "b"]


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_a_schema_6_database_gains_item_keys_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "ticker.db"
    conn = database_at(path, 6)
    conn.execute(
        "INSERT INTO items (source, fingerprint, text, first_seen, last_seen) "
        "VALUES ('feed', ?, 'Toll rises to 10', ?, ?)",
        (Line.from_text("Toll rises to 10").fingerprint, T0, T0),
    )
    conn.execute("INSERT INTO sources (name, url, last_success) VALUES ('feed', ?, ?)", (URL, T0))
    conn.close()
    store = Store.open(path)
    try:
        assert store.schema_version() == SCHEMA_VERSION >= 7
        assert [tuple(r) for r in store.conn.execute("SELECT key, published FROM items")] == [
            (None, None)
        ]
        record = poll(store, keyed(("g", "Toll rises to 10")), T0 + 60)
        assert record.new == () and record.seen == 1
    finally:
        store.close()
