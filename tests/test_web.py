"""`ticker serve`: the API, the feeds, the page without JavaScript, the token, the headers
and limits, and the live stream's fan-out (tests/web_site.py builds the alerts)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from conftest import database_for
from starlette.testclient import TestClient
from web_site import (
    ALSO,
    AMBUSH,
    AMBUSH_UPDATED,
    ARABIC,
    BURST,
    CHANNEL,
    SCRIPT,
    STRIP,
    TOKEN,
    Site,
    web_config,
)

from ticker import tail as tailing
from ticker.cli import EXIT_CONFIG, main
from ticker.errors import ConfigError
from ticker.web import live
from ticker.web.app import CSP, make_app
from ticker.web.reader import Reader


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = Site(web_config(tmp_path))
    site.fill()
    yield site
    site.close()


def client_of(site: Site, token: str | None = None) -> TestClient:
    app = make_app(site.config, token=token, clock=lambda: site.now, poll_every=3600)
    return TestClient(app)


# --- the API --------------------------------------------------------------------------------


def test_api_after_returns_exactly_the_later_alerts(site: Site) -> None:
    ids = [alert.id for alert in site.store.recent_alerts(100)]
    with client_of(site) as http:
        for after in [0, *ids]:
            got = http.get("/api/alerts", params={"after": after}).json()
            assert [a["id"] for a in got["alerts"]] == [i for i in ids if i > after]
        # paging: two at a time from the start visits every alert once, in order
        seen, after = [], 0
        for _page in range(len(ids) + 1):
            got = http.get("/api/alerts", params={"after": after, "limit": 2}).json()
            if not got["alerts"]:
                break
            seen += [a["id"] for a in got["alerts"]]
            after = got["next_after"]
        assert seen == ids


def test_api_alerts_have_the_fields_of_tail_json(site: Site) -> None:
    alerts = site.store.recent_alerts(100)
    groups = tailing.burst_ids(alerts)
    expected = [json.loads(tailing.as_json(a, groups[a.id])) for a in alerts]
    with client_of(site) as http:
        got = http.get("/api/alerts").json()["alerts"]
        assert got == expected
        only = http.get("/api/alerts", params={"source": CHANNEL}).json()["alerts"]
        assert only == []  # the other source's line is an "also" under the first
        text = http.get("/api/alerts", params={"q": "ambush"}).json()["alerts"]
        assert [a["text"] for a in text] == [AMBUSH, AMBUSH_UPDATED]


def test_api_status_has_the_fields_of_status_json(site: Site) -> None:
    with client_of(site) as http:
        got = http.get("/api/status").json()
    assert [s["name"] for s in got["sources"]] == [STRIP, CHANNEL]
    assert [c["name"] for c in got["channels"]] == ["all", "hamas"]
    assert got["channels"][0]["pending"] == 6
    assert set(got["sources"][0]) >= {"last_poll", "consecutive_failures", "health", "next_poll"}


def test_api_refuses_parameters_out_of_bounds(site: Site) -> None:
    with client_of(site) as http:
        assert http.get("/api/alerts", params={"limit": 0}).status_code == 400
        assert http.get("/api/alerts", params={"limit": 100_000}).status_code == 400
        assert http.get("/api/alerts", params={"after": "-1"}).status_code == 400
        assert http.get("/api/alerts", params={"q": "x" * 500}).status_code == 400


# --- the feeds ------------------------------------------------------------------------------


def test_atom_feed_is_valid_and_an_update_is_an_updated_entry(site: Site) -> None:
    with client_of(site) as http:
        response = http.get("/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.id and feed.feed.title == "ticker" and feed.feed.updated
    assert feed.feed.author == "ticker"
    assert [link.rel for link in feed.feed.links] == ["self", "alternate"]
    for entry in feed.entries:
        assert entry.id.startswith("urn:uuid:") and entry.title and entry.updated
    titles = [entry.title for entry in feed.entries]
    # The update took the story's entry: one entry, the new text, updated after published.
    assert f"UPDATE: {AMBUSH_UPDATED}" in titles and AMBUSH not in titles
    story = next(e for e in feed.entries if e.title.endswith(AMBUSH_UPDATED))
    assert story.updated_parsed > story.published_parsed
    assert f"Updates: {AMBUSH}" in story.content[0].value
    cairo = next(e for e in feed.entries if e.title == BURST[0])
    assert f"Also reported by {CHANNEL}: {ALSO}" in cairo.content[0].value
    assert len(feed.entries) == 5


def test_feed_entry_ids_are_stable(site: Site) -> None:
    with client_of(site) as http:
        before = {e.title: e.id for e in feedparser.parse(http.get("/feed.atom").content).entries}
        site.show(STRIP, "Israeli media: Sirens sound in Metula and Kiryat Shmona")
        after = {e.title: e.id for e in feedparser.parse(http.get("/feed.atom").content).entries}
        json_ids = {item["title"]: item["id"] for item in http.get("/feed.json").json()["items"]}
    assert {title: after[title] for title in before} == before
    assert json_ids == after


def test_json_feed_has_the_required_fields(site: Site) -> None:
    with client_of(site) as http:
        response = http.get("/feed.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"].endswith("/feed.json")
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item["content_text"] and item["date_published"].endswith("Z")
        assert item["_ticker"]["source"] == STRIP


def test_channel_feed_applies_the_channels_rules(site: Site) -> None:
    with client_of(site) as http:
        hamas = http.get("/feed.json", params={"channel": "hamas"}).json()
        by_source = http.get("/feed.json", params={"source": CHANNEL}).json()
        unknown = http.get("/feed.atom", params={"channel": "nope"})
    assert sorted(item["title"] for item in hamas["items"]) == sorted(BURST)
    assert hamas["title"] == "ticker: channel hamas"
    assert by_source["items"] == []
    assert unknown.status_code == 400


# --- the page without JavaScript ------------------------------------------------------------


def test_page_lists_alerts_as_plain_html(site: Site) -> None:
    with client_of(site) as http:
        html = http.get("/").text
    assert html.index(SCRIPT.split(":")[0]) < html.index(ARABIC) < html.index(AMBUSH_UPDATED)
    assert f'<p class="text" dir="auto">{ARABIC}</p>' in html
    # the update sits under its story; the burst is one block; the also under its story
    story = html.index('id="a1"')
    assert story < html.index('id="a2"') < html.index("</article></div></article>", story)
    assert html.count('class="block burst"') == 1
    assert f"also reported by <b>{CHANNEL}</b>" in html
    assert '<tbody id="sources">' in html and "<svg" in html
    assert "<script>" not in html and "<script src=" in html


def test_page_filters_without_javascript(site: Site) -> None:
    with client_of(site) as http:
        hamas = http.get("/", params={"attribution": "Hamas"}).text
        text = http.get("/", params={"q": "ambush"}).text
    assert BURST[0] in hamas and AMBUSH not in hamas
    assert AMBUSH in text and BURST[0] not in text
    assert '<option value="Hamas" data-key="hamas" selected>' in hamas


def test_a_script_line_is_inert_in_page_and_feeds(site: Site) -> None:
    with client_of(site) as http:
        page = http.get("/").text
        atom = http.get("/feed.atom").text
        feed = http.get("/feed.json").json()
    assert "<script>document" not in page and "<img src=x" not in page
    assert "&lt;script&gt;document.title=&#x27;owned&#x27;&lt;/script&gt;" in page
    assert "<script>" not in atom and "&lt;script&gt;" in atom
    entry = next(e for e in feedparser.parse(atom).entries if "Hacker" in e.title)
    assert entry.content[0].type == "text/plain"
    item = next(item for item in feed["items"] if "Hacker" in item["title"])
    assert "content_html" not in item and item["content_text"] == SCRIPT


def test_only_http_links_are_links(site: Site) -> None:
    from ticker.web.page import safe_url

    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://example.org/a") == "https://example.org/a"


# --- security -------------------------------------------------------------------------------


def test_every_response_has_a_strict_csp(site: Site) -> None:
    with client_of(site) as http:
        for path in ("/", "/feed.atom", "/api/alerts", "/static/ticker.js", "/nope"):
            headers = http.get(path).headers
            assert headers["content-security-policy"] == CSP
            assert headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self';" in CSP and "unsafe" not in CSP


def test_token_is_needed_on_every_route(site: Site) -> None:
    with client_of(site, token=TOKEN) as http:
        for path in (
            "/",
            "/feed.atom",
            "/feed.json",
            "/api/alerts",
            "/events",
            "/static/ticker.js",
        ):
            refused = http.get(path)
            assert refused.status_code == 401, path
            assert TOKEN not in refused.text
        assert http.get("/", params={"token": TOKEN[:-1]}).status_code == 401
        assert http.get("/", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/api/alerts", params={"token": TOKEN}).status_code == 200
        assert http.get("/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        feed = http.get("/feed.atom", params={"token": TOKEN}).text
    assert TOKEN not in feed  # the self link leaves it out


def test_a_token_in_the_address_lets_the_pages_own_requests_in(site: Site) -> None:
    with client_of(site, token=TOKEN) as http:
        page = http.get("/", params={"token": TOKEN})
        assert page.status_code == 200 and TOKEN not in page.text
        cookie = page.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        # the script, the live stream's catch-up and the status refresh carry no token
        assert http.get("/static/ticker.js").status_code == 200
        assert http.get("/api/status").status_code == 200
        http.cookies.clear()
        assert http.get("/static/ticker.js").status_code == 401
        http.cookies.set("ticker_token", "wrong-token-of-the-same-size-xx")
        assert http.get("/api/status").status_code == 401


def test_only_get_without_a_body(site: Site) -> None:
    with client_of(site) as http:
        assert http.post("/api/alerts").status_code == 405
        assert http.request("GET", "/", content=b"x" * 10).status_code == 413


def serve_cli(tmp_path: Path, *args: str, web: str = "") -> tuple[int, str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n{web}', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "serve", *args])
    return result.exit_code, result.output


def test_serve_refuses_a_public_address_without_token_or_public(tmp_path: Path) -> None:
    code, out = serve_cli(tmp_path, "--listen", "0.0.0.0:8787")
    assert code == EXIT_CONFIG and "--token" in out and "--public" in out
    code, out = serve_cli(tmp_path, "--listen", "0.0.0.0:8787", "--token", "short")
    assert code == EXIT_CONFIG and "16+" in out
    code, out = serve_cli(tmp_path, web='[web]\nlisten = "192.0.2.1:80"\n')
    assert code == EXIT_CONFIG and "not a loopback" in out
    code, out = serve_cli(tmp_path, "--listen", "nope")
    assert code == EXIT_CONFIG and "HOST:PORT" in out


def test_web_token_is_a_secret_of_the_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WEB_TOKEN", TOKEN)
    config = web_config(tmp_path, token="${WEB_TOKEN}", listen="0.0.0.0:8787")
    assert config.web.token == TOKEN and TOKEN in config.secrets()
    assert TOKEN not in repr(config)
    with pytest.raises(ConfigError) as error:
        web_config(tmp_path, token=["x", TOKEN])
    assert TOKEN not in str(error.value)


# --- the live stream ------------------------------------------------------------------------


async def _next_events(stream, count: int) -> list[dict]:
    """The next `count` alert events of `stream` (comments and retry lines skipped)."""
    found: list[dict] = []
    while len(found) < count:
        chunk = (await asyncio.wait_for(anext(stream), 5)).decode()
        for block in chunk.split("\n\n"):
            data = [line[6:] for line in block.splitlines() if line.startswith("data: ")]
            found += [json.loads(d) for d in data]
    return found


def test_live_stream_fans_a_new_alert_out_to_every_client(site: Site) -> None:
    async def run() -> None:
        reader = Reader(site.config.settings.database)
        hub = live.Hub(reader, every=3600)
        await hub.start(polling=False)
        clients = [hub.subscribe() for _ in range(3)]
        streams = [hub.stream(client, None) for client in clients if client]
        for stream in streams:
            assert await anext(stream) == b"retry: 2000\n\n"
        site.show(STRIP, "Israeli media: Sirens sound in Metula and Kiryat Shmona")
        assert await hub.look() == 1
        for stream in streams:
            (event,) = await _next_events(stream, 1)
            assert event["alert"]["text"].startswith("Israeli media: Sirens")
            assert 'dir="auto"' in event["html"]
        for stream in streams:
            await stream.aclose()
        assert hub.clients == set()
        await hub.stop()
        reader.close()

    asyncio.run(run())


def test_live_stream_resumes_after_an_id_and_caps_clients(site: Site) -> None:
    async def run() -> None:
        reader = Reader(site.config.settings.database)
        hub = live.Hub(reader, every=3600, max_clients=1)
        await hub.start(polling=False)
        client = hub.subscribe()
        assert client is not None and hub.subscribe() is None
        stream = hub.stream(client, 4)
        await anext(stream)
        events = await _next_events(stream, 2)
        assert [e["alert"]["id"] for e in events] == [5, 6]
        await stream.aclose()
        await hub.stop()
        reader.close()

    asyncio.run(run())


def test_a_client_that_falls_behind_is_let_go(site: Site) -> None:
    async def run() -> None:
        reader = Reader(site.config.settings.database)
        hub = live.Hub(reader, every=3600)
        await hub.start(polling=False)
        client = hub.subscribe()
        assert client is not None
        for number in range(live.QUEUE_BATCHES + 1):  # nobody reads the stream meanwhile
            site.show(STRIP, f"Line number {number} of a very busy ticker tonight")
            await hub.look()
        assert client.behind and client.queue.full()
        stream = hub.stream(client, None)
        got = await _next_events(stream, live.QUEUE_BATCHES)
        assert len(got) == live.QUEUE_BATCHES
        with pytest.raises(StopAsyncIteration):  # then the stream ends; the browser resumes
            await anext(stream)
        assert hub.clients == set()
        await hub.stop()
        reader.close()

    asyncio.run(run())


def test_the_shipped_web_example_is_valid_when_uncommented(tmp_path: Path) -> None:
    import tomllib

    from ticker.config import parse_config

    shipped = (Path(__file__).resolve().parent.parent / "config.toml").read_text("utf-8")
    block = shipped[shipped.index("# [web]") :].splitlines()
    text = "\n".join(line.removeprefix("# ") for line in block if line.startswith("# "))
    config = parse_config(tomllib.loads(text), tmp_path / "config.toml", secrets=False)
    assert config.web.listen == "127.0.0.1:8787" and config.web.public is False
    assert config.web.token == "${credential:web-token}" and config.web.literal_secret is False


def test_a_database_that_cannot_be_read_is_one_warning_per_outage(caplog) -> None:
    import sqlite3

    class Flaky:
        """A reader whose database is locked for the 2nd and 3rd looks."""

        def __init__(self) -> None:
            self.looks = 0

        async def last_id(self) -> int:
            return 0

        async def alerts(self, *args: object, **kwargs: object) -> list[object]:
            self.looks += 1
            if self.looks in (2, 3):
                raise sqlite3.OperationalError("database is locked")
            return []

    async def run() -> int:
        reader = Flaky()
        hub = live.Hub(reader, every=0)  # type: ignore[arg-type]
        await hub.start()
        for _tick in range(1000):  # bounded: a few ticks of the loop are enough
            if reader.looks >= 5:
                break
            await asyncio.sleep(0)
        await hub.stop()
        return reader.looks

    caplog.set_level("INFO", logger="ticker.web.live")
    assert asyncio.run(run()) >= 5
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "live updates: cannot read new alerts: database is locked",
        "live updates: reading new alerts again",
    ]


@pytest.mark.sqlite_only("counts SQLite's virtual-machine steps")
def test_counting_the_days_lines_reads_only_recent_items(tmp_path: Path) -> None:
    """The chart and the status panel count recent lines per source (Store.lines_since):
    the last_seen index must bound the work, not a scan of every item ever seen (SQLite
    picked the (source, fingerprint) index for the GROUP BY: 4.7 s at a million items)."""
    from conftest import lines

    from ticker.store import Store

    store = Store.open(tmp_path / "t.db")
    old = [f"Old line number {n} about something else entirely" for n in range(3000)]
    store.record_poll("site", "https://example.org/", lines(*old), 1000.0, [])
    store.record_poll("site", "https://example.org/", lines("A new line today"), 9000.0, [])
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    store.conn.set_progress_handler(count, 100)  # called every 100 virtual machine steps
    assert store.lines_since(5000.0) == {"site": 1}
    store.conn.set_progress_handler(None, 0)
    store.close()
    assert steps[0] < 20, f"{steps[0] * 100} steps: every item was read"


def test_without_a_token_only_loopback_names_are_answered(site: Site) -> None:
    """A page elsewhere could read a tokenless loopback server through a name of its own
    rebound to 127.0.0.1 (DNS rebinding): such a Host is refused."""
    from ticker.web.app import LOOPBACK_HOSTS, host_name

    app = make_app(site.config, clock=lambda: site.now, poll_every=3600, hosts=LOOPBACK_HOSTS)
    with TestClient(app) as http:
        assert http.get("/", headers={"host": "rebound.example:8787"}).status_code == 421
        assert http.get("/", headers={"host": "127.0.0.1:8787"}).status_code == 200
        assert http.get("/", headers={"host": "[::1]:8787"}).status_code == 200
        assert http.get("/", headers={"host": "localhost"}).status_code == 200
    assert host_name("[::1]") == "::1" and host_name("example.org:80") == "example.org"


def test_metrics_are_the_databases_in_the_prometheus_format(site: Site) -> None:
    """/metrics answers ticker.metrics' rendering of the database (read-only), parsed here
    by prometheus_client's own parser; the token guards it like every route."""
    from prometheus_client.parser import text_string_to_metric_families

    with client_of(site, token=TOKEN) as http:
        assert http.get("/metrics").status_code == 401
        response = http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        alerts = http.get("/api/alerts?limit=500", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    raised = sum(s.value for s in families["ticker_alerts"].samples if s.name.endswith("_total"))
    assert raised == len(alerts.json()["alerts"]) > 0
    configured = {source.name for source in site.config.sources}
    health = families["ticker_source_health"].samples
    assert health and {s.labels["source"] for s in health} <= configured
    assert TOKEN not in response.text


def test_characters_xml_refuses_do_not_break_the_atom_feed(site: Site) -> None:
    from ticker.store import AlertView
    from ticker.web import feeds

    alert = AlertView(7, STRIP, None, "Bell\x07 and\x0b tab", "", None, site.now)
    body = feeds.atom(
        feeds.entries([alert]), title="t", self_url="http://x/", home_url="http://x/", now=0
    )
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.entries[0].title == "Bell and tab"


def test_a_channels_feed_has_the_health_alerts_it_would_be_sent(tmp_path: Path) -> None:
    from ticker.config import Channel
    from ticker.store import CHANNEL_HEALTH, AlertView
    from ticker.web.feeds import channel_takes

    config = web_config(tmp_path)
    everything, hamas = config.channels
    strip_only = Channel("strip-only", urls=("json://127.0.0.1:9/",), sources=(STRIP,))
    down = AlertView(1, CHANNEL, "ticker", "telegram is down", "", None, 0.0, kind="health")
    refused = AlertView(2, "all", CHANNEL_HEALTH, "all refused", "", None, 0.0, kind="health")
    assert channel_takes(everything, down) and not channel_takes(strip_only, down)
    assert not channel_takes(everything, refused)  # not about itself
    assert channel_takes(hamas, refused) and channel_takes(strip_only, refused)
