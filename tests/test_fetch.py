"""fetch_page over a mocked transport (respx): conditional GET, size cap, charsets, and every
failure turned into a FetchError with a short reason. No request leaves the process."""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from ticker import fetch as fetch_module
from ticker.config import Settings, Source
from ticker.errors import FetchError
from ticker.fetch import MAX_REDIRECTS, Page, fetch_page, make_client, retry_after_seconds
from ticker.poll import fetch_lines
from ticker.targets import Target, literal_ip

URL = "https://news.example.test/"
SETTINGS = Settings(database=Path("unused.db"), user_agent="ticker-test/1.0", timeout=5)
LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"


def fetch(url: str = URL, *, max_bytes: int = 100_000, **kwargs: Any) -> Page:
    async def _fetch() -> Page:
        async with make_client(SETTINGS) as client:
            return await fetch_page(client, url, max_bytes=max_bytes, **kwargs)

    return asyncio.run(_fetch())


def fetch_error(url: str = URL, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as excinfo:
        fetch(url, **kwargs)
    return excinfo.value


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as router:
        yield router


def test_ok_page_returns_text_and_validators(mock: respx.MockRouter) -> None:
    route = mock.get(URL).respond(
        200,
        text="<p>BREAKING: hello</p>",
        headers={"ETag": '"v1"', "Last-Modified": LAST_MODIFIED},
    )

    page = fetch()

    assert page.status == 200
    assert page.url == URL
    assert page.text == "<p>BREAKING: hello</p>"
    assert page.etag == '"v1"'
    assert page.last_modified == LAST_MODIFIED
    assert not page.not_modified
    assert not page.truncated
    assert page.elapsed >= 0
    request = route.calls.last.request
    assert request.headers["User-Agent"] == "ticker-test/1.0"
    assert "If-None-Match" not in request.headers
    assert "If-Modified-Since" not in request.headers


def test_ok_page_without_validators(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(200, text="plain")
    page = fetch()
    assert page.text == "plain"
    assert page.etag is None
    assert page.last_modified is None


def test_conditional_get_sends_validators_and_304_is_not_modified(
    mock: respx.MockRouter,
) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        fresh = (
            request.headers.get("If-None-Match") == '"v1"'
            and request.headers.get("If-Modified-Since") == LAST_MODIFIED
        )
        return httpx.Response(304) if fresh else httpx.Response(200, text="changed")

    route = mock.get(URL).mock(side_effect=reply)

    page = fetch(etag='"v1"', last_modified=LAST_MODIFIED)

    assert page.status == 304
    assert page.not_modified
    assert page.text is None
    assert page.etag == '"v1"'
    assert page.last_modified == LAST_MODIFIED
    headers = route.calls.last.request.headers
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == LAST_MODIFIED

    changed = fetch(etag='"v0"', last_modified=LAST_MODIFIED)
    assert changed.status == 200
    assert changed.text == "changed"


def test_only_the_known_validator_is_sent(mock: respx.MockRouter) -> None:
    route = mock.get(URL).respond(304)
    page = fetch(last_modified=LAST_MODIFIED)
    assert page.not_modified
    headers = route.calls.last.request.headers
    assert headers["If-Modified-Since"] == LAST_MODIFIED
    assert "If-None-Match" not in headers


def test_403_is_blocked_with_advice(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(403, text="go away")
    error = fetch_error()
    assert error.reason == "blocked"
    assert error.status == 403
    assert "403" in str(error)
    assert "user_agent" in str(error)
    assert "interval" in str(error)


def test_429_is_rate_limited_with_retry_after_seconds(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(429, headers={"Retry-After": "120"})
    error = fetch_error()
    assert error.reason == "rate-limited"
    assert error.status == 429
    assert error.retry_after == 120.0


def test_429_with_an_unreadable_retry_after_is_still_a_fetch_error(
    mock: respx.MockRouter,
) -> None:
    # "²" is a digit to str.isdigit() but not to float(); it must not escape as ValueError.
    mock.get(URL).respond(429, headers={"Retry-After": "\u00b2".encode()})
    error = fetch_error()
    assert error.reason == "rate-limited"
    assert error.retry_after is None


def test_503_with_http_date_retry_after(mock: respx.MockRouter) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    mock.get(URL).respond(503, headers={"Retry-After": when})
    error = fetch_error()
    assert error.reason == "http"
    assert error.status == 503
    assert "HTTP 503 Service Unavailable" in str(error)
    assert error.retry_after is not None
    assert 100 <= error.retry_after <= 121


def test_500_without_retry_after(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(500)
    error = fetch_error()
    assert error.reason == "http"
    assert error.status == 500
    assert error.retry_after is None


def test_body_larger_than_max_bytes_is_cut(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(200, content=b"a" * 5000)
    page = fetch(max_bytes=1000)
    assert page.truncated
    assert page.text == "a" * 1000


def test_body_of_exactly_max_bytes_is_not_truncated(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(200, content=b"b" * 1000)
    page = fetch(max_bytes=1000)
    assert not page.truncated
    assert page.text == "b" * 1000


def test_endless_body_stops_at_max_bytes(mock: respx.MockRouter) -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while True:
            chunks_sent += 1
            yield b"x" * 1024

    mock.get(URL).mock(return_value=httpx.Response(200, content=endless()))

    page = fetch(max_bytes=10_000)

    assert page.truncated
    assert page.text == "x" * 10_000
    assert chunks_sent <= 11


def test_read_timeout(mock: respx.MockRouter) -> None:
    mock.get(URL).mock(side_effect=httpx.ReadTimeout)
    error = fetch_error()
    assert error.reason == "timeout"
    assert "ReadTimeout" in str(error)
    assert error.status is None


def test_connect_timeout_is_a_timeout(mock: respx.MockRouter) -> None:
    mock.get(URL).mock(side_effect=httpx.ConnectTimeout)
    assert fetch_error().reason == "timeout"


def test_connect_error(mock: respx.MockRouter) -> None:
    mock.get(URL).mock(side_effect=httpx.ConnectError("connection refused"))
    error = fetch_error()
    assert error.reason == "connect"
    assert "ConnectError" in str(error)
    assert "connection refused" in str(error)


def test_endless_redirects(mock: respx.MockRouter) -> None:
    route = mock.get(URL).respond(302, headers={"Location": URL})
    error = fetch_error()
    assert error.reason == "too-many-redirects"
    assert str(MAX_REDIRECTS) in str(error)
    assert route.call_count == MAX_REDIRECTS + 1


def test_a_few_redirects_are_followed(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(301, headers={"Location": URL + "a"})
    mock.get(URL + "a").respond(302, headers={"Location": URL + "b"})
    mock.get(URL + "b").respond(200, text="arrived", headers={"ETag": '"b"'})
    page = fetch()
    assert page.text == "arrived"
    assert page.etag == '"b"'


def test_latin1_charset_is_decoded(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(
        200,
        content="Caf\u00e9 na\u00efve \u00bd".encode("iso-8859-1"),
        headers={"Content-Type": "text/html; charset=iso-8859-1"},
    )
    assert fetch().text == "Caf\u00e9 na\u00efve \u00bd"


def test_no_charset_means_utf8(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(
        200,
        content="Caf\u00e9 \u2014 \u0639\u0627\u062c\u0644".encode(),
        headers={"Content-Type": "text/html"},
    )
    assert fetch().text == "Caf\u00e9 \u2014 \u0639\u0627\u062c\u0644"


def test_unknown_charset_falls_back_to_utf8(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(
        200,
        content="Caf\u00e9".encode(),
        headers={"Content-Type": "text/html; charset=x-no-such-charset"},
    )
    assert fetch().text == "Caf\u00e9"


def test_undecodable_bytes_are_replaced_not_raised(mock: respx.MockRouter) -> None:
    mock.get(URL).respond(
        200, content=b"ok \xff\xfe end", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    assert fetch().text == "ok \ufffd\ufffd end"


# --- retry_after_seconds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("\u00b2", None),
    ],
)
def test_retry_after_seconds_delta(value: str | None, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_seconds_http_date() -> None:
    when = email.utils.parsedate_to_datetime(LAST_MODIFIED).timestamp()
    assert retry_after_seconds(LAST_MODIFIED, now=when - 90) == pytest.approx(90.0)
    assert retry_after_seconds("Wed, 21 Oct 2015 08:28:00 +0100", now=when - 30) == (
        pytest.approx(30.0)
    )


def test_retry_after_seconds_past_date_is_zero() -> None:
    when = email.utils.parsedate_to_datetime(LAST_MODIFIED).timestamp()
    assert retry_after_seconds(LAST_MODIFIED, now=when + 3600) == 0.0


def test_retry_after_seconds_uses_the_clock_by_default() -> None:
    when = email.utils.formatdate(time.time() + 60, usegmt=True)
    result = retry_after_seconds(when)
    assert result is not None
    assert 55 <= result <= 61


# --- redirects into non-public ranges (issue 12, finding 17) --------------------------------

PUBLIC_IP = ipaddress.ip_address("93.184.215.14")
FAKE_DNS = {
    "news.example.test": PUBLIC_IP,
    "intranet.example.test": ipaddress.ip_address("10.0.0.5"),
}
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names resolve from FAKE_DNS (no real look-up); the hosts looked up, in order."""
    looked_up: list[str] = []

    async def resolve(host: str) -> Target:
        looked_up.append(host)
        ip = literal_ip(host)
        return Target(host, (ip,) if ip is not None else (FAKE_DNS[host],))

    monkeypatch.setattr(fetch_module, "resolve_async", resolve, raising=False)
    return looked_up


@pytest.fixture
def lenient_mock() -> respx.MockRouter:
    """A respx router whose routes need not be called (the refused target's)."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize(
    ("location", "named"),
    [
        (METADATA_URL, "169.254.169.254 (link-local: the cloud metadata service)"),
        ("http://127.0.0.1:8080/admin", "127.0.0.1 (loopback)"),
        ("http://10.1.2.3/", "10.1.2.3 (private)"),
        ("http://192.168.1.1/", "192.168.1.1 (private)"),
        ("http://[fd00::1]/", "fd00::1 (private)"),
        ("http://[fe80::1]/", "fe80::1 (link-local)"),
        ("http://[::ffff:127.0.0.1]/", "127.0.0.1 (loopback)"),
        ("http://intranet.example.test/", "intranet.example.test, 10.0.0.5 (private)"),
    ],
)
def test_a_redirect_from_a_public_url_into_a_private_range_is_refused(
    lenient_mock: respx.MockRouter, dns: list[str], location: str, named: str
) -> None:
    lenient_mock.get(URL).respond(302, headers={"Location": location})
    inside = lenient_mock.get(location).respond(200, text="secret")
    error = fetch_error()
    assert error.reason == "redirect"
    assert f"redirects from news.example.test to {named}" in str(error)
    assert "allow_private = true" in str(error)
    assert not inside.called  # before: followed, and the metadata read as a page


def test_allow_private_follows_a_redirect_into_a_private_range(
    mock: respx.MockRouter, dns: list[str]
) -> None:
    mock.get(URL).respond(302, headers={"Location": METADATA_URL})
    mock.get(METADATA_URL).respond(200, text="instance-id")
    assert fetch(allow_private=True).text == "instance-id"
    assert dns == []  # nothing is resolved when nothing is checked


def test_a_public_redirect_costs_one_lookup_and_no_redirect_none(
    mock: respx.MockRouter, dns: list[str]
) -> None:
    mock.get(URL).respond(200, text="page")
    assert fetch().text == "page"
    assert dns == []
    mock.get(URL + "moved").respond(301, headers={"Location": "https://news.example.test/"})
    assert fetch(URL + "moved").text == "page"
    assert dns == ["news.example.test"]  # the target; the origin only for a private target


@pytest.mark.parametrize(
    ("origin", "location"),
    [
        ("http://127.0.0.1:9/", "http://127.0.0.1:10/"),  # a local site, a test server
        ("http://10.0.0.1/", "http://10.0.0.2/"),
        ("http://10.0.0.1/", "http://127.0.0.1/"),
        ("http://169.254.1.1/", "http://169.254.169.254/"),
    ],
)
def test_a_source_on_a_private_address_may_redirect_within_private_ranges(
    mock: respx.MockRouter, dns: list[str], origin: str, location: str
) -> None:
    mock.get(origin).respond(302, headers={"Location": location})
    mock.get(location).respond(200, text="local page")
    assert fetch(origin).text == "local page"


def test_link_local_is_refused_even_from_a_private_source(
    lenient_mock: respx.MockRouter, dns: list[str]
) -> None:
    origin = "http://127.0.0.1:9/"
    lenient_mock.get(origin).respond(302, headers={"Location": METADATA_URL})
    error = fetch_error(origin)
    assert error.reason == "redirect"
    assert "169.254.169.254 (link-local" in str(error)


def test_a_source_with_allow_private_is_fetched_with_it(
    mock: respx.MockRouter, dns: list[str]
) -> None:
    mock.get(URL).respond(302, headers={"Location": METADATA_URL})
    mock.get(METADATA_URL).respond(200, text="<ul class='t'><li>inside</li></ul>")
    source = Source(name="s", url=URL, options={"selector": ".t li"}, allow_private=True)

    async def lines() -> list[str]:
        async with make_client(SETTINGS) as client:
            _page, found = await fetch_lines(client, source, 100_000)
            return [line.text for line in found or []]

    assert asyncio.run(lines()) == ["inside"]


# --- what each source kind reads --------------------------------------------------------

ARABIC = "\u0639\u0627\u062c\u0644: \u063a\u0627\u0631\u0629 \u0639\u0644\u0649 \u063a\u0632\u0629"


def test_an_xml_declaration_names_the_charset_when_the_header_does_not(
    mock: respx.MockRouter,
) -> None:
    """An Arabic feed in windows-1256 says so in its XML declaration, not its header."""
    body = f'<?xml version="1.0" encoding="windows-1256"?><rss><title>{ARABIC}</title></rss>'
    mock.get(URL).respond(
        200, content=body.encode("cp1256"), headers={"Content-Type": "application/rss+xml"}
    )
    page = fetch(media_types=frozenset({"application/xml"}))
    assert page.text is not None and ARABIC in page.text


def test_the_header_charset_wins_over_the_declaration(mock: respx.MockRouter) -> None:
    body = f'<?xml version="1.0" encoding="iso-8859-1"?><rss><title>{ARABIC}</title></rss>'
    mock.get(URL).respond(
        200, content=body.encode("utf-8"), headers={"Content-Type": "text/xml; charset=utf-8"}
    )
    page = fetch(media_types=frozenset({"text/xml"}))
    assert page.text is not None and ARABIC in page.text


def test_a_byte_order_mark_names_the_charset(mock: respx.MockRouter) -> None:
    body = f"<p>{ARABIC}</p>".encode("utf-16")  # with its BOM
    mock.get(URL).respond(200, content=body, headers={"Content-Type": "text/html"})
    page = fetch()
    assert page.text is not None and ARABIC in page.text


@pytest.mark.parametrize(
    ("served", "accepted"),
    [
        ("application/rss+xml", {"application/xml"}),  # a +xml suffix is XML
        ("application/feed+json", {"application/json"}),  # a +json suffix is JSON
        ("application/json; charset=utf-8", {"application/json"}),
    ],
)
def test_a_kind_reads_its_own_content_types(
    mock: respx.MockRouter, served: str, accepted: set[str]
) -> None:
    route = mock.get(URL).respond(200, text="{}", headers={"Content-Type": served})
    page = fetch(media_types=frozenset(accepted), accept="application/json, */*;q=0.5")
    assert page.text == "{}"
    assert route.calls.last.request.headers["Accept"] == "application/json, */*;q=0.5"


def test_a_document_of_another_type_is_refused_naming_what_was_expected(
    mock: respx.MockRouter,
) -> None:
    mock.get(URL).respond(200, text="<html></html>", headers={"Content-Type": "text/html"})
    error = fetch_error(media_types=frozenset({"application/json", "application/feed+json"}))
    assert error.reason == "content-type"
    assert str(error) == (
        "HTTP 200 but Content-Type text/html, not application/feed+json, application/json"
    )


def test_fetch_lines_asks_for_and_accepts_what_the_source_kind_reads(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """poll.fetch_lines passes the kind's Content-Types and Accept header to fetch_page."""
    from ticker.sources import Kind, registry

    class XmlKind(Kind):
        """Lines of an XML document."""

        name = "xmltest"
        media_types = frozenset({"application/xml"})
        accept = "application/xml"

        def parse(self, page: str, source: Source) -> list[Any]:
            return []

    module = type(sys)("xml_test_kind")
    module.KIND = XmlKind()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "xml_test_kind", module)
    monkeypatch.setitem(registry.KIND_MODULES, "xmltest", "xml_test_kind")
    route = mock.get(URL).respond(200, text="<a/>", headers={"Content-Type": "text/xml"})
    source = Source(name="x", url=URL, kind="xmltest")

    async def _fetch() -> Any:
        async with make_client(SETTINGS) as client:
            return await fetch_lines(client, source, 100_000)

    with pytest.raises(FetchError, match="Content-Type text/xml, not application/xml"):
        asyncio.run(_fetch())
    assert route.calls.last.request.headers["Accept"] == "application/xml"


def test_a_proxy_the_environment_names_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours HTTP_PROXY only with its own transport: make_client keeps that one when
    # a proxy is named (and loads the CA store up front, as before), else makes its own.
    from servers import PageServer, ticker_page

    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with PageServer([ticker_page(["Served by the proxy"])]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        page = fetch("http://news.example.test/")
    assert page.text is not None and "Served by the proxy" in page.text
    assert proxy.requests == 1


def test_polls_due_together_queue_in_ticker_and_their_deadline_starts_with_the_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpcore scans every waiting request at each change of its pool (quadratic in them):
    # 3,000 polls due at once spent all of `ticker run`'s CPU there and timed out
    # (bench.scale). They now wait for one of the client's slots (as many as its pool has
    # connections) before their deadline starts: none reaches the pool beyond that, and a
    # poll's wait behind the others is not counted against the site.
    inside, peak = 0, 0
    connections: asyncio.Semaphore | None = None  # the pool's 20, as httpcore has them

    async def answer(self: Any, request: httpx.Request) -> httpx.Response:
        nonlocal inside, peak, connections
        inside += 1
        peak = max(peak, inside)
        connections = connections or asyncio.Semaphore(20)
        async with connections:
            await asyncio.sleep(0.03)
        inside -= 1
        return httpx.Response(
            200,
            headers={"Content-Type": "text/html"},
            stream=httpx.ByteStream(b"<p>ok</p>"),
            request=request,
        )

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", answer)

    async def many() -> list[Page]:
        async with make_client(SETTINGS) as client:
            urls = [f"http://127.0.0.1:9/{n}" for n in range(100)]
            fetches = (fetch_page(client, url, max_bytes=1000, deadline=0.1) for url in urls)
            return await asyncio.gather(*fetches)

    pages = asyncio.run(many())  # five rounds of 20, 0.15 s in all: more than one deadline
    assert [page.status for page in pages] == [200] * 100
    assert peak == fetch_module.FETCH_SLOTS == 20
