"""End to end over every kind: one `ticker run` (a subprocess) polls five sources of four
kinds (an html strip, an RSS feed, a JSON API, a JSON Feed and a Telegram channel's web
preview) served by one loopback server, and delivers to a real SMTP server (aiosmtpd).
After the baseline each new item arrives exactly once, and an edited Telegram post and an
RSS item whose title changed under the same guid arrive as updates of their stories."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import database_for
from servers import DocumentSite, SmtpSink, ticker_page
from test_e2e import start_daemon, stop_daemon, tail_json, wait_until

from bench.documents import (
    API_KEYS,
    HTML_TYPE,
    JSON_FEED_TYPE,
    JSON_TYPE,
    RSS_TYPE,
    api,
    json_feed,
    rss,
    telegram,
)

pytestmark = pytest.mark.e2e

T0 = 1_795_000_000  # 2026-11-18, whole seconds
CHANNEL = "mayadeen_news"


def write_config(tmp_path: Path, urls: dict[str, str], mail_url: str) -> Path:
    path = tmp_path / "config.toml"
    api_keys = "\n".join(f'{key} = "{value}"' for key, value in API_KEYS.items())
    path.write_text(
        f"""
[ticker]
database = "{database_for(tmp_path, "ticker.db")}"
interval = 1

[[source]]
name = "strip"
url = "{urls["strip"]}"
selector = ".breaking-news li"

[[source]]
name = "feed"
kind = "rss"
url = "{urls["feed"]}"

[[source]]
name = "api"
kind = "json"
url = "{urls["api"]}"
{api_keys}

[[source]]
name = "jsonfeed"
kind = "json"
url = "{urls["jsonfeed"]}"

[[source]]
name = "channel"
kind = "telegram"
url = "{urls["channel"]}"

[[channel]]
name = "mail"
urls = ["{mail_url}"]
""",
        encoding="utf-8",
    )
    return path


STRIP = ["Hamas: The delegation arrived in Cairo", "Lebanese army: Roads closed in the Matn"]
FEED = [("g2", "Israeli media: Sirens sounded in Haifa", T0 - 60),
        ("g1", "Yemeni Armed Forces: A ship targeted in the Red Sea", T0 - 120)]  # fmt: skip
API = [(12, "Gaza Civil Defense: Crews searching under the rubble in Jabalia", T0 - 30),
       (11, "UNRWA: Aid trucks held at the Rafah crossing", T0 - 90)]  # fmt: skip
JSON_FEED = [("jf-2", "Iranian Foreign Ministry: Talks to resume next week", T0 - 40),
             ("jf-1", "Iraqi resistance: Drone attack on a base in Syria", T0 - 100)]  # fmt: skip
POSTS = [(100, "مراسل الميادين: غارة إسرائيلية على بلدة في جنوب لبنان", T0 - 300, False),
         (101, "Al Mayadeen correspondent: Israeli shelling on the outskirts of Khiam", T0 - 200,
          False)]  # fmt: skip

NEW = {
    "strip": "Al Mayadeen's correspondent: Israeli drone strikes a car near Tyre",
    "feed": "Hezbollah: Rockets fired at the Meron base",
    "api": "Palestinian Health Ministry: 12 wounded arrive at Al-Aqsa Hospital",
    "jsonfeed": "Russian Foreign Ministry: Lavrov to visit Tehran",
    "channel": "Al Mayadeen correspondent: Israeli warplanes over Beirut at low altitude",
}
UPDATED = {
    "feed": "Israeli media: Sirens sounded in Haifa and the Krayot",
    "channel": "Al Mayadeen correspondent: Israeli shelling on the outskirts of Khiam and Kila",
}


def serve_baseline(site: DocumentSite) -> dict[str, str]:
    return {
        "strip": site.put("/", HTML_TYPE, ticker_page(STRIP)),
        "feed": site.put("/feed.xml", RSS_TYPE, rss(FEED)),
        "api": site.put("/api.json", JSON_TYPE, api(API)),
        "jsonfeed": site.put("/feed.json", JSON_FEED_TYPE, json_feed(JSON_FEED)),
        "channel": site.put(f"/s/{CHANNEL}", HTML_TYPE, telegram(CHANNEL, POSTS)),
    }


def serve_news(site: DocumentSite) -> None:
    """One new item on every source; the feed's g2 retitled, the channel's post 101 edited."""
    site.put("/", HTML_TYPE, ticker_page([NEW["strip"], *STRIP]))
    feed = [("g3", NEW["feed"], T0 + 60), ("g2", UPDATED["feed"], T0 - 60), FEED[1]]
    site.put("/feed.xml", RSS_TYPE, rss(feed))
    site.put("/api.json", JSON_TYPE, api([(13, NEW["api"], T0 + 30), *API]))
    json_items = [("jf-3", NEW["jsonfeed"], T0 + 20), *JSON_FEED]
    site.put("/feed.json", JSON_FEED_TYPE, json_feed(json_items))
    posts = [POSTS[0], (101, UPDATED["channel"], T0 - 200, True),
             (102, NEW["channel"], T0 + 10, False)]  # fmt: skip
    site.put(f"/s/{CHANNEL}", HTML_TYPE, telegram(CHANNEL, posts))


PATHS = ["/", "/feed.xml", "/api.json", "/feed.json", f"/s/{CHANNEL}"]


def test_five_sources_of_four_kinds_each_new_item_arrives_once(tmp_path: Path) -> None:
    with DocumentSite() as site, SmtpSink() as smtp:
        config = write_config(tmp_path, serve_baseline(site), smtp.url)
        daemon = start_daemon(config)
        # Two requests of a path: its first poll (the baseline) was recorded.
        wait_until(lambda: all(site.asked(path) >= 2 for path in PATHS), daemon)
        assert smtp.messages == []
        serve_news(site)
        asked = {path: site.asked(path) for path in PATHS}
        expected = [*NEW.values(), *UPDATED.values()]
        wait_until(
            lambda: sum(t in b for b in smtp.bodies() for t in _bodies(expected)) >= 7, daemon
        )
        # Three more polls of every source: nothing else arrives.
        wait_until(lambda: all(site.asked(p) >= asked[p] + 3 for p in PATHS), daemon)
        output = stop_daemon(daemon)

    bodies = smtp.bodies()
    for text in _bodies(expected):
        assert sum(body.count(text) for body in bodies) == 1, (text, bodies, output)
    alerts = tail_json(config)
    kinds = {(a["source"], a["text"]): a["kind"] for a in alerts}
    assert kinds == {
        **{(source, text): "new" for source, text in NEW.items()},
        ("feed", UPDATED["feed"]): "update",
        ("channel", UPDATED["channel"]): "update",
    }, output
    updates = {a["source"]: a for a in alerts if a["kind"] == "update"}
    assert updates["feed"]["updates_text"] == FEED[0][1]
    assert updates["channel"]["updates_text"] == POSTS[1][1]
    assert all(a["deliveries"] == {"mail": "sent"} for a in alerts)
    links = {a["source"]: a["url"] for a in alerts if a["kind"] == "new"}
    assert links["feed"] == "https://example.org/n/g3"
    assert links["api"] == f"{site.base_url}/n/13"
    assert links["jsonfeed"] == "https://example.org/jf/jf-3"
    assert links["channel"] == f"https://t.me/{CHANNEL}/102"


def _bodies(texts: list[str]) -> list[str]:
    """What of each line a message body shows: the text after its attribution."""
    return [text.split(": ", 1)[1] for text in texts]
