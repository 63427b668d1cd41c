"""The shared httpx client: timeouts, capped redirects and size, conditional GET.

Every network failure becomes a FetchError with a short `reason`, so callers never see
an httpx exception.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import httpx

from ticker.config import Settings
from ticker.errors import FetchError

MAX_REDIRECTS = 5


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
    """One client for every source: connection reuse, compression, bounded everything."""
    timeout = httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout))
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": settings.user_agent, "Accept": "text/html,*/*;q=0.8"},
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
    )


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


async def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


async def fetch_page(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Page:
    """GET `url`, conditionally if `etag`/`last_modified` are known; body cut at `max_bytes`.

    Raises FetchError for network errors, timeouts, too many redirects and HTTP errors.
    """
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.perf_counter()
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Page(
                    url=url,
                    status=304,
                    text=None,
                    etag=etag,
                    last_modified=last_modified,
                    elapsed=time.perf_counter() - started,
                )
            if response.status_code >= 400:
                raise _error_for_status(response)
            body, truncated = await _read_capped(response, max_bytes)
            encoding = response.charset_encoding or "utf-8"
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})", reason="timeout") from None
    except httpx.TooManyRedirects:
        raise FetchError(
            f"more than {MAX_REDIRECTS} redirects", reason="too-many-redirects"
        ) from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}", reason="connect") from None
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    return Page(
        url=url,
        status=response.status_code,
        text=text,
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        elapsed=time.perf_counter() - started,
        truncated=truncated,
    )
