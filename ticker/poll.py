"""One poll of one source: fetch, parse, diff against the log, record. Never raises for a
site's misbehaviour: failures are logged and counted in the source's state."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ticker.config import Config, Source
from ticker.dedupe import Judge
from ticker.errors import FetchError, ParseError
from ticker.fetch import Page, fetch_page
from ticker.lines import Line
from ticker.route import router
from ticker.sources import parser_for
from ticker.store import PollRecord, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    """The result of one poll: a record of what changed, or the error that stopped it."""

    source: str
    record: PollRecord | None = None
    error: str | None = None
    not_modified: bool = False


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
    page = await fetch_page(
        client, source.url, max_bytes=max_bytes, etag=etag, last_modified=last_modified
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
    return page, parser_for(source.kind)(page.text, source)


def judge_for(config: Config) -> Judge:
    """The de-duplication settings of `config` as the store uses them."""
    return Judge(window=config.dedupe.window_hours * 3600, threshold=config.dedupe.threshold)


def _failed(store: Store, source: Source, now: float, error: str) -> PollOutcome:
    failures = store.record_failure(source.name, source.url, now, error)
    if failures == 1:
        log.warning("%s: poll failed: %s", source.name, error)
    else:
        log.info("%s: still failing (%d in a row): %s", source.name, failures, error)
    return PollOutcome(source=source.name, error=error)


async def poll_source(
    config: Config,
    source: Source,
    client: httpx.AsyncClient,
    store: Store,
    clock: Callable[[], float],
) -> PollOutcome:
    """Poll `source` once and record the result; new lines get deliveries for its channels."""
    state = store.source_state(source.name)
    baselined = state is not None and state.last_success is not None
    try:
        page, lines = await fetch_lines(
            client,
            source,
            config.settings.max_page_bytes,
            etag=state.etag if baselined and state else None,
            last_modified=state.last_modified if baselined and state else None,
        )
    except (FetchError, ParseError) as exc:
        return _failed(store, source, clock(), str(exc))
    if state is not None and state.consecutive_failures:
        log.warning("%s: recovered after %d failed polls", source.name, state.consecutive_failures)
    if lines is None:
        store.record_not_modified(source.name, source.url, clock())
        return PollOutcome(source=source.name, not_modified=True)
    record = store.record_poll(
        source.name,
        source.url,
        lines,
        clock(),
        router(config.channels_for(source.name), clock),
        judge=judge_for(config),
        backfill=source.backfill,
        etag=page.etag,
        last_modified=page.last_modified,
    )
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
