"""Kind `json`: the items of a JSON document, found by JMESPath expressions, or of a JSON Feed.

A source gives `items` (the expression selecting the list of items) and `text` (evaluated
on each item), and optionally `link`, `id` and `time`. A JSON Feed (version 1 or 1.1)
needs none of them: its items are "items", read as `_feed_text`, `_feed_link`, "id" and
"date_published" say; keys given for a feed win.

The module is named jsondoc so that it never shadows the standard library's json. jmespath
is imported when a page is parsed or a config checked, not with this module: config
validation reads `KIND`'s declarations, and `ticker tail` loads the config.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from ticker.errors import ParseError
from ticker.lines import MAX_LINE_CHARS, Line
from ticker.sources.kind import MAX_LINES, Key, Kind, absolute_link, in_order, warn_once

if TYPE_CHECKING:
    from ticker.config import Source

log = logging.getLogger(__name__)

FEED_VERSIONS = frozenset(
    f"{scheme}://jsonfeed.org/version/{number}"
    for scheme in ("http", "https")
    for number in ("1", "1.1")
)
# What a JSON Feed item's text is read from, as errors name it.
FEED_FIELDS = "the JSON Feed (content_text, title, content_html)"
EXPRESSION_KEYS = ("items", "text", "link", "id", "time")
# A document's items are read up to MAX_ITEMS, in document order (html reads as many).
MAX_ITEMS = 4 * MAX_LINES
# An item's text is read up to this many characters before cleaning (Line caps it again);
# a longer one is cut and marked, as html's node_text does.
MAX_ITEM_CHARS = 4 * MAX_LINE_CHARS
MAX_TIME_CHARS = 64  # "2026-11-29T08:15:00.123456+03:00" and the like; longer is no time
# An integer literal longer than this reads as null: no id or time has so many digits, and
# Python refuses to convert one of more than 4,300 (ValueError) after quadratic work.
MAX_INTEGER_DIGITS = 64
MILLISECONDS_FROM = 1e11  # a Unix time above this is in milliseconds (1e11 s is year 5138)
# Text is read as HTML (tags removed, entities decoded) only when it holds a tag or an
# entity: plain text such as "Gaza: 3 < 5" is kept as it is. A tag stops at the next "<",
# so a text of "<a<a<a..." costs one scan, not one to its end from every "<".
_MARKUP = re.compile(r"<[A-Za-z/!][^<>]*>|&(?:#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});")
_CUT = "\u2026"
# A lone surrogate ("\ud800") is valid JSON but no character: UTF-8 cannot encode it, so
# SQLite and lexbor would refuse the line. Each one becomes U+FFFD (paired escapes are
# joined into their character by json).
_JSONP = re.compile(r"[A-Za-z_$][\w$.]{0,100}\s*\(")  # "callback(", "jQuery123.cb ("
_SURROGATE = re.compile("[\ud800-\udfff]")

Getter = Callable[[Any], Any]


def load_document(page: str) -> Any:
    """The JSON value of `page` (or of the JSONP call it is). ParseError (naming what is
    wrong and where, never quoting the document) if it is not JSON, nests deeper than
    Python reads, or is an HTML page."""
    body = page.lstrip("\ufeff \t\r\n")
    inner = _unwrapped(body)
    try:
        return json.loads(inner, parse_int=_integer)
    except json.JSONDecodeError as exc:
        if body.startswith("<"):
            raise ParseError(
                "json: not JSON (the document starts with '<': an HTML or XML page?)"
            ) from None
        where = f"line {exc.lineno} column {exc.colno}"
        where += " of the JSONP call's argument" if inner is not body else ""
        raise ParseError(f"json: not JSON ({exc.msg} at {where})") from None
    except RecursionError:
        raise ParseError("json: the document nests too deeply to be read") from None
    except ValueError as exc:  # anything else json.loads refuses
        raise ParseError(f"json: not JSON ({str(exc)[:120]})") from None


def _unwrapped(body: str) -> str:
    """The JSON inside a JSONP answer ("callback({...});", as sites serve to scripts);
    `body` itself if it is not one."""
    call = _JSONP.match(body)
    if call is None:
        return body
    end = body.rstrip().removesuffix(";").rstrip()
    return end[call.end() : -1] if end.endswith(")") else body


def _integer(digits: str) -> int | None:
    """An integer literal's value; None (null) if it is longer than MAX_INTEGER_DIGITS."""
    return int(digits) if len(digits) <= MAX_INTEGER_DIGITS else None


def is_json_feed(document: Any) -> bool:
    """True if `document` says it is a JSON Feed of version 1 or 1.1."""
    if not isinstance(document, dict):
        return False
    version = document.get("version")
    return isinstance(version, str) and version.strip().rstrip("/") in FEED_VERSIONS


def compile_expression(expression: str) -> Any:
    """`expression` compiled by jmespath; jmespath's exception if it is not one."""
    import jmespath

    return jmespath.compile(expression)


def expression_problem(expression: str) -> str | None:
    """What is wrong with the JMESPath `expression`, in jmespath's short words; None if
    nothing is. Functions are looked up when an expression runs, so it is also run on an
    empty object to find an unknown function or a wrong number of arguments."""
    from jmespath.exceptions import ArityError, JMESPathError, UnknownFunctionError

    try:
        compiled = compile_expression(expression)
    except JMESPathError as exc:
        return f"not a JMESPath expression: {_short(exc)}"
    try:
        compiled.search({})
    except (UnknownFunctionError, ArityError) as exc:
        return f"not a usable JMESPath expression: {_short(exc)}"
    except (JMESPathError, ValueError, TypeError, RecursionError):
        pass  # a type error on an empty object says nothing of a real document
    return None


def _short(exc: Exception) -> str:
    """The first line of a jmespath message, without its pointer at the expression."""
    first = str(exc).split("\n", 1)[0].strip()
    return first.removesuffix(", for expression:").rstrip(":").strip()


def type_word(value: Any) -> str:
    """What a JSON value is, in words ("a string", "nothing (null)")."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    return "a list"


@dataclass(frozen=True)
class Reading:
    """How the items of one document and their fields are read: a getter per field, and
    how errors name the items and the text."""

    items_name: str  # 'items "data.news"' or 'the JSON Feed\'s "items"'
    items: Getter
    text_name: str  # 'text "headline"', or FEED_FIELDS
    text: Callable[[Any], str | None]
    link: Getter
    key: Getter
    time: Getter


def _searcher(name: str, expression: str) -> Getter:
    """A getter running `expression` on a value; ParseError if it cannot run on it (a
    function given the wrong type) or cannot be compiled."""
    from jmespath.exceptions import JMESPathError

    try:
        compiled = compile_expression(expression)
    except JMESPathError as exc:
        raise ParseError(
            f'json: {name} "{expression}" is not a JMESPath expression: {_short(exc)}'
        ) from None

    def search(value: Any) -> Any:
        try:
            return compiled.search(value)
        except (JMESPathError, ValueError, TypeError, RecursionError) as exc:
            raise ParseError(f'json: {name} "{expression}" failed: {_short(exc)}') from None

    return search


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else None


def _feed_items(document: Any) -> Any:
    return _field(document, "items")


def _feed_text(item: Any) -> str | None:
    """A JSON Feed item's text: content_text, else title (both plain text), else the
    visible text of content_html."""
    for name in ("content_text", "title"):
        value = _field(item, name)
        if isinstance(value, str) and value.strip():
            return _cut(value)
    markup = _field(item, "content_html")
    return _html_text(markup) if isinstance(markup, str) else None


def _feed_link(item: Any) -> Any:
    link = _field(item, "url")
    return link if isinstance(link, str) and link.strip() else _field(item, "external_url")


def _item_text(value: Any) -> str | None:
    """The text of a value an item's `text` expression yielded: a string, read as HTML if
    it holds a tag or an entity; anything else (a number, an object) is no text."""
    if not isinstance(value, str):
        return None
    return _html_text(value) if _MARKUP.search(value) else _cut(value)


def _html_text(markup: str) -> str:
    from ticker.sources.html import fragment_text

    return fragment_text(scrubbed(markup))


def _cut(text: str) -> str:
    """`text` cut at MAX_ITEM_CHARS (marked if cut), without lone surrogates."""
    return scrubbed(text if len(text) <= MAX_ITEM_CHARS else text[:MAX_ITEM_CHARS] + _CUT)


def scrubbed(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def reading_for(document: Any, options: Mapping[str, Any]) -> Reading:
    """How `document` is read with the source's `options`: its expressions, and for a JSON
    Feed its own fields where no expression is given. ParseError if a document that is no
    JSON Feed has no items and text expressions."""
    given = {key: options.get(key) for key in EXPRESSION_KEYS}
    feed = is_json_feed(document)
    if not feed and not (given["items"] and given["text"]):
        raise ParseError(f"json: {_not_a_feed(document)}, and the source has no items and text")

    def getter(key: str, default: Getter) -> Getter:
        expression = given[key]
        return _searcher(key, expression) if expression else default

    text_getter = getter("text", _feed_text)
    return Reading(
        items_name=f'items "{given["items"]}"' if given["items"] else 'the JSON Feed\'s "items"',
        items=getter("items", _feed_items),
        text_name=f'text "{given["text"]}"' if given["text"] else FEED_FIELDS,
        text=(lambda item: _item_text(text_getter(item))) if given["text"] else _feed_text,
        link=getter("link", _feed_link),
        key=getter("id", lambda item: _field(item, "id")),
        time=getter("time", lambda item: _field(item, "date_published")),
    )


def _not_a_feed(document: Any) -> str:
    """Why `document` is not read as a JSON Feed, in words."""
    version = document.get("version") if isinstance(document, dict) else None
    if isinstance(version, str) and "jsonfeed.org" in version:
        return f'not a JSON Feed of version 1 or 1.1 (version "{scrubbed(version[:80])}")'
    if isinstance(document, dict):
        return "not a JSON Feed (no jsonfeed.org version)"
    return f"not a JSON Feed (the document is {type_word(document)})"


def item_key(value: Any) -> str | None:
    """An item's id as a line's key: a string, or a number (an integer as digits, 17 not
    "17.0"); anything else (true, an object, NaN) is no id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return scrubbed(value.strip()) or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    return None


def unix_time(value: Any) -> float | None:
    """When an item was published, in Unix seconds: from an ISO 8601 / RFC 3339 string
    ("Z" or an offset; none is UTC), an RFC 822 date (as RSS writes them), or a number of
    Unix seconds (of milliseconds above MILLISECONDS_FROM), possibly written as a string of
    digits. None for anything else or a time before 1970 or past what a date can show: a
    wrong time is no error."""
    if isinstance(value, str):
        text = value.strip()
        if not text or len(text) > MAX_TIME_CHARS:
            return None
        if text.isascii() and text.isdigit():
            return unix_time(int(text))
        when = _date_of(text)
        return _shown_time(when.timestamp()) if when is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _shown_time(value / 1000 if value > MILLISECONDS_FROM else value)


def _shown_time(seconds: float) -> float | None:
    """`seconds` as a float if it is a time since 1970 that a date can show; else None
    (year 1 or 10,000 would make whoever prints the line's time raise)."""
    if not seconds >= 0:  # also NaN
        return None
    try:
        datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return float(seconds)


def _date_of(text: str) -> datetime | None:
    """The time an ISO 8601 or RFC 822 date string names, UTC if it names no zone."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def select_items(document: Any, reading: Reading) -> Sequence[Any]:
    """The document's list of items; ParseError naming the expression if it yields
    anything but a list."""
    items = reading.items(document)
    if not isinstance(items, list):
        raise ParseError(f"json: {reading.items_name} yields {type_word(items)}, not a list")
    return items


def _value(getter: Getter, item: Any) -> Any:
    """What `getter` yields for `item`; None if its expression cannot run on this item (a
    function given an item of another shape): one odd item must not fail the document."""
    try:
        return getter(item)
    except ParseError as exc:
        log.debug("%s", exc)
        return None


def line_of(item: Any, reading: Reading, base_url: str) -> Line | None:
    """The line of one item; None if it has no text."""
    try:
        raw = reading.text(item)
    except ParseError as exc:  # the text expression cannot run on this item
        log.debug("%s", exc)
        return None
    if not raw:
        return None
    link = _value(reading.link, item)
    line = Line.from_text(
        raw,
        url=absolute_link(scrubbed(link), base_url) if isinstance(link, str) else None,
        key=item_key(_value(reading.key, item)),
        published=unix_time(_value(reading.time, item)),
    )
    return line if line.text else None


def parse(page: str, source: Source) -> list[Line]:
    """The lines of the JSON document `page`, fetched from `source.url`: one per item with
    text, newest first (`in_order`). [] for an empty list of items.

    Raises ParseError if `page` is not JSON, the items expression does not yield a list,
    or no item of a non-empty list yields text (the site's JSON may have changed)."""
    document = load_document(page)
    reading = reading_for(document, source.options)
    items = select_items(document, reading)
    if len(items) > MAX_ITEMS:
        warn_once(
            log,
            source.name,
            "cap",
            "%s: the document lists %d items, more than ticker reads (%d); the %s %d are read",
            source.name,
            len(items),
            MAX_ITEMS,
            "last" if source.order == "oldest-first" else "first",
            MAX_ITEMS,
        )
    # The newest end of the list is read: its end for a site listing its oldest first.
    read = items[-MAX_ITEMS:] if source.order == "oldest-first" else items[:MAX_ITEMS]
    lines: list[Line] = []
    for item in read:
        line = line_of(item, reading, source.url)
        if line is None:
            log.debug("%s: an item without text skipped", source.name)
        else:
            lines.append(line)
    if items and not lines:
        count = min(len(items), MAX_ITEMS)
        raise ParseError(f"json: {reading.text_name} yields no text on any of the {count} items")
    return in_order(lines, source.order)


class JsonKind(Kind):
    """A URL answering JSON: the list of items that the JMESPath expression `items` selects,
    each item's text, link, id and time given by the expressions `text`, `link`, `id` and
    `time`. A JSON Feed (version 1 or 1.1) needs no keys."""

    name = "json"
    keys = (
        Key(
            "items",
            str,
            'JMESPath expression selecting the list of items, e.g. "data.news" (none: a JSON Feed)',
            expected="a JMESPath expression (string)",
        ),
        Key(
            "text",
            str,
            'JMESPath expression of an item\'s text, e.g. "headline" (required with items)',
            expected="a JMESPath expression (string)",
        ),
        Key(
            "link",
            str,
            "JMESPath expression of an item's link",
            expected="a JMESPath expression (string)",
        ),
        Key(
            "id",
            str,
            "JMESPath expression of an item's id",
            expected="a JMESPath expression (string)",
        ),
        Key(
            "time",
            str,
            "JMESPath expression of an item's time (ISO 8601, or Unix seconds or milliseconds)",
            expected="a JMESPath expression (string)",
        ),
    )
    identity = "the item's id (a JSON Feed item's id), else the fingerprint of its text"
    media_types = frozenset(
        {
            "application/json",
            "application/feed+json",
            "text/json",
            "text/plain",
            "application/javascript",
            "text/javascript",
        }
    )
    accept = "application/feed+json, application/json;q=0.9, */*;q=0.5"

    def check(self, options: Mapping[str, Any], url: str) -> tuple[str, str] | None:
        """Every expression given compiles; `items` and `text` come together (neither: the
        URL must answer a JSON Feed)."""
        for key in EXPRESSION_KEYS:
            expression = options.get(key)
            problem = expression_problem(expression) if expression else None
            if problem is not None:
                return key, problem
        items, text = options.get("items"), options.get("text")
        if items and not text:
            return "text", "missing; expected a JMESPath expression of an item's text with items"
        if text and not items:
            return (
                "items",
                "missing; expected a JMESPath expression selecting the list of items with text "
                "(give neither for a JSON Feed)",
            )
        return None

    def parse(self, page: str, source: Source) -> list[Line]:
        """The lines of `page` (see `parse`)."""
        return parse(page, source)

    def describe(self, source: Source) -> str:
        """The source's expressions, or "JSON Feed" if it gives none."""
        if any(source.options.get(key) for key in EXPRESSION_KEYS):
            return super().describe(source)
        return "JSON Feed"

    def layout_advice(self, source: Source) -> str:
        """Update the expressions, or check that the URL still answers a JSON Feed."""
        if source.options.get("items"):
            return "update its items or text expression"
        return "check that its URL still answers a JSON Feed (or give items and text)"


KIND = JsonKind()
