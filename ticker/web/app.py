"""The Starlette application: routes, the token check, headers, request limits.

Routes: / (the page), /feed.atom, /feed.json, /api/alerts, /api/status, /events (the
page's live stream), /metrics (ticker.metrics), /static/*. Only GET and HEAD are served,
without a body; every response carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticker.config import Config
from ticker.errors import DatabaseUnusable
from ticker.lines import canonical_attribution
from ticker.metrics import exposition
from ticker.status import Status
from ticker.store import AlertView
from ticker.tail import burst_ids
from ticker.web import feeds, live
from ticker.web.page import Filters, page
from ticker.web.reader import Hourly, Reader, alert_record, status_record

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
PAGE_ALERTS = 200  # alerts on the page
FEED_ALERTS = 200  # alerts read for a feed (updates fold into their story's entry)
FEED_ENTRIES = 50
CHANNEL_SCAN = 1000  # alerts read for a channel's feed, which its rules then filter
API_LIMIT, API_MAX = 100, 1000
MAX_PARAM_CHARS = 200  # a source name, an attribution, a search text
CHART_EVERY = 60.0  # seconds the chart is reused (25 counts over the last day)
STATUS_EVERY = 5.0  # seconds the sources' and channels' state is reused
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # a ?token= in the address never leaves
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class BadRequest(Exception):
    """A query parameter out of bounds: answered 400 with the reason."""


@dataclass
class WebState:
    """What the routes share: the config, the database reader, the live hub, the clock."""

    config: Config
    reader: Reader
    hub: live.Hub
    clock: Callable[[], float]
    scrub: Callable[[str], str]
    chart: tuple[float, Hourly] | None = None
    state: tuple[float, Status] | None = None
    refresh: asyncio.Task[None] | None = None  # a status being read in the background

    async def hourly(self) -> Hourly:
        """The chart's counts, read at most once every CHART_EVERY seconds."""
        now = self.clock()
        if self.chart is None or not 0 <= now - self.chart[0] < CHART_EVERY:
            self.chart = (now, await self.reader.hourly(now))
        return self.chart[1]

    async def status(self) -> Status:
        """What `ticker status` shows, at most STATUS_EVERY seconds old (plus one read):
        its per-channel totals scan the outbox (0.7 s at a million deliveries), so an older
        state is answered while a fresh one is read in the background."""
        now = self.clock()
        if self.state is None:
            self.state = (now, await self.reader.status(self.config, now))
        elif not 0 <= now - self.state[0] < STATUS_EVERY and self.refresh is None:
            self.refresh = asyncio.create_task(self._refresh_status(now))
        return self.state[1]

    async def _refresh_status(self, now: float) -> None:
        try:
            self.state = (now, await self.reader.status(self.config, now))
        except Exception as exc:  # a locked database: the older state stays, tried again
            log.warning("cannot read the status: %s", exc)
        finally:
            self.refresh = None


def _text(params: QueryParams, name: str) -> str:
    value = params.get(name, "").strip()
    if len(value) > MAX_PARAM_CHARS:
        raise BadRequest(f"{name}: at most {MAX_PARAM_CHARS} characters")
    return value


def _number(params: QueryParams, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name}: expected an integer from {low} to {high}")
    return int(raw)


def _web(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


async def home(request: Request) -> Response:
    """The page: the newest alerts matching the form's filters, the panel, the chart."""
    web = _web(request)
    params = request.query_params
    filters = Filters(_text(params, "source"), _text(params, "attribution"), _text(params, "q"))
    last_id, alerts = await web.reader.page(
        PAGE_ALERTS, source=filters.source or None, grep=filters.text or None
    )
    attributions = attributions_of(alerts)
    shown = [alert for alert in alerts if filters.keeps(alert)]
    status = await web.status()
    html = page(shown, status, await web.hourly(), filters, last_id, attributions)
    return Response(web.scrub(html), media_type="text/html; charset=utf-8")


def attributions_of(alerts: list[AlertView]) -> list[str]:
    """The attributions of `alerts` for the filter menu: one per speaker (however it is
    written), as first written, by name."""
    named: dict[str, str] = {}
    for alert in alerts:
        if alert.attribution:
            named.setdefault(canonical_attribution(alert.attribution), alert.attribution)
    return sorted(named.values(), key=str.casefold)


async def api_alerts(request: Request) -> Response:
    """Alerts after id `after` (oldest first, at most `limit`), as `ticker tail --json`
    gives them; `next_after` is the id to ask after next."""
    web = _web(request)
    params = request.query_params
    after = _number(params, "after", 0, 0, 2**62)
    limit = _number(params, "limit", API_LIMIT, 1, API_MAX)
    source, grep = _text(params, "source") or None, _text(params, "q") or None
    if "after" in params:
        alerts = await web.reader.alerts(limit, after=after, source=source, grep=grep, oldest=True)
    else:  # the newest ones, like `ticker tail`
        alerts = await web.reader.alerts(limit, source=source, grep=grep)
    groups = burst_ids(alerts)
    body = {
        "alerts": [alert_record(alert, groups[alert.id]) for alert in alerts],
        "next_after": alerts[-1].id if alerts else after,
    }
    return _json(web, body)


def _json(web: WebState, body: Any) -> Response:
    text = json.dumps(body, ensure_ascii=False, indent=1)
    return Response(web.scrub(text), media_type="application/json")


async def api_status(request: Request) -> Response:
    """What `ticker status --json` prints."""
    web = _web(request)
    status = await web.status()
    return _json(web, status_record(status))


async def _feed_entries(request: Request) -> tuple[list[feeds.Entry], str]:
    """The entries and title of the feed the query asks for (?source=, ?channel=)."""
    web = _web(request)
    params = request.query_params
    source, channel_name = _text(params, "source"), _text(params, "channel")
    title = "ticker"
    if channel_name:
        channel = next((c for c in web.config.channels if c.name == channel_name), None)
        if channel is None:
            raise BadRequest(f"channel: no channel named {channel_name!r}")
        alerts = await web.reader.alerts(CHANNEL_SCAN, source=source or None)
        alerts = [alert for alert in alerts if feeds.channel_takes(channel, alert)]
        title += f": channel {channel_name}"
    else:
        alerts = await web.reader.alerts(FEED_ALERTS, source=source or None)
    if source:
        title += f": {source}"
    return feeds.entries(alerts[-FEED_ALERTS:])[:FEED_ENTRIES], title


def _urls(request: Request) -> tuple[str, str]:
    """This feed's address (its query without the token) and the page's."""
    return str(request.url.remove_query_params("token")), str(request.url_for("home"))


async def feed_atom(request: Request) -> Response:
    """The Atom feed."""
    web = _web(request)
    found, title = await _feed_entries(request)
    self_url, home_url = _urls(request)
    body = feeds.atom(found, title=title, self_url=self_url, home_url=home_url, now=web.clock())
    return Response(web.scrub(body.decode()), media_type="application/atom+xml; charset=utf-8")


async def feed_json(request: Request) -> Response:
    """The JSON Feed."""
    web = _web(request)
    found, title = await _feed_entries(request)
    feed_url, home_url = _urls(request)
    body = feeds.json_feed(found, title=title, feed_url=feed_url, home_url=home_url)
    text = web.scrub(json.dumps(body, ensure_ascii=False, indent=1))
    return Response(text, media_type="application/feed+json; charset=utf-8")


async def events(request: Request) -> Response:
    """The page's live stream (text/event-stream); after=ID or Last-Event-ID resumes."""
    web = _web(request)
    resume = request.headers.get("last-event-id") or request.query_params.get("after")
    after = int(resume) if resume and resume.isdigit() else None
    client = web.hub.subscribe()
    if client is None:
        return PlainTextResponse("too many live connections", 503, {"retry-after": "10"})
    return StreamingResponse(
        web.hub.stream(client, after),
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no"},  # nginx: pass each event on at once
    )


async def metrics(request: Request) -> Response:
    """Prometheus metrics, rendered from the database by ticker.metrics; the per-source
    state gauges only for the configured sources (a removed one must not look silent)."""
    web = _web(request)
    sources = [source.name for source in web.config.sources]
    try:
        body, content_type = await web.reader.call(lambda store: exposition(store, sources))
    except DatabaseUnusable as exc:  # an older schema: the daemon upgrades it when it starts
        return PlainTextResponse(str(exc), 503)
    return Response(body, headers={"content-type": content_type})


def make_app(
    config: Config,
    *,
    token: str | None = None,
    scrub: Callable[[str], str] = str,
    clock: Callable[[], float] = time.time,
    poll_every: float = live.POLL_EVERY,
    max_clients: int = live.MAX_CLIENTS,
    hosts: frozenset[str] | None = None,
) -> Guard:
    """The web application over `config`'s database (read-only), guarded by `token` when
    given (Authorization: Bearer TOKEN, or ?token=TOKEN for feed readers), answering only
    requests whose Host is one of `hosts` when given."""
    reader = Reader(config.settings.database)
    hub = live.Hub(reader, every=poll_every, max_clients=max_clients)
    web = WebState(config, reader, hub, clock, scrub)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await hub.start()
        await web.status()  # read once now: the first visitor does not wait for them
        await web.hourly()
        try:
            yield
        finally:
            await hub.stop()
            reader.close()

    routes = [
        Route("/", home, name="home"),
        Route("/feed.atom", feed_atom),
        Route("/feed.json", feed_json),
        Route("/api/alerts", api_alerts),
        Route("/api/status", api_status),
        Route("/events", events),
        Route("/metrics", metrics),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def bad_request(request: Request, exc: Exception) -> Response:
        return PlainTextResponse(str(exc), 400)

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={BadRequest: bad_request})
    app.state.web = web
    guard = Guard(app, token, hosts)
    guard.hub = hub
    return guard


COOKIE = "ticker_token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(host: str) -> str:
    """The name in a Host header, without its port: "[::1]:8787" -> "::1"."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware in front of every route: GET and HEAD only, no request body, the
    token when one is set (compared in constant time), and the security headers.

    The token comes as `Authorization: Bearer TOKEN`, as `?token=TOKEN` (feed readers, a
    browser's first visit), or in the cookie a `?token=` visit sets (HttpOnly, SameSite
    Strict): the page's own requests (its script, style sheet, live stream) carry no
    token in their address, and the page never shows it."""

    def __init__(
        self, app: ASGIApp, token: str | None, hosts: frozenset[str] | None = None
    ) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.hosts = hosts
        self.hub: live.Hub | None = None  # ends the live streams before a shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, self._with_headers(send, []))
            return
        extra = []
        if self.token is not None and self._given(scope, Headers(scope=scope))[1] == "query":
            secure = "; Secure" if scope.get("scheme") == "https" else ""
            cookie = f"{COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict{secure}"
            extra.append((b"set-cookie", cookie.encode()))
        await self.app(scope, receive, self._with_headers(send, extra))

    def refusal(self, scope: Scope) -> Response | None:
        """The answer to a request that may not go on, None for one that may."""
        if scope["method"] not in ("GET", "HEAD"):
            return PlainTextResponse("only GET and HEAD", 405, {"allow": "GET, HEAD"})
        headers = Headers(scope=scope)
        if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
            return PlainTextResponse("no request body is accepted", 413)
        if self.hosts is not None and host_name(headers.get("host", "")) not in self.hosts:
            return PlainTextResponse("unknown host", 421)
        if self.token is not None and not self._allowed(scope, headers):
            return PlainTextResponse(
                "a token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN",
                401,
                {"www-authenticate": 'Bearer realm="ticker"'},
            )
        return None

    @staticmethod
    def _given(scope: Scope, headers: Headers) -> tuple[str, str]:
        """The token the request gives and how: "bearer", "query", "cookie" or ""."""
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return given.strip(), "bearer"
        query = QueryParams(scope.get("query_string", b"")).get("token")
        if query is not None:
            return query, "query"
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value, "cookie"
        return "", ""

    def _allowed(self, scope: Scope, headers: Headers) -> bool:
        assert self.token is not None
        given, _how = self._given(scope, headers)
        return hmac.compare_digest(given.encode(), self.token)

    @staticmethod
    def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS, *extra]
            await send(message)

        return sending
