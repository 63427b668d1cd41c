"""Atom (RFC 4287) and JSON Feed 1.1 documents of alerts.

A story is one entry: an update of a line already in the feed is that entry again, with
its new text and a later `updated` (feed readers show it as an updated entry), so its id
is the id of the story's first alert. Ids are `urn:uuid:` names derived from that alert id,
stable across requests and restarts.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from ticker.config import Channel
from ticker.lines import Line
from ticker.route import rules_of
from ticker.store import CHANNEL_HEALTH, AlertView
from ticker.tail import iso_utc
from ticker.web.reader import alert_record

ATOM = "http://www.w3.org/2005/Atom"
JSON_FEED = "https://jsonfeed.org/version/1.1"
ENTRY_NAMESPACE = uuid.UUID("5d1f9c52-8f0e-4c3e-9a57-2b8e6a1d7c40")  # ticker's entry ids
# XML 1.0 refuses these characters; a site's text could carry them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Entry:
    """One story in a feed: its newest alert, and when it was first and last told."""

    story: int  # the id of the story's first alert in the feed window
    alert: AlertView  # the newest alert of the story (the story itself or its latest update)
    published: float
    updated: float

    @property
    def id(self) -> str:
        """The entry's stable id."""
        return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, f'alert:{self.story}')}"


def channel_takes(channel: Channel, alert: AlertView) -> bool:
    """True if `channel`'s routing rules (ticker.route) send `alert` to it: its sources,
    its include, exclude and attribution filters, updates only with `updates = "notify"`,
    health alerts only with `health = true` (a source's, where the channel takes the
    source; a channel's, about another channel). Quiet hours do not apply: a feed is read
    when its reader wants."""
    if alert.kind == "health":
        if alert.attribution == CHANNEL_HEALTH:
            return channel.health and alert.source != channel.name
        return channel.health and channel.wants(alert.source)
    if not channel.wants(alert.source):
        return False
    if alert.kind == "update" and channel.updates != "notify":
        return False
    line = Line(alert.text, alert.attribution, alert.body, alert.url)
    return rules_of(channel).accepts(line)


def entries(alerts: Sequence[AlertView]) -> list[Entry]:
    """`alerts` (oldest first) as stories, newest-updated first: an update joins the entry
    of the alert it updates when that alert is in `alerts` (chains followed), else it is
    the entry of the alert it updates."""
    story_of: dict[int, int] = {}
    found: dict[int, Entry] = {}
    for alert in alerts:
        story = alert.id
        if alert.kind == "update" and alert.updates_id:
            story = story_of.get(alert.updates_id, alert.updates_id)
        story_of[alert.id] = story
        first = found.get(story)
        published = first.published if first else alert.first_seen
        found[story] = Entry(story, alert, published, max(alert.first_seen, alert.created))
    return sorted(found.values(), key=lambda entry: (entry.updated, entry.story), reverse=True)


def _title(alert: AlertView) -> str:
    mark = {"update": "UPDATE: ", "health": "HEALTH: "}.get(alert.kind, "")
    return f"{mark}{alert.text}"


def content_text(alert: AlertView) -> str:
    """The entry's text: the line, what it updates and changed, the other sources."""
    parts = [alert.text]
    if alert.kind == "update" and alert.updates_text:
        changed = f" ({alert.changes})" if alert.changes else ""
        parts.append(f"Updates: {alert.updates_text}{changed}")
    parts.extend(f"Also reported by {also.source}: {also.text}" for also in alert.also)
    return "\n\n".join(parts)


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(
    parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str
) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = _xml_text(text)
    return element


def atom(found: Sequence[Entry], *, title: str, self_url: str, home_url: str, now: float) -> bytes:
    """An Atom 1.0 document of `found` (every required element: feed id, title, updated,
    author; entry id, title, updated; text content, so every site text is escaped)."""
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, 'feed:' + title)}")
    _add(feed, "title", title)
    _add(feed, "updated", iso_utc(found[0].updated if found else now))
    _add(_add(feed, "author"), "name", "ticker")
    _add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=home_url, type="text/html")
    _add(feed, "generator", "ticker")
    for entry in found:
        alert = entry.alert
        item = _add(feed, "entry")
        _add(item, "id", entry.id)
        _add(item, "title", _title(alert))
        _add(item, "published", iso_utc(entry.published))
        _add(item, "updated", iso_utc(entry.updated))
        _add(_add(item, "author"), "name", alert.source)
        _add(item, "category", term=alert.source)
        if alert.url:
            _add(item, "link", rel="alternate", href=alert.url)
        _add(item, "content", content_text(alert), type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def json_feed(
    found: Sequence[Entry], *, title: str, feed_url: str, home_url: str
) -> dict[str, Any]:
    """A JSON Feed 1.1 document of `found`; each item carries its alert's `ticker tail
    --json` record under `_ticker` (an extension, as the spec allows)."""
    items = []
    for entry in found:
        alert = entry.alert
        item: dict[str, Any] = {
            "id": entry.id,
            "title": _title(alert),
            "content_text": content_text(alert),
            "date_published": iso_utc(entry.published),
            "date_modified": iso_utc(entry.updated),
            "authors": [{"name": alert.source}],
            "tags": [alert.source, alert.kind],
            "_ticker": alert_record(alert),
        }
        if alert.url:
            item["url"] = alert.url
        items.append(item)
    return {
        "version": JSON_FEED,
        "title": title,
        "home_page_url": home_url,
        "feed_url": feed_url,
        "authors": [{"name": "ticker"}],
        "items": items,
    }
