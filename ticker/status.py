"""`ticker status`: what the daemon is doing, per source and per channel.

Reads the store only: no scheduler, no Apprise, no httpx, so it starts fast, and it works
while the daemon runs (the database is in WAL mode; this opens it read-only).
"""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from ticker.config import Config
from ticker.dburl import PostgresTarget
from ticker.lines import single_spaced
from ticker.reasons import likely_cause
from ticker.store import ChannelStats, SourceState, Store
from ticker.tail import iso_utc, local_time

WIDTH = 100  # the text output fits this many columns
clock: Callable[[], float] = time.time  # the time `ticker status` reads at (tests set it)
NONE = "-"


@dataclass(frozen=True)
class SourceRow:
    """One source as `ticker status` shows it. Times are Unix seconds; latency in seconds."""

    name: str
    configured: bool  # False: in the database only, no longer in the config
    last_poll: float | None  # None: never polled
    last_success: float | None
    result: str | None  # ok, not-modified, failed, layout
    error: str | None
    latency: float | None
    failures: int  # consecutive failed polls
    health: str | None  # ok, down, layout; None: never polled
    lines_today: int
    next_poll: float | None
    url: str | None = None  # as last polled


@dataclass(frozen=True)
class ChannelRow:
    """One channel's deliveries as `ticker status` shows them."""

    name: str
    pending: int
    failed: int
    last_success: float | None
    last_error: str | None
    last_error_at: float | None
    cancelled: int = 0  # pending when the channel left the config
    expired: int = 0  # older than max_delivery_age, never sent
    configured: bool = True  # False: in the database only, no longer in the config


@dataclass(frozen=True)
class Reload:
    """The daemon's last config reload: when, and why it failed (None: it was applied)."""

    at: float
    error: str | None


@dataclass(frozen=True)
class ReplicaRow:
    """One replica of `ticker run` on a PostgreSQL database (ticker.leases.ReplicaState),
    and what it holds: source names, then channel names."""

    name: str
    host: str
    pid: int
    started: float
    heartbeat: float
    live: bool
    sources_held: int
    sources: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """Everything `ticker status` shows, read at `generated`."""

    database: Path | PostgresTarget
    generated: float
    sources: tuple[SourceRow, ...]
    channels: tuple[ChannelRow, ...]
    reload: Reload | None = None  # None: no reload since the database was made
    config: Path | None = None  # None: no config found; what the database knows is shown
    replicas: tuple[ReplicaRow, ...] | None = None  # None: SQLite (one process, no replicas)


def local_midnight(now: float) -> float:
    """The Unix time of the last local midnight at or before `now`."""
    day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day.timestamp()


def _source_row(
    name: str, state: SourceState | None, configured: bool, today: int, scrub: Callable[[str], str]
) -> SourceRow:
    if state is None:
        return SourceRow(
            scrub(name), configured, None, None, None, None, None, 0, None, today, None
        )
    return SourceRow(
        name=scrub(name),
        configured=configured,
        last_poll=state.last_poll,
        last_success=state.last_success,
        result=state.last_result,
        error=scrub(state.last_error) if state.last_error else None,
        latency=state.last_latency,
        failures=state.consecutive_failures,
        health=state.health,
        lines_today=today,
        next_poll=state.next_poll,
        url=state.url,
    )


def read_status(
    config: Config | None, store: Store, now: float, scrub: Callable[[str], str] = str
) -> Status:
    """The state of every configured source and channel (in config order, then every one
    only the database still knows, by name), read in one snapshot; without a config
    (None), every one the database knows, by name, none marked as gone.
    Every text shown passes through `scrub` (the CLI's redactor); channel URLs are never
    read."""
    with store.read_snapshot():
        states = {state.name: state for state in store.source_states()}
        today = store.lines_since(local_midnight(now))
        stats = store.channel_stats()
        reload = store.service_fact("reload")
    configured = [s.name for s in config.sources] if config is not None else sorted(states)
    gone = sorted(set(states) - set(configured))
    sources = [
        _source_row(name, states.get(name), name in configured, today.get(name, 0), scrub)
        for name in [*configured, *gone]
    ]
    named = [c.name for c in config.channels] if config is not None else sorted(stats)
    removed = sorted(set(stats) - set(named))
    channels = [
        _channel_row(stats.get(name, ChannelStats(name)), name in named, scrub)
        for name in [*named, *removed]
    ]
    last = Reload(reload[0], scrub(reload[1]) if reload[1] else None) if reload else None
    where = config.path if config is not None else None
    return Status(store.path, now, tuple(sources), tuple(channels), last, where)


def _channel_row(stat: ChannelStats, configured: bool, scrub: Callable[[str], str]) -> ChannelRow:
    return ChannelRow(
        scrub(stat.channel),
        stat.pending,
        stat.failed,
        stat.last_sent,
        scrub(stat.last_error) if stat.last_error else None,
        stat.last_error_at,
        stat.cancelled,
        stat.expired,
        configured,
    )


def with_replicas(
    status: Status,
    conninfo: str,
    scrub: Callable[[str], str] = str,
    now: float | None = None,
) -> Status:
    """`status` with the replicas of a PostgreSQL database and what each holds, read on a
    connection of its own (ticker.leases; psycopg is imported here, never on SQLite), live
    or not by the server's clock (`now`: the tests'). No replica ever ran: an empty list.
    Raises DatabaseUnreachable."""
    from ticker import leases

    conn = leases.connect(conninfo, application_name="ticker status")
    try:
        if not _has_leases(conn):
            return replace(status, replicas=())
        states = leases.replicas(conn, now)
        held = leases.holders(conn, now)
    finally:
        conn.close()
    rows = []
    for state in states:
        names = sorted(name for name, owner in held.items() if owner == state.name)
        channels = [n[len(leases.CHANNEL_PREFIX) :] for n in names if _is_channel(n)]
        sources = [n for n in names if not _is_channel(n)]
        rows.append(
            ReplicaRow(
                scrub(state.name),
                scrub(state.host),
                state.pid,
                state.started,
                state.heartbeat,
                state.live,
                state.sources_held,
                tuple(scrub(n) for n in sources),
                tuple(scrub(n) for n in channels),
            )
        )
    return replace(status, replicas=tuple(rows))


def _is_channel(lease: str) -> bool:
    from ticker.leases import CHANNEL_PREFIX

    return lease.startswith(CHANNEL_PREFIX)


def _has_leases(conn: object) -> bool:
    """Whether the lease tables exist (a replica ran once)."""
    row = conn.execute("SELECT to_regclass('replicas') IS NOT NULL").fetchone()  # type: ignore[attr-defined]
    return bool(row and row[0])


# --- JSON ---------------------------------------------------------------------------------


def _iso(timestamp: float | None) -> str | None:
    return iso_utc(timestamp) if timestamp is not None else None


def as_json(status: Status) -> str:
    """One JSON object (`status_json`), indented."""
    return json.dumps(status_json(status), ensure_ascii=False, indent=2)


def status_json(status: Status) -> dict[str, object]:
    """The status as `--json` gives it (and the web API): raw values, times as ISO 8601
    UTC strings or null, latency in ms."""
    return {
        "sources": [
            {
                "name": s.name,
                "configured": s.configured,
                "last_poll": _iso(s.last_poll),
                "last_success": _iso(s.last_success),
                "result": s.result,
                "error": s.error,
                "latency_ms": round(s.latency * 1000, 1) if s.latency is not None else None,
                "consecutive_failures": s.failures,
                "health": s.health,
                "lines_today": s.lines_today,
                "next_poll": _iso(s.next_poll),
            }
            for s in status.sources
        ],
        "channels": [
            {
                "name": c.name,
                "configured": c.configured,
                "pending": c.pending,
                "failed": c.failed,
                "cancelled": c.cancelled,
                "expired": c.expired,
                "last_success": _iso(c.last_success),
                "last_error": c.last_error,
                "last_error_at": _iso(c.last_error_at),
            }
            for c in status.channels
        ],
        "reload": _reload_json(status.reload),
        **({"replicas": _replicas_json(status.replicas)} if status.replicas is not None else {}),
        "database": str(status.database),
        "generated": iso_utc(status.generated),
    }


def _replicas_json(rows: Sequence[ReplicaRow]) -> list[dict[str, object]]:
    return [
        {
            "name": r.name,
            "host": r.host,
            "pid": r.pid,
            "started": iso_utc(r.started),
            "heartbeat": iso_utc(r.heartbeat),
            "live": r.live,
            "sources_held": r.sources_held,
            "sources": list(r.sources),
            "channels": list(r.channels),
        }
        for r in rows
    ]


def _reload_json(reload: Reload | None) -> dict[str, object] | None:
    if reload is None:
        return None
    return {"at": iso_utc(reload.at), "ok": reload.error is None, "error": reload.error}


# --- text ---------------------------------------------------------------------------------


def clip(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters (an ellipsis marks the cut)."""
    flat = single_spaced(text)
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "\u2026"


def when(timestamp: float | None, now: float, missing: str = NONE) -> str:
    """Local time for people: 09:15:02 on the day of `now`, else 2026-11-24 09:15."""
    if timestamp is None:
        return missing
    shown = local_time(timestamp)
    return shown[11:] if shown[:10] == local_time(now)[:10] else shown[:16]


def table(
    headers: Sequence[str],
    rows: Sequence[tuple[Sequence[str], Sequence[str]]],
    right: frozenset[int] = frozenset(),
    width: int = WIDTH,
) -> list[str]:
    """Plain-text table lines: columns aligned two spaces apart (those in `right` to the
    right), the last one cut to fit `width`. Each row is (cells, notes); its notes are
    printed under it, indented, each cut to `width`."""
    widths = [max([len(h), *(len(cells[i]) for cells, _ in rows)]) for i, h in enumerate(headers)]
    room = max(width - sum(widths[:-1]) - 2 * (len(widths) - 1), 16)
    widths[-1] = min(widths[-1], room)

    def line(cells: Sequence[str]) -> str:
        shown = [*cells[:-1], clip(cells[-1], widths[-1])]
        padded = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(shown)
        ]
        return "  ".join(padded).rstrip()

    out = [line(headers)]
    for cells, notes in rows:
        out.append(line(cells))
        out.extend("    " + clip(note, width - 4) for note in notes)
    return out


def _source_cells(row: SourceRow, now: float) -> tuple[list[str], list[str]]:
    latency = f"{row.latency * 1000:.0f} ms" if row.latency is not None else NONE
    next_poll = when(row.next_poll, now) if row.configured else NONE
    cells = [
        row.name,
        when(row.last_poll, now, "never"),
        row.result or NONE,
        latency,
        str(row.failures),
        row.health or NONE,
        str(row.lines_today),
        next_poll,
    ]
    notes = []
    if row.error:
        notes.append(f"{row.result or 'error'}: {row.error}")
        cause = likely_cause(row.url, row.error) if row.url else None
        notes.extend([cause] if cause else [])
    if not row.configured:
        notes.append("not in the config any more")
    return cells, notes


def _channel_cells(row: ChannelRow, now: float) -> tuple[list[str], list[str]]:
    cells = [
        row.name,
        str(row.pending),
        str(row.failed),
        when(row.last_success, now, "never"),
        row.last_error or NONE,
    ]
    notes = []
    if row.cancelled:
        notes.append(f"{row.cancelled} cancelled: the channel left the config")
    if row.expired:
        notes.append(f"{row.expired} expired: older than max_delivery_age")
    if not row.configured:
        notes.append("not in the config any more")
    return cells, notes


def reload_text(reload: Reload, now: float) -> str:
    """The header line about the last reload: applied, or failed with its reason (on one
    line: a ConfigError names the file, the field and what was expected)."""
    at = when(reload.at, now)
    if reload.error is None:
        return f"last reload: {at}, applied"
    return f"last reload: {at}, FAILED, still running on the previous config: {reload.error}"


def replicas_text(rows: Sequence[ReplicaRow], now: float, verbose: bool = False) -> list[str]:
    """The replicas table (PostgreSQL); with `verbose`, what each live one holds, in full
    (wrapped, never cut)."""
    if not rows:
        return ["no replica has run on this database yet"]
    cells: list[tuple[list[str], list[str]]] = []
    for r in rows:
        row = [r.host, str(r.pid), when(r.started, now), when(r.heartbeat, now)]
        cells.append(([*row, "yes" if r.live else "no", str(r.sources_held), r.name], []))
    headers = ("HOST", "PID", "STARTED", "HEARTBEAT", "LIVE", "SOURCES", "REPLICA")
    out = table(headers, cells, right=frozenset({1, 5}))
    for r in rows if verbose else ():
        if r.live:
            sources, channels = ", ".join(r.sources) or NONE, ", ".join(r.channels) or NONE
            held = f"{r.name} holds sources: {sources}; channels: {channels}"
            out += textwrap.wrap(held, WIDTH, subsequent_indent="    ", break_on_hyphens=False)
    return out


def as_text(status: Status, verbose: bool = False) -> str:
    """The header lines and two aligned tables (sources, channels) for people, then the
    replicas on PostgreSQL (with `verbose`, who holds what); times are local, shown
    without the date on the day the status was read."""
    now = status.generated
    out = [f"ticker status at {local_time(now)} (local time)", f"database: {status.database}"]
    if status.config is None:
        out.append("config: none found; sources and channels as the database knows them")
    if status.reload is not None:
        out.append(reload_text(status.reload, now))  # whole: the reason is the point
    out.append("")
    if status.sources:
        headers = ("SOURCE", "LAST POLL", "RESULT", "LATENCY", "FAILS", "HEALTH", "LINES TODAY")
        out += table(
            (*headers, "NEXT POLL"),
            [_source_cells(row, now) for row in status.sources],
            right=frozenset({3, 4, 6}),
        )
    else:
        out.append("no source configured" if status.config else "no source in the database")
    out.append("")
    if status.channels:
        out += table(
            ("CHANNEL", "PENDING", "FAILED", "LAST SUCCESS", "LAST ERROR"),
            [_channel_cells(row, now) for row in status.channels],
            right=frozenset({1, 2}),
        )
    else:
        out.append("no channel configured" if status.config else "no channel in the database")
    if status.replicas is not None:
        out += ["", *replicas_text(status.replicas, now, verbose)]
    return "\n".join(out)
