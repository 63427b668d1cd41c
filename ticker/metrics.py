"""ticker's Prometheus metrics (`/metrics` of `ticker serve`), read from the database at
scrape time: the process that serves them never polls, so everything comes from the store.

    body, content_type = metrics.exposition(store)

Counters (`*_total`) come from the tallies table, which the store's writes keep in the
same transaction as what they count (store.py, schema 11): they only grow, across scrapes,
restarts and housekeeping, and reading them costs a few rows per source and channel
however many alerts the database holds. A renamed source's counters stay under its old
name (its new name starts from zero), as a counter must never go down. Gauges come from
the sources row of each source and from an index of pending deliveries.

The last success is exported as a Unix timestamp (the form Prometheus prefers to a "seconds
since" gauge, which would be stale between scrapes): alert on
`time() - ticker_source_last_success_timestamp_seconds > 900`. Only names appear in
labels (sources, channels, kinds, results); never a URL, an error text or a secret.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from ticker.errors import DatabaseUnusable
from ticker.store import POLL_SECONDS_BUCKETS, SCHEMA_VERSION, SourceState, Store, Tally

HEALTH_STATES = ("ok", "down", "layout")  # a source's health, as store.record_health sets it
PREFIX = "ticker"
# The text format every Prometheus reads (what prometheus_client's own handler answers a
# scraper that asks for nothing else); the names here need none of the 1.0.0 additions.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition(store: Store, sources: Collection[str] | None = None) -> tuple[bytes, str]:
    """The metrics of the database behind `store` (read-only is enough) in the Prometheus
    text format, and its Content-Type. `sources`, if given (the configured sources' names),
    limits the per-source state gauges (health, last success...) to those sources, so a
    source removed from the config does not look silent for ever; counters keep every
    name. Raises DatabaseUnusable for a database of an older schema (no counters yet)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, sources))
    return generate_latest(registry), CONTENT_TYPE


class StoreCollector:
    """A prometheus_client collector reading `store` each time it is collected; every
    query of one scrape sees the same state of the database (one read snapshot)."""

    def __init__(self, store: Store, sources: Collection[str] | None = None) -> None:
        self.store = store
        self.sources = None if sources is None else set(sources)

    def collect(self) -> Iterator[Metric]:
        """The metric families of the database as it is now."""
        version = self.store.schema_version()
        if version < SCHEMA_VERSION:
            raise DatabaseUnusable(
                self.store.path,
                f"has schema {version}, older than this ticker ({SCHEMA_VERSION}); "
                "run `ticker poll` or `ticker run` once to upgrade it",
            )
        with self.store.read_snapshot():
            tallies = self.store.tallies()
            states = self.store.source_states()
            pending = self.store.pending_by_channel()
        if self.sources is not None:
            states = [state for state in states if state.name in self.sources]
        yield from counter_families(tallies)
        yield poll_histogram(tallies)
        yield pending_gauge(pending)
        yield from source_gauges(states)


COUNTERS = (  # tallies metric, exported name (without _total), what it counts, label names
    (
        "polls",
        "polls",
        "Polls of a source, by result (ok, not-modified, failed, layout).",
        ("source", "result"),
    ),
    (
        "lines",
        "lines",
        "Ticker lines first seen, by source and kind (new, update, duplicate, also).",
        ("source", "kind"),
    ),
    (
        "alerts",
        "alerts",
        "Alerts raised, by source and kind (new, update, also, health; "
        "a channel's health alert has the channel's name as source).",
        ("source", "kind"),
    ),
    (
        "deliveries",
        "deliveries",
        "Deliveries by channel and what became of them: queued "
        "(created), sent, failed, expired, cancelled.",
        ("channel", "state"),
    ),
)


def counter_families(tallies: list[Tally]) -> Iterator[CounterMetricFamily]:
    """The counters of the tallies table, one family per metric (labels as COUNTERS)."""
    for metric, name, documentation, labels in COUNTERS:
        family = CounterMetricFamily(f"{PREFIX}_{name}", documentation, labels=list(labels))
        for tally in tallies:
            if tally.metric == metric:
                family.add_metric([tally.subject, tally.label], tally.value)
        yield family


def poll_histogram(tallies: list[Tally]) -> HistogramMetricFamily:
    """The poll-duration histogram per source. The store counts each poll once, in the
    bucket of the smallest bound at or above its duration (store.bucket_label); a
    Prometheus bucket counts every poll at or under its bound, so the counts add up."""
    per_bucket: dict[str, dict[float, float]] = defaultdict(dict)
    sums: dict[str, float] = defaultdict(float)
    for tally in tallies:
        if tally.metric == "poll_seconds":
            per_bucket[tally.subject][float(tally.label)] = tally.value
        elif tally.metric == "poll_seconds_sum":
            sums[tally.subject] += tally.value
    family = HistogramMetricFamily(
        f"{PREFIX}_poll_duration_seconds",
        "How long fetching a source took, successful or not (polls whose duration was measured).",
        labels=["source"],
    )
    for source in sorted(per_bucket):
        counts = per_bucket[source]
        buckets = [
            (floatToGoString(bound), sum(n for le, n in counts.items() if le <= bound))
            for bound in (*POLL_SECONDS_BUCKETS, float("inf"))
        ]
        family.add_metric([source], buckets, sum_value=sums[source])
    return family


def pending_gauge(pending: dict[str, int]) -> GaugeMetricFamily:
    """Deliveries waiting to be sent, per channel."""
    family = GaugeMetricFamily(
        f"{PREFIX}_deliveries_pending",
        "Deliveries waiting to be sent (retries included), per channel.",
        labels=["channel"],
    )
    for channel in sorted(pending):
        family.add_metric([channel], pending[channel])
    return family


def source_gauges(states: list[SourceState]) -> Iterator[GaugeMetricFamily]:
    """Each source's state: when it last succeeded, was last polled and is polled next
    (Unix timestamps; absent when it never happened), failures in a row, and its health
    (one sample per health state, 1 for the current one)."""
    timestamps = (
        ("last_success", "The last successful poll (a 200 or a 304) of a source."),
        ("last_poll", "The last poll of a source, successful or not."),
        ("next_poll", "When the daemon polls a source next."),
    )
    for field, documentation in timestamps:
        family = GaugeMetricFamily(
            f"{PREFIX}_source_{field}_timestamp_seconds",
            f"{documentation} Unix time.",
            labels=["source"],
        )
        for state in states:
            value = getattr(state, field)
            if value is not None:
                family.add_metric([state.name], value)
        yield family
    failures = GaugeMetricFamily(
        f"{PREFIX}_source_consecutive_failures",
        "Failed polls of a source in a row (0 after a success).",
        labels=["source"],
    )
    health = GaugeMetricFamily(
        f"{PREFIX}_source_health",
        "A source's health: 1 for its current state (ok, down, layout), 0 for the others.",
        labels=["source", "health"],
    )
    for state in states:
        failures.add_metric([state.name], state.consecutive_failures)
        for name in sorted({*HEALTH_STATES, state.health}):
            health.add_metric([state.name, name], 1.0 if name == state.health else 0.0)
    yield failures
    yield health
