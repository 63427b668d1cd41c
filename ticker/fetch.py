"""The shared httpx client: timeouts, capped redirects and size, conditional GET.

Every network failure becomes a FetchError with a short `reason`, so callers never see
an httpx exception. A hostile or broken site cannot make a fetch last longer than the
configured timeout, hold more than `max_bytes` of page (compressed or not), follow a
redirect off http(s), or hand an image to the parser: see docs/RELIABILITY.md.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import re
import ssl
import time
import weakref
import zlib
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from urllib.request import getproxies

import httpx

from ticker.config import Settings
from ticker.errors import FetchError, TickerError
from ticker.sources.kind import PAGE_TYPES
from ticker.targets import Target, describe, literal_ip, range_of, resolve_async
from ticker.trust import default_context

MAX_REDIRECTS = 5
FETCH_SLOTS = 20  # fetches in flight per client: the connections its pool may open
_SLOTS: weakref.WeakKeyDictionary[httpx.AsyncClient, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
MAX_ENCODINGS = 2  # Content-Encoding layers ticker undoes ("gzip, gzip" is the most)
ACCEPT_ENCODING = "gzip, deflate"  # only what _Inflater undoes, whatever httpx could decode
_ZLIB_WBITS = {
    "gzip": zlib.MAX_WBITS | 16,
    "x-gzip": zlib.MAX_WBITS | 16,
    "deflate": zlib.MAX_WBITS,
}
_INFLATE_STEP = 64 * 1024  # the most one inflate call returns: a gzip bomb stays a trickle
_SHOWN = 120  # characters of a hostile header value quoted in an error


@dataclass(frozen=True)
class Page:
    """A fetched page. `text` is None when the server answered 304 Not Modified."""

    url: str
    status: int
    text: str | None
    etag: str | None
    last_modified: str | None
    elapsed: float
    truncated: bool = False

    @property
    def not_modified(self) -> bool:
        """True for a 304 reply: nothing to parse."""
        return self.status == 304


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True, float("²") fails
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def make_client(settings: Settings) -> httpx.AsyncClient:
    """One client for every source: connection reuse, compression, bounded everything.
    https is verified against ticker.trust's CA store, loaded when the first https request
    is made (see _Transport); a request that needs it when the environment names a store
    that is not there fails with FetchError (reason "trust-store")."""
    timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
    limits = httpx.Limits(max_connections=FETCH_SLOTS, max_keepalive_connections=10)
    # httpx honours HTTP_PROXY and the like only with its own transport, whose proxies
    # need the TLS context up front: then it is made now, as it always was.
    lazy = not _proxied()
    return httpx.AsyncClient(
        transport=_Transport(limits) if lazy else None,
        verify=True if lazy else default_context(),  # with _Transport, httpx makes no context
        timeout=timeout,
        follow_redirects=True,  # fetch_page follows them itself, checking each
        max_redirects=MAX_REDIRECTS,
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "text/html,*/*;q=0.8",
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        limits=limits,
        event_hooks={"response": [_check_redirect]},
    )


def _proxied() -> bool:
    """True if the environment names a proxy for http or https (HTTP_PROXY, HTTPS_PROXY,
    ALL_PROXY), as httpx reads it."""
    proxies = getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


class _Transport(httpx.AsyncBaseTransport):
    """httpx's own transport, one connection pool for http and one for https (the client's
    limits apply to each), made when its first request comes: only the https pool holds
    ticker.trust's context, so a run that polls http sites only never loads a CA store (a CA
    bundle file costs ~20 ms of CPU, 7 % of a `ticker poll`). httpx would load certifi's
    bundle when the client is made."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._pools: dict[bool, httpx.AsyncHTTPTransport] = {}

    def _pool(self, tls: bool) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(tls)
        if pool is None:
            context = _tls_context() if tls else _plain_context()
            pool = httpx.AsyncHTTPTransport(verify=context, limits=self._limits)
            self._pools[tls] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` through the pool of its scheme."""
        return await self._pool(request.url.scheme == "https").handle_async_request(request)

    async def aclose(self) -> None:
        """Close the pools that were made."""
        for pool in self._pools.values():
            await pool.aclose()


def _plain_context() -> ssl.SSLContext:
    """The context of the plain-http pool, which never opens a TLS connection: it verifies,
    and trusts no CA (so it could not connect if it ever did), and loads nothing."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _tls_context() -> ssl.SSLContext:
    """ticker.trust's context, as a FetchError if the CA store it names is not there."""
    try:
        return default_context()
    except TickerError as exc:
        raise FetchError(str(exc), reason="trust-store") from None


async def _check_redirect(response: httpx.Response) -> None:
    """Refuse a redirect off http(s) before httpx builds its request: httpx raises a bare
    InvalidURL for `Location: javascript:...`, which would say nothing of the redirect."""
    if response.has_redirect_location:
        _redirect_target(response)


def _error_for_status(response: httpx.Response) -> FetchError:
    status = response.status_code
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 403:
        return FetchError(
            "HTTP 403 Forbidden: the site is blocking ticker (bot protection?); "
            "try another user_agent or a slower interval",
            reason="blocked",
            status=status,
        )
    if status == 429:
        return FetchError(
            "HTTP 429 Too Many Requests: rate limited",
            reason="rate-limited",
            status=status,
            retry_after=retry_after,
        )
    phrase = response.reason_phrase or "error"
    return FetchError(
        f"HTTP {status} {phrase}", reason="http", status=status, retry_after=retry_after
    )


def _shown(value: str) -> str:
    """A header value as an error quotes it: cut, so a hostile one cannot flood the log."""
    return value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "\u2026"


def _redirect_target(response: httpx.Response) -> str:
    """The absolute URL a redirect points to; FetchError unless it is http(s) with a host.

    A `file:`, `javascript:` or `data:` Location is refused, never followed."""
    status = response.status_code
    location = response.headers["Location"].strip()
    try:
        target = response.url.join(location)
    except httpx.InvalidURL:
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.host:
        raise FetchError(
            f"HTTP {status} redirects to {_shown(location)!r}, not an http(s) URL: not followed",
            reason="redirect",
            status=status,
        )
    return str(target)


class _Origin:
    """Where the configured URL points, resolved once, and only if a redirect needs it."""

    def __init__(self, url: str) -> None:
        self.host = httpx.URL(url).host
        self._target: Target | None = None

    async def target(self) -> Target:
        if self._target is None:
            self._target = await resolve_async(self.host)
        return self._target


async def _refuse_inward(origin: _Origin, target: str, status: int) -> None:
    """FetchError if the redirect to `target` leads from a public address into a
    non-public one (loopback, private, link-local...), or into link-local from anywhere
    but link-local: a page must not steer ticker to the cloud metadata service or to the
    services of the machine and its network. The target's resolved addresses are checked
    (a literal IP or a name that resolves there); the configured URL is resolved only when
    the target is not public, so a normal redirect costs one look-up at most.

    A source configured on a loopback or private address (a local site, a test) may
    redirect within such ranges. The check sees what the resolver says now; a name that
    resolves differently when httpx connects (DNS rebinding) is not caught."""
    host = httpx.URL(target).host
    inner = (await resolve_async(host)).worst
    if inner is None:
        return
    start = (await origin.target()).worst
    into_link_local = range_of(inner) == "link-local" and (
        start is None or range_of(start) != "link-local"
    )
    if start is not None and not into_link_local:
        return
    place = describe(inner) if literal_ip(host) is not None else f"{host}, {describe(inner)}"
    raise FetchError(
        f"HTTP {status} redirects from {origin.host} to {place}: "
        "not followed into a non-public range (allow_private = true follows it)",
        reason="redirect",
        status=status,
    )


def media_matches(media: str, media_types: frozenset[str]) -> bool:
    """True if the Content-Type `media` is one of `media_types`; a structured suffix
    ("application/rss+xml", "application/feed+json") also matches its base type."""
    if media in media_types:
        return True
    for suffix, base in (("+xml", "application/xml"), ("+json", "application/json")):
        if media.endswith(suffix) and base in media_types:
            return True
    return False


def _refuse_non_page(response: httpx.Response, media_types: frozenset[str]) -> None:
    """FetchError if the Content-Type says the body is not what the source reads (an
    image, JSON where a web page was expected...)."""
    value = response.headers.get("Content-Type") or ""
    media = value.split(";", 1)[0].strip().lower()
    if media and not media_matches(media, media_types):
        what = (
            "not a web page"
            if media_types == PAGE_TYPES
            else "not " + ", ".join(sorted(media_types))
        )
        raise FetchError(
            f"HTTP {response.status_code} but Content-Type {_shown(media)}, {what}",
            reason="content-type",
            status=response.status_code,
        )


class _Inflater:
    """One gzip or deflate layer of a body, undone at most _INFLATE_STEP bytes at a time.

    httpx inflates each network read in one call: 64 KiB of gzip becomes 64 MiB, and a
    "gzip, gzip" body of a few KiB becomes gigabytes before ticker can count a byte."""

    def __init__(self, encoding: str) -> None:
        self._raw_fallback = encoding == "deflate"  # many servers send deflate without header
        self._zlib = zlib.decompressobj(_ZLIB_WBITS[encoding])

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The inflated bytes of `data`, in pieces of at most _INFLATE_STEP, lazily."""
        while True:
            try:
                out = self._zlib.decompress(data, _INFLATE_STEP)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._raw_fallback = False
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_fallback = False
            data = self._zlib.unconsumed_tail
            if out:
                yield out
            if self._zlib.eof or (not data and len(out) < _INFLATE_STEP):
                return

    def flush(self) -> bytes:
        """What is left once the input has ended (little: feed drains all it can)."""
        return self._zlib.flush()


def _inflaters(response: httpx.Response) -> list[_Inflater]:
    """The layers that undo the response's Content-Encoding, outermost first."""
    encodings = [
        value.strip().lower()
        for value in response.headers.get_list("Content-Encoding", split_commas=True)
    ]
    encodings = [e for e in encodings if e and e != "identity"]
    for encoding in encodings:
        if encoding not in _ZLIB_WBITS:
            raise FetchError(
                f"Content-Encoding {_shown(encoding)} is not supported "
                f"(ticker asks for {ACCEPT_ENCODING})",
                reason="encoding",
                status=response.status_code,
            )
    if len(encodings) > MAX_ENCODINGS:
        raise FetchError(
            f"{len(encodings)} Content-Encoding layers; at most {MAX_ENCODINGS} are undone",
            reason="encoding",
            status=response.status_code,
        )
    return [_Inflater(e) for e in reversed(encodings)]


def _inflated(layers: Sequence[_Inflater], data: bytes) -> Iterator[bytes]:
    """`data` through every layer in turn, lazily, in bounded pieces."""
    if not layers:
        if data:
            yield data
        return
    for piece in layers[0].feed(data):
        yield from _inflated(layers[1:], piece)


def _flushed(layers: Sequence[_Inflater]) -> Iterator[bytes]:
    """What the layers still hold once the body has ended."""
    for index, layer in enumerate(layers):
        yield from _inflated(layers[index + 1 :], layer.flush())


async def _decoded(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body, Content-Encoding undone, in pieces of bounded size."""
    layers = _inflaters(response)
    try:
        async for raw in response.aiter_raw():
            for piece in _inflated(layers, raw):
                yield piece
        for piece in _flushed(layers):
            yield piece
    except zlib.error as exc:
        raise FetchError(f"corrupt compressed body: {exc}", reason="encoding") from None


async def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The decoded body cut at `max_bytes` (and whether it was cut); reading stops there."""
    body = bytearray()
    async with aclosing(_decoded(response)) as pieces:
        async for piece in pieces:
            body += piece
            if len(body) > max_bytes:
                return bytes(body[:max_bytes]), True
    return bytes(body), False


def _strict_utf8(body: bytes, truncated: bool) -> str | None:
    """`body` as UTF-8 if it is valid UTF-8 (a character cut by the size cap excepted)."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(body, final=not truncated)
    except UnicodeDecodeError:
        return None


_XML_DECLARATION = re.compile(
    rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']"""
)


def declared_charset(body: bytes) -> str | None:
    """The charset a body names itself: a byte-order mark, or an XML declaration's
    `encoding` (a feed in windows-1256 says so there, not in its Content-Type)."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return name
    match = _XML_DECLARATION.match(body.lstrip()[:256])
    return match[1].decode("ascii") if match else None


def decode_body(body: bytes, charset: str | None, truncated: bool = False) -> str:
    """The text of a page: in its declared `charset` (else the one the body names itself,
    `declared_charset`), UTF-8 if none or an unknown one.

    A body declared in a legacy 8-bit charset (ISO-8859-1, windows-1252...) that is valid
    UTF-8 with non-ASCII characters is UTF-8 mislabelled, a common server default: real
    Latin-1 text is practically never valid UTF-8. Undecodable bytes become U+FFFD."""
    try:
        codec = codecs.lookup(charset or declared_charset(body) or "utf-8").name
    except (LookupError, ValueError):
        codec = "utf-8"
    if codec != "utf-8" and not codec.startswith(("utf-16", "utf-32")) and not body.isascii():
        utf8 = _strict_utf8(body, truncated)
        if utf8 is not None:
            return utf8
    try:
        return body.decode(codec, errors="replace")
    except LookupError:  # a codec that is not a text encoding: charset=base64
        return body.decode("utf-8", errors="replace")


async def fetch_page(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
    deadline: float | None = None,
    allow_private: bool = False,
    media_types: frozenset[str] = PAGE_TYPES,
    accept: str | None = None,
) -> Page:
    """GET `url`, conditionally if `etag`/`last_modified` are known; body cut at `max_bytes`.
    The body must be served as one of `media_types` (a source kind's; default: a web
    page); `accept` replaces the client's Accept header.

    A redirect from a public address into a loopback, private or link-local one is
    refused unless `allow_private` (see _refuse_inward).

    The whole fetch, redirects and body included, ends within `deadline` seconds (default:
    the client's read timeout, i.e. Settings.timeout): httpx's timeouts are per read, and a
    site dripping a byte a second would otherwise hold the poll for ever.

    Raises FetchError for network errors, timeouts, too many, non-http(s) or inward
    redirects, HTTP errors, a Content-Type that is no web page and a Content-Encoding
    ticker cannot undo.
    """
    headers = {"Accept": accept} if accept else {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    if deadline is None:
        deadline = client.timeout.read
    async with _slot(client):  # a wait here is ticker's own queue, not the site's time
        started = time.perf_counter()
        page = await _bounded(client, url, headers, max_bytes, allow_private, media_types, deadline)
    return replace(page, elapsed=time.perf_counter() - started)


def _slot(client: httpx.AsyncClient) -> asyncio.Semaphore:
    """The client's fetch slots, one per connection its pool may open. Polls due together
    (thousands of sources at start-up) wait for one in a FIFO before their deadline starts:
    in httpcore's pool, whose every change scans all waiting requests, 3,000 waiting polls
    spent all of `ticker run`'s CPU and timed out (bench.scale)."""
    slot = _SLOTS.get(client)
    if slot is None:
        slot = _SLOTS[client] = asyncio.Semaphore(FETCH_SLOTS)
    return slot


async def _bounded(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    allow_private: bool,
    media_types: frozenset[str],
    deadline: float | None,
) -> Page:
    """_fetch within `deadline` seconds, its failures as FetchError."""
    try:
        async with asyncio.timeout(deadline):
            return await _fetch(client, url, headers, max_bytes, allow_private, media_types)
    except TimeoutError:
        within = f": no complete answer within {deadline:g} s" if deadline is not None else ""
        raise FetchError(f"timed out{within}", reason="timeout") from None
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})", reason="timeout") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", reason="connect") from None
    except httpx.InvalidURL as exc:  # a bad `url`, or a bad Location without _check_redirect
        raise FetchError(f"invalid URL: {exc}", reason="invalid-url") from None


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    max_bytes: int,
    allow_private: bool = False,
    media_types: frozenset[str] = PAGE_TYPES,
) -> Page:
    """One GET and the redirects it leads to, each checked before it is followed and none
    of their bodies read (httpx would read a redirect's body whole, uncapped)."""
    target = url
    origin = _Origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        async with client.stream(
            "GET", target, headers=headers, follow_redirects=False
        ) as response:
            if response.has_redirect_location:
                target = _redirect_target(response)
                if not allow_private:
                    await _refuse_inward(origin, target, response.status_code)
                continue
            if response.status_code == 304:  # the validators sent are still the page's
                # A 304 has no body, but closing it unread drops the connection: end it so
                # that the next poll of this site reuses the connection.
                await response.aread()
                return Page(
                    url=url,
                    status=304,
                    text=None,
                    etag=headers.get("If-None-Match"),
                    last_modified=headers.get("If-Modified-Since"),
                    elapsed=0.0,
                )
            if response.status_code >= 400:
                raise _error_for_status(response)
            _refuse_non_page(response, media_types)
            body, truncated = await _read_capped(response, max_bytes)
            return Page(
                url=url,
                status=response.status_code,
                text=decode_body(body, response.charset_encoding, truncated),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
                elapsed=0.0,
                truncated=truncated,
            )
    raise FetchError(f"more than {MAX_REDIRECTS} redirects", reason="too-many-redirects")
