"""One poll of one source: fetch, parse, diff against the log, record. Never raises for a
site's misbehaviour: failures are logged and counted in the source's state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ticker.config import Config, Source
from ticker.dedupe import Judge
from ticker.errors import FetchError, ParseError
from ticker.fetch import Page, fetch_page
from ticker.health import health_change
from ticker.lines import Line
from ticker.record import Policy
from ticker.route import router
from ticker.sources import kind_for
from ticker.store import PollRecord, SourceState, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    """The result of one poll: a record of what changed, or the error that stopped it."""

    source: str
    record: PollRecord | None = None
    error: str | None = None
    not_modified: bool = False
    failures: int = 0  # consecutive failed polls, this one included
    retry_after: float | None = None  # what the server asked for (429, 503)

    @property
    def found_new(self) -> bool:
        """True if the ticker showed a line never seen before (the baseline aside)."""
        return self.record is not None and not self.record.baseline and bool(self.record.new)


async def fetch_lines(
    client: httpx.AsyncClient,
    source: Source,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> tuple[Page, list[Line] | None]:
    """Fetch `source` and parse its ticker; lines is None on a 304.

    Raises FetchError or ParseError.
    """
    kind = kind_for(source.kind)
    page = await fetch_page(
        client,
        source.url,
        max_bytes=max_bytes,
        etag=etag,
        last_modified=last_modified,
        allow_private=source.allow_private,
        media_types=kind.media_types,
        accept=kind.accept,
    )
    if page.text is None:
        return page, None
    if page.truncated:
        log.warning(
            "%s: page larger than %d bytes, parsed the first %d only",
            source.name,
            max_bytes,
            max_bytes,
        )
    return page, kind.parse(page.text, source)


def judge_for(config: Config) -> Judge:
    """The de-duplication settings of `config` as the store uses them."""
    return Judge(
        window=config.dedupe.window_hours * 3600,
        threshold=config.dedupe.threshold,
        aliases=config.dedupe.aliases,
    )


def policy_for(config: Config, source: Source, clock: Callable[[], float]) -> Policy:
    """What `source`'s new lines become under `config`: judged by its [dedupe] settings,
    routed to the channels that take the source."""
    route = router(config.channels_for(source.name), clock)
    return Policy(route, judge_for(config), across=config.dedupe.across_sources)


def _failed(
    store: Store, source: Source, now: float, exc: FetchError | ParseError, latency: float
) -> PollOutcome:
    error = str(exc)
    layout = isinstance(exc, ParseError)
    failures = store.record_failure(
        source.name, source.url, now, error, layout=layout, latency=latency
    )
    if failures == 1:
        log.warning("%s: poll failed: %s", source.name, error)
    else:
        log.info("%s: still failing (%d in a row): %s", source.name, failures, error)
    retry_after = exc.retry_after if isinstance(exc, FetchError) else None
    return PollOutcome(source=source.name, error=error, failures=failures, retry_after=retry_after)


def former_name(config: Config, source: Source, store: Store, now: float) -> str | None:
    """The name `source` was polled under before, if it was renamed: its `renamed_from`,
    else a source no longer in the config that last polled the same URL (the most recently
    polled one, if several did). Only a name with a successful poll within retention_days
    counts: an older one's lines are forgotten, and taking it over would alert the whole
    ticker instead of baselining it."""
    configured = {s.name for s in config.sources}
    since = now - config.settings.retention_days * 86400

    def recent(state: SourceState | None) -> bool:
        return state is not None and state.last_success is not None and state.last_success >= since

    if source.renamed_from is not None and recent(store.source_state(source.renamed_from)):
        return source.renamed_from
    for state in store.sources_at(source.url):
        if state.name not in configured and recent(state):
            return state.name
    return None


def adopt_history(config: Config, source: Source, store: Store, now: float) -> bool:
    """If `source`, which has no state under its name, was renamed, move its former name's
    history (state, lines, alerts, index) to its name, and log it; True if it did."""
    old = former_name(config, source, store, now)
    across = config.dedupe.across_sources
    if old is None or not store.rename_source(
        old, source.name, source.url, judge_for(config), across=across
    ):
        return False
    log.warning(
        '%s: renamed from "%s": history kept; lines that appeared since its last poll alert',
        source.name,
        old,
    )
    return True


def check_health(config: Config, source: Source, store: Store, now: float) -> None:
    """Raise a health alert if `source`'s state just crossed a limit or recovered."""
    state = store.source_state(source.name)
    if state is None:
        return
    settings = config.settings
    advice = kind_for(source.kind).layout_advice(source)
    change = health_change(state, settings.health_failures, settings.health_layout_failures, advice)
    if change is None:
        return
    channels = [c.name for c in config.channels_for(source.name) if c.health]
    store.record_health(source.name, change.health, change.text, now, channels)
    if change.health == "ok":
        log.warning("health: %s", change.text)
    else:
        log.error("health: %s", change.text)


async def poll_source(
    config: Config,
    source: Source,
    client: httpx.AsyncClient,
    store: Store,
    clock: Callable[[], float],
) -> PollOutcome:
    """Poll `source` once and record the result; new lines get deliveries for its channels.

    A source polled for the first time under its name takes over the history of its
    former name first (`adopt_history`), so a rename is no baseline."""
    state = store.source_state(source.name)
    if state is None and adopt_history(config, source, store, clock()):
        state = store.source_state(source.name)
    baselined = state is not None and state.last_success is not None
    started = time.perf_counter()  # a failed poll's duration, for the metrics' histogram
    try:
        page, lines = await fetch_lines(
            client,
            source,
            config.settings.max_page_bytes,
            etag=state.etag if baselined and state else None,
            last_modified=state.last_modified if baselined and state else None,
        )
    except (FetchError, ParseError) as exc:
        outcome = _failed(store, source, clock(), exc, time.perf_counter() - started)
        check_health(config, source, store, clock())
        return outcome
    if state is not None and state.consecutive_failures:
        log.warning("%s: recovered after %d failed polls", source.name, state.consecutive_failures)
    if lines is None:
        store.record_not_modified(source.name, source.url, clock(), latency=page.elapsed)
        check_health(config, source, store, clock())
        return PollOutcome(source=source.name, not_modified=True)
    record = store.record_lines(
        source.name,
        source.url,
        lines,
        clock(),
        policy_for(config, source, clock),
        backfill=source.backfill,
        etag=page.etag,
        last_modified=page.last_modified,
        latency=page.elapsed,
    )
    check_health(config, source, store, clock())
    _log_record(record)
    return PollOutcome(source=source.name, record=record)


def _log_record(record: PollRecord) -> None:
    if record.baseline:
        log.info(
            "%s: first poll, %d lines recorded as the baseline (%d alerted)",
            record.source,
            len(record.new),
            len(record.alerts),
        )
    for item in record.new:
        state = "baseline" if record.baseline and item.alert_id is None else item.kind
        detail = f" ({'; '.join(item.changes)})" if item.changes else ""
        log.info("%s: %s: %s%s", record.source, state, item.line.text, detail)
