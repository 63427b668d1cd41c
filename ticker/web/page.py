"""The live page, rendered on the server: a plain list that works without JavaScript.

Every text from a site or the database goes through `esc` (html.escape, quotes too), links
only keep http(s) URLs, and nothing inline is scripted or styled, so the strict
Content-Security-Policy (app.py) holds. static/ticker.js adds live updates and filters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape

from ticker.lines import canonical_attribution
from ticker.status import ChannelRow, SourceRow, Status, when
from ticker.store import AlertView
from ticker.tail import burst_ids, iso_utc, local_time
from ticker.web.reader import Hourly

CHART_WIDTH, CHART_HEIGHT = 240, 60
SERIES = 8  # colours in ticker.css (.s0 to .s7); more sources reuse them


def esc(text: object) -> str:
    """`text` safe inside HTML text and quoted attributes."""
    return escape(str(text), quote=True)


def safe_url(url: str | None) -> str | None:
    """`url` if it is an http(s) link (a javascript: URL in a site's line would run)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


@dataclass(frozen=True)
class Filters:
    """What the page's filter form asks for (query string: source, attribution, q)."""

    source: str = ""
    attribution: str = ""
    text: str = ""

    def keeps(self, alert: AlertView) -> bool:
        """True if `alert` passes the attribution filter (source and text are asked of
        the database)."""
        if not self.attribution:
            return True
        return canonical_attribution(alert.attribution) == canonical_attribution(self.attribution)


def _marks(deliveries: dict[str, str]) -> str:
    return ", ".join(f"{channel}: {state}" for channel, state in deliveries.items())


def article(alert: AlertView, group: int, updates: str = "") -> str:
    """One alert as an <article>: time, source, kind, delivery marks, its text (read in the
    direction of its script: dir="auto"), what it updates, its link, the other sources that
    reported it, and the articles of its own `updates` (live ones are added there)."""
    attribution = canonical_attribution(alert.attribution) if alert.attribution else ""
    kind = {"update": "update", "health": "health"}.get(alert.kind, "")
    parts = [
        f'<article class="alert kind-{esc(alert.kind)}" id="a{alert.id}" data-id="{alert.id}"'
        f' data-group="{group}" data-source="{esc(alert.source)}"'
        f' data-attribution="{esc(attribution)}">',
        '<p class="meta">',
        f'<time datetime="{iso_utc(alert.first_seen)}">{esc(local_time(alert.first_seen))}</time>',
        f' <span class="source">{esc(alert.source)}</span>',
        f' <span class="kind">{kind}</span>' if kind else "",
        f' <span class="marks">{esc(_marks(alert.deliveries))}</span>' if alert.deliveries else "",
        "</p>",
        f'<p class="text" dir="auto">{esc(alert.text)}</p>',
    ]
    if alert.kind == "update" and alert.updates_text:
        changed = f" ({esc(alert.changes)})" if alert.changes else ""
        parts.append(f'<p class="was" dir="auto">was: {esc(alert.updates_text)}{changed}</p>')
    link = safe_url(alert.url)
    if link:
        parts.append(f'<p class="link"><a href="{esc(link)}" rel="noreferrer">{esc(link)}</a></p>')
    if alert.also:
        parts.append('<ul class="also">')
        parts.extend(
            f'<li dir="auto">also reported by <b>{esc(also.source)}</b>'
            f" ({esc(local_time(also.first_seen))}): {esc(also.text)}</li>"
            for also in alert.also
        )
        parts.append("</ul>")
    parts.append(f'<div class="updates">{updates}</div></article>')
    return "".join(parts)


def alert_blocks(alerts: Sequence[AlertView]) -> list[str]:
    """`alerts` (oldest first) as list items, newest block first: a burst (one source and
    attribution in one poll) is one block, and an update sits inside the story it updates
    when that story is on the page."""
    groups = burst_ids(list(alerts))
    by_id = {alert.id: alert for alert in alerts}
    blocks: dict[int, list[AlertView]] = {}
    nested: dict[int, list[AlertView]] = {}  # story alert id -> its updates, oldest first
    for alert in alerts:
        if alert.kind == "update" and alert.updates_id in by_id:
            nested.setdefault(_story_of(alert, by_id), []).append(alert)
        else:
            blocks.setdefault(groups[alert.id], []).append(alert)

    def render(alert: AlertView) -> str:
        updates = "".join(article(u, groups[u.id]) for u in nested.get(alert.id, []))
        return article(alert, groups[alert.id], updates)

    out = []
    for group in sorted(blocks, reverse=True):
        burst = " burst" if len(blocks[group]) > 1 else ""
        inner = "".join(render(alert) for alert in blocks[group])
        out.append(f'<li class="block{burst}" data-group="{group}">{inner}</li>')
    return out


def _story_of(alert: AlertView, by_id: dict[int, AlertView]) -> int:
    """The id of the first alert of `alert`'s story among `by_id` (a chain of updates)."""
    story = alert
    for _hop in range(len(by_id)):  # bounded: a chain cannot be longer than the list
        parent = by_id.get(story.updates_id or 0) if story.kind == "update" else None
        if parent is None:
            break
        story = parent
    return story.id


def _options(
    values: Iterable[str], chosen: str, everything: str, same: Callable[[str], str] = str
) -> str:
    shown = [f'<option value="">{esc(everything)}</option>']
    for value in values:
        selected = " selected" if chosen and same(value) == same(chosen) else ""
        key = f' data-key="{esc(same(value))}"'  # what the script compares
        shown.append(f'<option value="{esc(value)}"{key}{selected}>{esc(value)}</option>')
    return "".join(shown)


def filter_form(filters: Filters, sources: Sequence[str], attributions: Sequence[str]) -> str:
    """The filter form: a GET to / (works without JavaScript; the script filters live)."""
    return (
        '<form id="filters" method="get" action="/">'
        '<label>Source <select name="source">'
        f"{_options(sources, filters.source, 'all sources')}</select></label> "
        '<label>Attribution <select name="attribution">'
        f"{_options(attributions, filters.attribution, 'anyone', canonical_attribution)}"
        "</select></label> "
        '<label>Text <input type="search" name="q" '
        f'value="{esc(filters.text)}" dir="auto"></label> '
        '<button type="submit">Filter</button></form>'
    )


def _source_row(row: SourceRow, now: float) -> str:
    health = row.health or "-"
    cells = [
        row.name,
        when(row.last_poll, now, "never"),
        row.result or "-",
        str(row.failures),
        when(row.next_poll, now) if row.configured else "-",
    ]
    tds = "".join(f"<td>{esc(cell)}</td>" for cell in cells)
    error = f' title="{esc(row.error)}"' if row.error else ""
    return f'<tr class="health-{esc(health)}"{error}>{tds}</tr>'


def _channel_row(row: ChannelRow, now: float) -> str:
    cells = [row.name, str(row.pending), str(row.failed), row.last_error or "-"]
    return "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in cells) + "</tr>"


def status_panel(status: Status) -> str:
    """Each source's health (last poll, result, failures in a row, next poll) and each
    channel's backlog (pending, failed, last error)."""
    now = status.generated
    sources = "".join(_source_row(row, now) for row in status.sources)
    channels = "".join(_channel_row(row, now) for row in status.channels)
    return (
        '<section id="health"><h2>Sources</h2><table><thead><tr><th>source</th>'
        "<th>last poll</th><th>result</th><th>fails</th><th>next</th></tr></thead>"
        f'<tbody id="sources">{sources}</tbody></table></section>'
        '<section id="backlog"><h2>Channels</h2><table><thead><tr><th>channel</th>'
        "<th>pending</th><th>failed</th><th>last error</th></tr></thead>"
        f'<tbody id="channels">{channels}</tbody></table></section>'
    )


def chart(hourly: Hourly) -> str:
    """An inline SVG: one line per source, lines first seen per hour over the last day."""
    peak = max([1, *(n for counts in hourly.counts.values() for n in counts)])
    hours = len(next(iter(hourly.counts.values()), [])) or 24
    step = CHART_WIDTH / max(hours - 1, 1)
    paths, legend = [], []
    for index, (source, counts) in enumerate(hourly.counts.items()):
        points = " ".join(
            f"{hour * step:.1f},{CHART_HEIGHT - count / peak * (CHART_HEIGHT - 4):.1f}"
            for hour, count in enumerate(counts)
        )
        series = f"s{index % SERIES}"
        paths.append(
            f'<polyline class="{series}" points="{points}"><title>{esc(source)}: '
            f"{sum(counts)} lines</title></polyline>"
        )
        legend.append(f'<li class="{series}">{esc(source)} ({sum(counts)})</li>')
    start = local_time(hourly.start)[11:16]
    return (
        '<section id="chart"><h2>Lines per hour, last day</h2>'
        f'<svg viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'aria-label="lines per hour per source since {esc(start)}; peak {peak}">'
        f'<line class="axis" x1="0" y1="{CHART_HEIGHT}" x2="{CHART_WIDTH}" y2="{CHART_HEIGHT}"/>'
        f'{"".join(paths)}</svg><p class="scale">from {esc(start)}, peak {peak}/h</p>'
        f'<ul class="legend">{"".join(legend)}</ul></section>'
    )


def feed_links() -> str:
    """Where the feeds and the API are."""
    return (
        '<nav><a href="/feed.atom">Atom</a> <a href="/feed.json">JSON Feed</a> '
        '<a href="/api/alerts">API</a> <a href="/api/status">status</a></nav>'
    )


def page(
    alerts: Sequence[AlertView],
    status: Status,
    hourly: Hourly,
    filters: Filters,
    last_id: int,
    attributions: Sequence[str],
) -> str:
    """The whole page: header, filters, the alert list (newest first), the health and
    backlog panel and the chart. `last_id` is where the live stream starts."""
    sources = [row.name for row in status.sources]
    blocks = alert_blocks(alerts)
    empty = "" if blocks else '<li class="empty">No alerts yet.</li>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>ticker</title>"
        '<link rel="stylesheet" href="/static/ticker.css">'
        '<link rel="alternate" type="application/atom+xml" title="ticker (Atom)" href="/feed.atom">'
        '<link rel="alternate" type="application/feed+json" title="ticker (JSON Feed)" '
        'href="/feed.json">'
        '<script src="/static/ticker.js" defer></script></head>'
        f'<body data-last="{last_id}">'
        '<header><h1>ticker</h1><span id="live" class="live">static list</span>'
        f"{feed_links()}</header>"
        f"{filter_form(filters, sources, attributions)}"
        f'<main><ol id="alerts" class="alerts">{"".join(blocks)}{empty}</ol></main>'
        f"<aside>{status_panel(status)}{chart(hourly)}</aside>"
        "</body></html>"
    )
