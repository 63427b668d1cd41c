"""One alert per story: the classifier, its index in the store, and bursts in the outbox."""

from __future__ import annotations

import asyncio

import pytest
from conftest import Recorder, lines

from ticker.dedupe import Candidate, Judge, classify, compare
from ticker.outbox import Outbox, Shaping
from ticker.store import MAX_CANDIDATES, Store

URL = "https://example.org/"
DEFENSE = "Gaza Civil Defense spokesman"
TYPO = (
    f"{DEFENSE}: Reality is that there is a very limited retreat of the vehicles, with the "
    "occupation forces providing cover undeer fire up to Salah al-Din Street"
)
FIXED = TYPO.replace("undeer", "under")
AMBUSH = "Israeli media: Major ambush in Gaza kills 5 Israeli troops, injures 14"
AMBUSH_UPDATED = "Israeli media: Major ambush in Gaza kills 6 Israeli troops, injures dozens"
ARRESTED = (
    "Al Mayadeen's correspondent: The Lebanese army arrested a number of people in the Matn "
    "area of Mount Lebanon with possession it has not disclosed"
)
INVESTIGATING = (
    "Al Mayadeen's correspondent: The Lebanese Army is continuing its investigations and will "
    "later announce any information that does not affect the confidentiality of the "
    "investigation"
)


@pytest.mark.parametrize(
    ("earlier", "later", "kind", "changes"),
    [
        (TYPO, FIXED, "update", ("undeer \u2192 under",)),
        (AMBUSH, AMBUSH_UPDATED, "update", ("5 \u2192 6", "14 \u2192 dozens")),
        (ARRESTED, INVESTIGATING, "new", ()),
        (ARRESTED, ARRESTED.replace("Al Mayadeen's", "Our"), "duplicate", ()),
        (ARRESTED, ARRESTED.replace("Al Mayadeen's", "Al Mayadeen"), "duplicate", ()),
        (
            "Hamas: 'Israel' must withdraw",
            "Hamas: \u201cIsrael\u201d must withdraw.",
            "duplicate",
            (),
        ),
        ("Hamas: The army withdrew", "Hamas: Army withdrew", "duplicate", ()),
        (
            "Hamas: Israeli airstrike on a house in Khan Younis kills 3",
            "Hamas: Israeli airstrike on a house in Rafah kills 3",
            "new",
            (),
        ),
        (
            "Hamas: The delegation arrived in Cairo",
            "Islamic Jihad: The delegation arrived in Cairo",
            "new",
            (),
        ),
        (
            f"{DEFENSE}: Strong indications of martyrs in the Salah al-Din area",
            f"{DEFENSE}: Strong indications of martyrs in the Salah al-Din area of Gaza City",
            "update",
            ("+ of Gaza City",),
        ),
    ],
)
def test_compare_classifies_the_edits_the_ticker_makes(earlier, later, kind, changes) -> None:
    verdict = compare(earlier, later)
    assert verdict.kind == kind
    assert verdict.changes == changes


def test_classify_prefers_a_duplicate_then_the_closest_update() -> None:
    line = lines(FIXED)[0]
    candidates = [Candidate(1, ARRESTED), Candidate(2, TYPO), Candidate(3, FIXED + ".")]
    assert classify(line, candidates).item_id == 3  # the duplicate wins
    verdict = classify(line, candidates[:2])
    assert (verdict.kind, verdict.item_id) == ("update", 2)
    assert classify(line, [Candidate(1, ARRESTED)]).kind == "new"


def record(store: Store, page: list[str], now: float, **kwargs):
    kwargs.setdefault("judge", Judge())
    return store.record_poll("src", URL, lines(*page), now, ["mail", "quiet"], **kwargs)


def test_store_links_updates_and_logs_duplicates_without_alerting(store: Store) -> None:
    record(store, [TYPO, ARRESTED], 100.0)  # baseline
    fixed = record(store, [FIXED, ARRESTED], 130.0, update_channels=["mail"])
    (item,) = fixed.new
    assert (item.kind, item.changes) == ("update", ("undeer \u2192 under",))
    original_id = store.conn.execute("SELECT id FROM items WHERE text = ?", (TYPO,)).fetchone()[0]
    assert item.of_item == original_id
    # Only the channel that wants updates gets one.
    assert [d.channel for d in store.pending_deliveries()] == ["mail"]
    assert store.pending_deliveries()[0].kind == "update"

    reposted = record(store, [ARRESTED.replace("Al Mayadeen's", "Our"), FIXED], 160.0)
    assert [(i.kind, i.alert_id) for i in reposted.new] == [("duplicate", None)]
    new_story = record(store, [INVESTIGATING, FIXED], 190.0)
    assert [i.kind for i in new_story.new] == ["new"]
    assert [d.channel for d in store.pending_deliveries()].count("quiet") == 1

    (alert,) = [a for a in store.recent_alerts() if a.kind == "update"]
    assert alert.updates_text == TYPO and alert.changes == "undeer \u2192 under"


def test_history_older_than_the_window_is_not_matched(store: Store) -> None:
    judge = Judge(window=3600)
    record(store, [TYPO], 0.0, judge=judge)
    record(store, ["Hamas: unrelated"], 10.0, judge=judge)
    later = record(store, [FIXED, "Hamas: unrelated"], 7200.0, judge=judge)
    assert [i.kind for i in later.new] == ["new"]


def test_candidates_come_from_the_index_not_a_scan(store: Store) -> None:
    record(store, [ARRESTED], 1.0)
    for n in range(300):
        record(
            store, [f"Hamas: filler statement number {n} about the negotiations", ARRESTED], 2.0 + n
        )
    terms = Judge().terms(lines(INVESTIGATING)[0])
    found = store.candidates("src", terms, since=0.0)
    assert 0 < len(found) <= MAX_CANDIDATES
    # The rarest shared terms ("lebanese", "army") lead to the Lebanese story first.
    assert found[0].text == ARRESTED


def test_a_burst_of_one_attribution_goes_out_as_one_message_in_site_order(
    store: Store, seed_lines: list[str]
) -> None:
    store.record_poll("src", URL, lines("Hamas: old"), 1.0, ["mail"], judge=Judge())
    burst = [*seed_lines[:4], "Hamas: A statement on the talks", "Hamas: old"]
    store.record_poll("src", URL, lines(*burst), 2.0, ["mail"], judge=Judge())
    sender = Recorder()
    asyncio.run(Outbox(store, sender, {"mail": Shaping()}, lambda: 3.0).drain())
    assert [m.title for m in sender.messages] == [
        "src: Hamas: A statement on the talks",
        "Al Mayadeen's correspondent: The Lebanese Army is continuing its investigations and "
        "will\u2026 (+3 more)",  # the first listed, cut at a word
    ]
    assert sender.messages[1].body.splitlines() == [
        "\u2022 " + text.split(": ", 1)[1] for text in burst[:4]
    ]
    assert store.pending_deliveries() == []


def test_group_window_holds_alerts_to_gather_a_burst_across_polls(store: Store) -> None:
    store.record_poll("src", URL, lines("Hamas: old"), 0.0, ["mail"], judge=Judge())
    store.record_poll(
        "src",
        URL,
        lines("Hamas: first statement on the talks", "Hamas: old"),
        10.0,
        ["mail"],
        judge=Judge(),
    )
    sender = Recorder()
    clock = [15.0]
    outbox = Outbox(store, sender, {"mail": Shaping(group_window=30)}, lambda: clock[0])
    asyncio.run(outbox.drain())
    assert sender.messages == []  # held: the window is still open
    store.record_poll(
        "src",
        URL,
        lines("Hamas: second, on the prisoners exchange", "Hamas: first statement on the talks"),
        25.0,
        ["mail"],
        judge=Judge(),
    )
    clock[0] = 60.0
    asyncio.run(outbox.drain())
    assert len(sender.messages) == 1
    assert sender.messages[0].title == "Hamas: second, on the prisoners exchange (+1 more)"
    assert sender.messages[0].body.splitlines()[0] == "\u2022 second, on the prisoners exchange"


def test_an_update_message_is_marked_and_says_what_changed(store: Store) -> None:
    record(store, [AMBUSH], 1.0)
    record(store, [AMBUSH_UPDATED], 2.0)
    sender = Recorder()
    asyncio.run(Outbox(store, sender, {"mail": Shaping()}, lambda: 3.0).drain())
    (message,) = sender.messages
    assert message.title == (
        "Update: Israeli media: Major ambush in Gaza kills 6 Israeli troops, injures dozens"
    )
    assert message.body.splitlines() == [
        "Major ambush in Gaza kills 6 Israeli troops, injures dozens",
        "Changed: 5 \u2192 6; 14 \u2192 dozens",
    ]
