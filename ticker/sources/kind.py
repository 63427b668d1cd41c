"""What a source kind is: its declared config keys (`Key`) and its behaviour (`Kind`).

Standard library only: config.py validates every source's kind keys from these
declarations, and `ticker tail` loads the config, so no parser library is imported here.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    from ticker.config import Source
    from ticker.lines import Line

MAX_URL_CHARS = 2048  # a longer link is no article's; it would bloat every alert
MAX_LINES = 500  # a ticker has a handful of lines; a source that yields thousands is not one
# What an html page may be served as; a missing Content-Type is given the benefit of the doubt.
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})

# The value types a key may declare, and the words `ticker kinds` and errors use for them.
TYPE_WORDS: dict[type, str] = {str: "string", int: "integer", float: "number", bool: "true/false"}


@dataclass(frozen=True)
class Key:
    """One config key of a kind: its name, value type, whether it is required, its default
    and one line of help."""

    name: str
    type: type
    help: str
    required: bool = False
    default: Any = None
    expected: str = ""  # what errors say is expected; default: "a <type>"

    def accepts(self, value: Any) -> bool:
        """True if `value` has this key's type (a string must not be blank; a bool is not
        a number; an integer is a number)."""
        if self.type is str:
            return isinstance(value, str) and value.strip() != ""
        if self.type is bool or isinstance(value, bool):
            return self.type is bool and isinstance(value, bool)
        if self.type is float:
            return isinstance(value, int | float)
        return isinstance(value, self.type)

    def expectation(self) -> str:
        """What a value must be, in words."""
        if self.expected:
            return self.expected
        if self.type is bool:
            return "true or false"
        word = TYPE_WORDS.get(self.type, self.type.__name__)
        return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


class Kind:
    """The base of every source kind. A subclass sets `name` (the `kind` config value)
    and `keys`, and its docstring is its help in `ticker kinds`."""

    name: ClassVar[str]
    keys: ClassVar[tuple[Key, ...]] = ()
    identity: ClassVar[str] = "the fingerprint of the line's text"
    # The Content-Types its documents may be served as (a "+xml" or "+json" suffix counts
    # as application/xml or application/json), and the Accept header that asks for them.
    media_types: ClassVar[frozenset[str]] = PAGE_TYPES
    accept: ClassVar[str] = "text/html,*/*;q=0.8"

    @classmethod
    def help(cls) -> str:
        """The kind's help: its docstring."""
        return inspect.getdoc(cls) or ""

    def check(self, options: Mapping[str, Any], url: str) -> tuple[str, str] | None:
        """A problem that the key declarations cannot express, as (key, what is wrong);
        None if the options suit the source at `url`."""
        return None

    def parse(self, page: str, source: Source) -> list[Line]:
        """The lines of `page`, fetched from `source.url`, newest first (`in_order`), at
        most MAX_LINES, no two with the same fingerprint. Raises ParseError if what holds
        the lines cannot be found (counted for health as a layout change)."""
        raise NotImplementedError

    def describe(self, source: Source) -> str:
        """How `source` finds its lines, in a few words (`ticker config check`); "" when
        its kind's defaults say it all."""
        shown = [
            f"{key.name} {source.options[key.name]!r}"
            for key in self.keys
            if source.options.get(key.name) is not None
        ]
        return ", ".join(shown)

    def layout_advice(self, source: Source) -> str:
        """What to change when `source`'s lines are no longer found (the health alert)."""
        names = " or ".join(key.name for key in self.keys)
        return f"update its {names}" if names else "check its URL"


# (source, what) of the warnings given: a ticker over a cap, a malformed feed stay so poll
# after poll, so each is logged once per source and process, not every poll.
_WARNED: set[tuple[str, str]] = set()


def warn_once(log: logging.Logger, source: str, what: str, message: str, *args: object) -> None:
    """Log `message` % `args` as a warning on `log`, unless `source` was warned of `what`
    already in this process."""
    if (source, what) not in _WARNED:
        _WARNED.add((source, what))
        log.warning(message, *args)


def iso_time(value: str | None) -> datetime | None:
    """The time an ISO 8601 string (a `datetime` attribute) names, UTC if it names no
    zone; None for none or an invalid one."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def absolute_link(href: str | None, base_url: str) -> str | None:
    """`href` made absolute against `base_url`, if it is an http(s) link: None for no link,
    another scheme (javascript:, tg:, data:), a malformed one ("http://[::1": urllib raises
    ValueError) or one longer than MAX_URL_CHARS (cut, it would be a wrong link)."""
    if not href or len(href) > MAX_URL_CHARS:
        return None
    try:
        absolute = urljoin(base_url, href.strip())
        scheme = urlsplit(absolute).scheme
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") and len(absolute) <= MAX_URL_CHARS else None


def in_order(lines: Iterable[Line], order: str = "newest-first") -> list[Line]:
    """`lines`, as a kind read them in document order, the way the store takes them:
    newest first, no two with the same text or the same key (the first kept), at most
    MAX_LINES.

    Lines that all carry a `published` time are ordered by it, newest first (ties keep
    their order); otherwise the document order is all there is to know: kept, or reversed
    for a source whose documents list the oldest first (`order = "oldest-first"`)."""
    ordered = list(lines)
    if order == "oldest-first":
        ordered.reverse()
    if ordered and all(line.published is not None for line in ordered):
        ordered.sort(key=lambda line: line.published or 0.0, reverse=True)
    kept: list[Line] = []
    seen: set[str] = set()
    keys: set[str] = set()
    for line in ordered:
        if line.text and line.fingerprint not in seen and line.key not in keys:
            seen.add(line.fingerprint)
            if line.key:
                keys.add(line.key)
            kept.append(line)
            if len(kept) >= MAX_LINES:
                break
    return kept
