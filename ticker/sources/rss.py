"""Kind `rss`: the entries of an RSS (0.9x, 1.0, 2.0) or Atom feed, read by feedparser.

feedparser is imported when a feed is parsed, not with this module: config validation
reads `KIND`'s declarations, and `ticker tail` loads the config.

feedparser reads what it is given as a URL (fetched) or a file path (opened) before it
reads it as a document, a str or bytes alike (`open()` takes a bytes path). A feed is
untrusted text, so it is always handed over as a stream (io.BytesIO), which feedparser
only reads.
"""

from __future__ import annotations

import calendar
import io
import logging
import re
import time
from collections.abc import Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ticker.errors import ParseError
from ticker.lines import Line, clean_text, match_key
from ticker.sources.html import fragment_text
from ticker.sources.kind import MAX_LINES, Key, Kind, absolute_link, in_order, warn_once

if TYPE_CHECKING:
    from feedparser import FeedParserDict

    from ticker.config import Source

TEXT_MODES = ("title", "title+summary")
MAX_ENTRIES = 4 * MAX_LINES  # entries read; a feed is a few dozen, the rest is not a ticker
# The end tag of an RSS item or an Atom entry. feedparser spends ~0.4 ms on each entry
# (7.5 s on a 5 MB feed of 90,000), on the event loop: a longer feed is cut to its first
# MAX_ENTRIES before it is parsed (`first_entries`).
_ENTRY_END = re.compile(r"</(?:\w{1,32}:)?(?:item|entry)\s*>")
MAX_PROBLEM_CHARS = 160  # of a parser's complaint shown in a warning or error
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# What the fetched text is declared as to feedparser: fetch decoded it already, and the
# re-encoded bytes are UTF-8 whatever the XML declaration says. No Content-Location is
# given: feedparser would resolve a guid such as "812345" against it, and a key must be the
# feed's own; links are made absolute by `absolute_link` against the feed's URL instead.
_XML_UTF8 = "application/xml; charset=utf-8"
# An HTML page, told by its first MAX_SNIFF_CHARS (a doctype or an <html> tag after a
# comment or two). Both patterns are bounded at every position they are tried: the first
# version, `\s*(?:<!--.*?-->\s*)*<!doctype...`, backtracked without end on 9,000 empty
# comments (a hung poller for one hostile reply).
MAX_SNIFF_CHARS = 4096
_HTML_START = re.compile(r"<(?:!doctype\s{1,64}html|html[\s>])", re.I)
_TITLE = re.compile(r"<title[^<>]{0,200}>([^<]{0,300})</title", re.I)
log = logging.getLogger(__name__)


def read_feed(page: str) -> FeedParserDict:
    """feedparser's reading of the document `page`, as a stream: never
    fetched or opened as a URL or path. Raises ParseError if feedparser fails outright."""
    import feedparser

    headers = {"content-type": _XML_UTF8}
    stream = io.BytesIO(page.encode("utf-8", "replace"))
    try:
        # Neither sanitising nor resolving links inside HTML content: ticker keeps only
        # the text of that HTML (fragment_text), so both would be work thrown away
        # (~17 % of a 50-entry feed's parse, BENCHMARKS.md).
        return feedparser.parse(
            stream, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    # feedparser's loose parser is a hand-written state machine over sgmllib-like regexes:
    # whatever it raises on a hostile document is a document it cannot read, not a bug here.
    except Exception as exc:
        raise ParseError(f"rss: the feed cannot be read ({_problem(exc)})") from None


def _problem(exc: object) -> str:
    """A parser's complaint in one short line ("SAXParseException: <unknown>:8:22: not
    well-formed (invalid token)")."""
    text = clean_text(f"{type(exc).__name__}: {exc}", MAX_PROBLEM_CHARS)
    return text if str(exc) else type(exc).__name__


def _bozo(feed: FeedParserDict) -> str | None:
    """What is wrong with the feed's XML, if feedparser found something that matters."""
    if not feed.get("bozo"):
        return None
    exc = feed.get("bozo_exception")
    return _problem(exc) if exc is not None else "malformed"


def not_a_feed(page: str, feed: FeedParserDict) -> str:
    """Why the entry-less document `page` is not a feed, in words."""
    if not page.strip():
        return "the document is empty"
    head = page[:MAX_SNIFF_CHARS]
    if _HTML_START.search(head):
        found = _TITLE.search(page, 0, 16 * MAX_SNIFF_CHARS)
        title = clean_text(fragment_text(found[1]), 80) if found else ""
        return (
            f"the document is an HTML page ({title!r})" if title else "the document is an HTML page"
        )
    problem = _bozo(feed)
    if problem:
        return f"the document is not well-formed XML ({problem})"
    return "an XML document that is neither RSS nor Atom"


def _text_of(entry: Mapping[str, Any], field: str) -> str:
    """The text of `entry`'s `field` (title, summary), HTML read as a ticker item is."""
    value = entry.get(field) or ""
    if not isinstance(value, str):
        return ""
    detail = entry.get(f"{field}_detail")
    if detail is None and field == "summary" and entry.get("content"):
        # an Atom entry with only <content>: feedparser gives its value as the summary
        # without a summary_detail; its type is the content's
        detail = entry["content"][0]
    if (detail or {}).get("type") in _HTML_TYPES:
        return fragment_text(value)
    return value


def entry_text(entry: Mapping[str, Any], mode: str) -> str:
    """The text of a line: the entry's title, or with mode "title+summary" the title and
    the summary's text as "Title. Summary" (a colon would make a short title read as the
    line's attribution; a title that ends in punctuation is followed by a space only).
    The summary alone if there is no title, or if it starts with the title (a summary that
    repeats or continues it): the title is not said twice."""
    title = clean_text(_text_of(entry, "title"))
    if title and mode == "title":
        return title
    summary = clean_text(_text_of(entry, "summary"))
    if not title or not summary:
        return title or summary
    if match_key(summary).startswith(match_key(title)):
        return summary
    joiner = " " if title[-1] in ".!?\u2026:;\u061f" else ". "
    return title + joiner + summary


def entry_time(entry: Mapping[str, Any]) -> float | None:
    """When the entry was published (else updated), as UTC Unix seconds; None if the feed
    does not say or feedparser could not read its date."""
    for field in ("published_parsed", "updated_parsed"):
        # dict.get: FeedParserDict answers a missing updated_parsed with published_parsed
        # and a DeprecationWarning, every time
        parsed = dict.get(entry, field) if isinstance(entry, dict) else entry.get(field)
        if isinstance(parsed, time.struct_time):
            try:
                return float(calendar.timegm(parsed))
            except (OverflowError, ValueError):
                return None
    return None


def entry_line(entry: Mapping[str, Any], mode: str, base_url: str) -> Line | None:
    """The line of one feed entry; None if it has no text."""
    text = entry_text(entry, mode)
    if not text:
        return None
    item_id = entry.get("id")
    href = entry.get("link")
    # feedparser makes an RSS guid the link when the item has no <link> (isPermaLink
    # defaults to true), but a guid such as "812345" is no address: made absolute, it
    # would be a link to nowhere.
    if href and href == item_id and urlsplit(href).scheme not in ("http", "https"):
        href = None
    link = absolute_link(href, base_url)
    key = item_id if isinstance(item_id, str) and item_id.strip() else link
    return Line.from_text(text, url=link, key=key, published=entry_time(entry))


def first_entries(page: str, limit: int = MAX_ENTRIES) -> tuple[str, int]:
    """`page` cut to its first `limit` entries, and how many it had (0 if fewer than
    `limit`: they are not counted): the text up to the end of the `limit`-th entry, then
    what follows the last one (the closing tags), so that a well-formed feed stays
    well-formed. `page` itself if it has at most `limit`."""
    ends = _ENTRY_END.finditer(page)
    nth = next(islice(ends, limit - 1, None), None)
    if nth is None:
        return page, 0
    count, tail = limit, nth.end()
    for match in ends:
        count, tail = count + 1, match.end()
    if count == limit:
        return page, count
    return page[: nth.end()] + page[tail:], count


def parse(page: str, source: Source) -> list[Line]:
    """The lines of the feed `page`, fetched from `source.url`, newest first by their
    times (in feed order if an entry has none).

    A malformed feed that still yields entries is read, with a warning once per source and
    process. A feed with no entries is an empty ticker ([]); a malformed one, or a document
    that is no feed (an HTML page, garbage), raises ParseError naming what it is.
    """
    page, count = first_entries(page)
    if count > MAX_ENTRIES:
        warn_once(
            log,
            source.name,
            "cap",
            "%s: the feed lists %d entries; the first %d are read",
            source.name,
            count,
            MAX_ENTRIES,
        )
    feed = read_feed(page)
    entries = feed.get("entries") or []
    problem = _bozo(feed)
    if not entries:
        if problem or not feed.get("version"):
            raise ParseError(f"rss: not a feed: {not_a_feed(page, feed)}")
        return []
    if problem:
        warn_once(
            log,
            source.name,
            "bozo",
            "%s: the feed is malformed (%s); its entries are read anyway",
            source.name,
            problem,
        )
    mode = source.options.get("text") or "title"
    lines: list[Line] = []
    # islice: entries whose end tags `first_entries` did not find (another spelling)
    for position, entry in enumerate(islice(entries, MAX_ENTRIES)):
        line = entry_line(entry, mode, source.url)
        if line is None:
            log.debug("%s: entry %d has no text, skipped", source.name, position + 1)
        else:
            lines.append(line)
    return in_order(lines, source.order)


class RssKind(Kind):
    """An RSS (0.9x, 1.0, 2.0) or Atom feed: each entry is a line, its title (or its
    title and summary), with its link and time. A malformed feed is read as far as it
    can be, with a warning; a document that is no feed is a failed poll."""

    name = "rss"
    keys = (
        Key(
            "text",
            str,
            'what a line says: "title" (the entry\'s title) or "title+summary" ("Title. Summary")',
            default="title",
            expected='"title" or "title+summary"',
        ),
    )
    identity = "the entry's guid or id (else its link, else its text)"
    # Feeds are served as any of the XML types; text/html and text/plain are accepted too,
    # so that a site answering the feed's URL with a web page (a moved feed, a login or
    # consent page) reaches `parse` and fails as "not a feed: the document is an HTML
    # page (...)", a layout failure that names what came back, not a Content-Type refusal.
    media_types = frozenset(
        {
            "application/rss+xml",
            "application/atom+xml",
            "application/rdf+xml",
            "application/xml",
            "text/xml",
            "text/html",
            "text/plain",
        }
    )
    accept = (
        "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
        "text/xml;q=0.9, */*;q=0.5"
    )

    def check(self, options: Mapping[str, Any], url: str) -> tuple[str, str] | None:
        """`text` must be one of TEXT_MODES."""
        text = options.get("text")
        if text is not None and text not in TEXT_MODES:
            return "text", f'expected "title" or "title+summary", got {text!r}'
        return None

    def parse(self, page: str, source: Source) -> list[Line]:
        """The lines of the feed `page` (see `parse`)."""
        return parse(page, source)

    def describe(self, source: Source) -> str:
        """ "feed", and "title+summary" if lines include the summary."""
        text = source.options.get("text") or "title"
        return "feed" if text == "title" else f"feed, text {text!r}"

    def layout_advice(self, source: Source) -> str:
        """Check that the URL still serves the feed."""
        return "check that its URL still serves an RSS or Atom feed"


KIND = RssKind()
