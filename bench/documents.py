"""Documents of every source kind, built from (id, text, posted) items: an RSS 2.0 feed, a
JSON API answer with nested fields, a JSON Feed 1.1 and a Telegram channel's web preview.
The benchmarks poll them, and the end-to-end tests serve them (tests/test_e2e_kinds.py).

Items are given newest first, as a site lists them; the Telegram preview lists its posts
oldest first, as t.me does.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import UTC, datetime

RSS_TYPE = "application/rss+xml"
JSON_TYPE = "application/json"
JSON_FEED_TYPE = "application/feed+json"
HTML_TYPE = "text/html; charset=utf-8"
# The keys of a json source reading `api` documents.
API_KEYS = {"items": "data.news", "text": "headline.text", "link": "url", "id": "id",
            "time": "time"}  # fmt: skip


def rfc822(epoch: float) -> str:
    """`epoch` as an RSS pubDate."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def iso(epoch: float) -> str:
    """`epoch` as RFC 3339 (JSON Feed, t.me's <time datetime>)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def rss(items: Sequence[tuple[str, str, float]], summary: str = "") -> str:
    """An RSS 2.0 feed of (guid, title, published) items; each with `summary` as its
    description if given."""
    entries = "".join(
        f"<item><title>{html.escape(title)}</title><link>https://example.org/n/{guid}</link>"
        f'<guid isPermaLink="false">{guid}</guid><pubDate>{rfc822(when)}</pubDate>'
        + (f"<description>{html.escape(summary)}</description>" if summary else "")
        + "</item>"
        for guid, title, when in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Breaking</title><link>https://example.org/</link>{entries}</channel></rss>"
    )


def api(items: Sequence[tuple[int, str, float]], body: str = "") -> str:
    """A JSON API answer whose items sit two levels down with nested fields (`API_KEYS`
    reads it); each item with `body` as its article text if given."""
    news = [
        {"id": number, "headline": {"text": text}, "url": f"/n/{number}", "time": iso(when),
         "section": "breaking", "body": body}
        for number, text, when in items
    ]  # fmt: skip
    return json.dumps({"status": "ok", "data": {"news": news}}, ensure_ascii=False)


def json_feed(items: Sequence[tuple[str, str, float]], body: str = "") -> str:
    """A JSON Feed 1.1 of (id, text, published) items; `body` as each one's content_html."""
    entries = [
        {"id": ident, "content_text": text, "url": f"https://example.org/jf/{ident}",
         "date_published": iso(when), **({"content_html": f"<p>{body}</p>"} if body else {})}
        for ident, text, when in items
    ]  # fmt: skip
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Breaking", "items": entries}
    return json.dumps(feed, ensure_ascii=False)


def telegram(channel: str, posts: Sequence[tuple[int, str, float, bool]]) -> str:
    """A channel's web preview (t.me/s/NAME) of (post number, text, posted, edited) posts,
    oldest first, in the markup t.me serves."""
    messages = "".join(
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        '<div class="tgme_widget_message text_not_supported_wrap js-widget_message" '
        f'data-post="{channel}/{number}" data-view="eyJjIjotMTAwMTIz">'
        '<div class="tgme_widget_message_user"><a href="https://t.me/'
        f'{channel}"><i class="tgme_widget_message_user_photo"></i></a></div>'
        '<div class="tgme_widget_message_bubble">'
        '<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_'
        f'owner_name" href="https://t.me/{channel}"><span dir="auto">Channel</span></a></div>'
        '<div class="tgme_widget_message_text js-message_text" dir="auto">'
        f"{html.escape(text)}</div>"
        '<div class="tgme_widget_message_footer compact js-message_footer">'
        '<div class="tgme_widget_message_info short js-message_info">'
        '<span class="tgme_widget_message_views">1.2K</span>'
        f'<span class="tgme_widget_message_meta">{"edited " if edited else ""}'
        f'<a class="tgme_widget_message_date" href="https://t.me/{channel}/{number}">'
        f'<time datetime="{iso(when)}" class="time">09:00</time></a></span>'
        "</div></div></div></div></div>"
        for number, text, when, edited in posts
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Channel</title></head>'
        '<body><header class="tgme_header"></header><div class="tgme_channel_info">'
        '<div class="tgme_channel_info_header_title"><span dir="auto">Channel</span>'
        '</div></div><main><section class="tgme_channel_history js-message_history">'
        f"{messages}</section></main></body></html>"
    )
