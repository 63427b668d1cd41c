"""`/metrics` (ticker.metrics, issue 16): the Prometheus text that `ticker serve` answers,
read from a database filled by real polls of loopback pages (tests/servers.py). It parses
with prometheus_client's own parser, its values match what the polls did, its counters
never go down (more polls, housekeeping, reopening the database), it names no URL or
secret, and its cost does not grow with the number of alerts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import Clock, database_at, poll_now, source_config, vm_steps
from prometheus_client.parser import text_string_to_metric_families
from servers import Reply, ScriptedSite, ticker_page

from ticker import metrics
from ticker.config import Config
from ticker.errors import DatabaseUnusable
from ticker.lines import Line
from ticker.store import MIGRATIONS, Store

SELECTOR = ".breaking-news li"
FIRST = ["Strikes reported near Tyre", "The delegation arrives in Cairo"]
NEW_LINE = "Sirens sound in the north after a rocket barrage"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def make_config(tmp_path: Path, **source: Any) -> Config:
    return source_config(tmp_path, {"name": "site", "selector": SELECTOR, **source})


def scrape(store: Store, sources: list[str] | None = None) -> Samples:
    """Every sample of the store's /metrics, as prometheus_client's parser reads it, keyed
    by sample name and sorted labels."""
    body, content_type = metrics.exposition(store, sources)
    assert content_type.startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"{key} twice"
            samples[key] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def counters(samples: Samples) -> Samples:
    """The samples that must never go down: counters and histogram counts and sums."""
    growing = ("_total", "_bucket", "_count", "_sum")
    return {key: v for key, v in samples.items() if key[0].endswith(growing)}


def poll_script(store: Store, tmp_path: Path, clock: Clock) -> ScriptedSite:
    """Polls of one loopback site: a baseline, a new line, a 304, a server error, a page
    without its ticker; the site is stopped when this returns."""
    page = ticker_page([NEW_LINE, *FIRST])
    replies = [
        Reply(body=ticker_page(FIRST)),
        Reply(body=page),
        Reply(body=page),  # answered 304: the client sends the ETag of the last 200
        Reply(status=500, body="down"),
        Reply(body="<html><body><p>A new layout</p></body></html>"),
    ]
    with ScriptedSite(replies) as site:
        config = make_config(tmp_path, url=site.url)
        for _ in replies:
            clock.now += 60
            poll_now(config, store, clock, "site")
    return site


def test_metrics_parse_and_match_the_polls_that_filled_the_store(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    poll_script(store, tmp_path, clock)
    samples = scrape(store)
    polls = {
        result: value(samples, "ticker_polls_total", source="site", result=result)
        for result in ("ok", "not-modified", "failed", "layout")
    }
    assert polls == {"ok": 2, "not-modified": 1, "failed": 1, "layout": 1}
    histogram = "ticker_poll_duration_seconds"
    assert value(samples, f"{histogram}_count", source="site") == 5
    assert value(samples, f"{histogram}_bucket", source="site", le="+Inf") == 5
    assert value(samples, f"{histogram}_bucket", source="site", le="30.0") == 5  # loopback
    assert 0 < value(samples, f"{histogram}_sum", source="site") < 30
    assert value(samples, "ticker_lines_total", source="site", kind="new") == 3
    assert value(samples, "ticker_alerts_total", source="site", kind="new") == 1
    assert value(samples, "ticker_deliveries_total", channel="me", state="queued") == 1
    assert value(samples, "ticker_deliveries_pending", channel="me") == store.pending_count() == 1
    state = store.source_state("site")
    assert state is not None and state.last_success is not None
    stamp = value(samples, "ticker_source_last_success_timestamp_seconds", source="site")
    assert stamp == state.last_success == clock.now - 2 * 60  # the 304
    assert value(samples, "ticker_source_last_poll_timestamp_seconds", source="site") == clock.now
    assert value(samples, "ticker_source_consecutive_failures", source="site") == 2
    health = {
        h: value(samples, "ticker_source_health", source="site", health=h)
        for h in ["ok", "down", "layout"]
    }
    assert health == {"ok": 1, "down": 0, "layout": 0}


def test_lines_and_alerts_by_kind_match_the_tables(tmp_path: Path, store: Store) -> None:
    update = "Strikes reported near Tyre and Sidon"  # an update of FIRST[0]
    with ScriptedSite(
        [Reply(body=ticker_page(FIRST)), Reply(body=ticker_page([update, NEW_LINE, *FIRST]))]
    ) as site:
        config = make_config(tmp_path, url=site.url)
        clock = Clock()
        poll_now(config, store, clock, "site")
        clock.now += 60
        poll_now(config, store, clock, "site")
    samples = scrape(store)
    for table, name in (("items", "ticker_lines_total"), ("alerts", "ticker_alerts_total")):
        rows = store.conn.execute(f"SELECT kind, count(*) FROM {table} GROUP BY kind")
        expected = {kind: float(n) for kind, n in rows}
        shown = {
            dict(labels)["kind"]: v for (sample, labels), v in samples.items() if sample == name
        }
        assert shown == expected
    assert value(samples, "ticker_alerts_total", source="site", kind="update") == 1


def test_counters_never_go_down_after_polls_housekeeping_and_a_restart(
    tmp_path: Path, store: Store
) -> None:
    clock = Clock()
    poll_script(store, tmp_path, clock)
    first = counters(scrape(store))
    delivery = store.pending_deliveries()[0]
    store.mark_sent(delivery.id, clock())
    poll_script(store, tmp_path, clock)  # the same script again: more of every result
    second = counters(scrape(store))
    clock.now += 365 * 86_400.0
    assert store.prune(clock())["items"] > 0  # housekeeping deletes rows the counters counted
    store.close()
    reopened = Store.open(store.path)  # a restart
    try:
        third = counters(scrape(reopened))
    finally:
        reopened.close()
    for before, after in ((first, second), (second, third)):
        assert set(before) <= set(after)
        assert all(after[key] >= before[key] for key in before), "a counter went down"
    assert second[("ticker_polls_total", (("result", "ok"), ("source", "site")))] == 4
    assert third == second
    assert third[("ticker_deliveries_total", (("channel", "me"), ("state", "sent")))] == 1


def test_no_channel_url_or_secret_in_the_metrics(tmp_path: Path, store: Store) -> None:
    secret = "hunter2-s3cret-token"
    channel_url = f"json://user:{secret}@127.0.0.1:9/"
    store.record_poll("site", f"https://example.org/?key={secret}", [Line.from_text("a")], 1.0, [])
    store.record_poll(
        "site", f"https://example.org/?key={secret}", [Line.from_text("b")], 2.0, ["me"]
    )
    (delivery,) = store.pending_deliveries()
    store.mark_failed(delivery.id, 3.0, f"refused by {channel_url}")
    store.record_failure("site", f"https://example.org/?key={secret}", 4.0, f"HTTP 500 {secret}")
    body, _ = metrics.exposition(store)
    text = body.decode("utf-8")
    assert 'channel="me"' in text
    assert secret not in text and "example.org" not in text and "json://" not in text


def test_state_gauges_only_for_the_sources_asked_for(store: Store) -> None:
    for name in ("kept", "removed"):
        store.record_poll(name, f"https://{name}.example/", [Line.from_text(name)], 1.0, [])
    samples = scrape(store, ["kept"])
    stamps = [
        dict(labels)["source"]
        for (name, labels) in samples
        if name == "ticker_source_last_success_timestamp_seconds"
    ]
    assert stamps == ["kept"]
    assert value(samples, "ticker_polls_total", source="removed", result="ok") == 1


def test_a_readonly_store_serves_the_metrics(tmp_path: Path, store: Store) -> None:
    store.record_poll("site", "https://example.org/", [Line.from_text("a")], 1.0, [])
    reader = Store.open_readonly(store.path)
    try:
        samples = scrape(reader)
    finally:
        reader.close()
    assert value(samples, "ticker_polls_total", source="site", result="ok") == 1


def tallies_version() -> int:
    """The schema version whose migration creates the tallies table (the integrator may
    renumber it)."""
    return next(v for v, step in MIGRATIONS.items() if "tallies" in (step.__doc__ or ""))


@pytest.mark.sqlite_only("migrates an older SQLite schema")
def test_the_migration_counts_what_the_database_held(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = database_at(path, tallies_version() - 1)
    conn.close()
    old = Store.open_readonly(path)
    with pytest.raises(DatabaseUnusable, match="older than this ticker"):
        metrics.exposition(old)  # no counters in that schema
    old.close()
    # Rows written by the older ticker: two alerted lines of one source, one delivered.
    conn = sqlite3.connect(path, isolation_level=None)
    for n, kind in ((1, "new"), (2, "update")):
        conn.execute(
            "INSERT INTO items (id, source, fingerprint, text, first_seen, last_seen, kind) "
            "VALUES (?, 'site', ?, 'x', 1, 1, ?)",
            (n, f"f{n}", kind),
        )
        conn.execute(
            "INSERT INTO alerts (id, item_id, source, created, kind) VALUES (?, ?, 'site', 1, ?)",
            (n, n, kind),
        )
        status = "sent" if n == 1 else "pending"
        conn.execute(
            "INSERT INTO deliveries (alert_id, channel, status, created, next_attempt) "
            "VALUES (?, 'me', ?, 1, 1)",
            (n, status),
        )
    conn.close()
    store = Store.open(path)
    try:
        samples = scrape(store)
    finally:
        store.close()
    assert value(samples, "ticker_lines_total", source="site", kind="update") == 1
    assert value(samples, "ticker_alerts_total", source="site", kind="new") == 1
    assert value(samples, "ticker_deliveries_total", channel="me", state="queued") == 2
    assert value(samples, "ticker_deliveries_total", channel="me", state="sent") == 1
    assert value(samples, "ticker_deliveries_pending", channel="me") == 1


def alerts_of(store: Store, start: int, count: int) -> None:
    """`count` more alerted lines of source "bulk", each with a sent delivery."""
    page = [Line.from_text(f"Line number {n} of the bulk") for n in range(start, start + count)]
    store.record_poll("bulk", "https://example.org/", page, float(start + 1), ["me"])
    for delivery in store.pending_deliveries(limit=count):
        store.mark_sent(delivery.id, float(start + 2))


@pytest.mark.sqlite_only("counts SQLite's virtual-machine steps")
def test_a_scrape_costs_the_same_at_100_and_5000_alerts(sqlite_store: Store) -> None:
    store = sqlite_store  # reaches into SQLite itself
    store.record_poll("bulk", "https://example.org/", [Line.from_text("seed")], 0.0, ["me"])
    alerts_of(store, 0, 100)
    small = vm_steps(store, lambda: metrics.exposition(store))
    alerts_of(store, 100, 4900)
    assert store.counts()["alerts"] == 5000
    # Counting lines, alerts and deliveries from their tables would read every row.
    assert vm_steps(store, lambda: metrics.exposition(store)) <= small + 1
    plan = store.conn.execute(
        "EXPLAIN QUERY PLAN SELECT channel, count(*) FROM deliveries INDEXED BY "
        "deliveries_pending WHERE status = 'pending' GROUP BY channel"
    ).fetchall()
    assert "COVERING INDEX deliveries_pending" in " ".join(str(row[-1]) for row in plan)


def test_a_poll_whose_transaction_rolls_back_counts_nothing(store: Store) -> None:
    url = "https://example.org/"
    store.record_poll("site", url, [Line.from_text("a")], 1.0, ["me"])  # the baseline
    before = scrape(store)

    def broken_router(line: Line, kind: str) -> list[str]:
        raise RuntimeError("routing failed")  # after the line's item was inserted and counted

    with pytest.raises(RuntimeError):
        store.record_poll(
            "site", url, [Line.from_text("b"), Line.from_text("a")], 2.0, broken_router
        )
    assert scrape(store) == before
    store.record_poll("site", url, [Line.from_text("b"), Line.from_text("a")], 3.0, ["me"])
    after = scrape(store)
    assert value(after, "ticker_lines_total", source="site", kind="new") == 2
    assert value(after, "ticker_polls_total", source="site", result="ok") == 2
