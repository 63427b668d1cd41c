"""Which channel gets which alert, and when: sources, include/exclude words, attributions,
quiet hours and a per-minute rate limit.

Pure standard library (config validation compiles the rules here). Routing happens twice:
when a poll is recorded (`Router`: which channels get a delivery at all) and when the
outbox sends (`in_quiet_hours`, `rate_allowance`: hold now, send as a digest later; the outbox
counts each channel's messages of the last minute in the database).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ticker.lines import Line, canonical_attribution

if TYPE_CHECKING:
    from ticker.config import Channel

Router = Callable[[Line, str], Sequence[str]]  # (line, kind) -> channel names
_QUIET_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_PATTERN_CHARS = 200


def compile_pattern(word: str) -> re.Pattern[str]:
    """A case-insensitive matcher for one include/exclude entry: "/regex/" as written,
    anything else as a whole word or phrase. Raises ValueError for a bad regex."""
    if len(word) > MAX_PATTERN_CHARS:
        raise ValueError(f"longer than {MAX_PATTERN_CHARS} characters")
    if len(word) > 2 and word.startswith("/") and word.endswith("/"):
        try:
            return re.compile(word[1:-1], re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {word}: {exc}") from None
    phrase = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(rf"(?<!\w){phrase}(?!\w)", re.IGNORECASE)


def parse_quiet_hours(text: str) -> tuple[int, int]:
    """ "23:00-07:00" -> (1380, 420): start and end in minutes after midnight. The range
    may wrap past midnight; start == end is refused (it would mean always or never)."""
    match = _QUIET_HOURS.match(text)
    if not match:
        raise ValueError('expected "HH:MM-HH:MM", e.g. "23:00-07:00"')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError("hours go from 00 to 23 and minutes from 00 to 59")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError("start and end are the same time")
    return start, end


def timezone_named(name: str | None) -> tzinfo | None:
    """The zone called `name` (IANA, e.g. "Asia/Beirut"); None means the machine's local
    time. Raises ValueError for an unknown name."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, LookupError, OSError):
        raise ValueError(f'unknown time zone "{name}" (expected e.g. "Europe/London")') from None


def in_quiet_hours(quiet_hours: tuple[int, int] | None, zone: tzinfo | None, when: float) -> bool:
    """True if the wall-clock time of `when` (in `zone`) falls inside `quiet_hours`."""
    if quiet_hours is None:
        return False
    moment = datetime.fromtimestamp(when, zone) if zone else datetime.fromtimestamp(when)
    minute = moment.hour * 60 + moment.minute
    start, end = quiet_hours
    return start <= minute < end if start < end else minute >= start or minute < end


@dataclass(frozen=True)
class Rules:
    """A channel's routing rules, compiled once."""

    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    attributions: frozenset[str]
    quiet_hours: tuple[int, int] | None
    zone: tzinfo | None

    def accepts(self, line: Line) -> bool:
        """True if `line` passes the include, exclude and attribution filters."""
        if self.attributions and canonical_attribution(line.attribution) not in self.attributions:
            return False
        if self.include and not any(p.search(line.text) for p in self.include):
            return False
        return not any(p.search(line.text) for p in self.exclude)

    def quiet_at(self, when: float) -> bool:
        """True while the channel's quiet hours hold (or drop) its alerts."""
        return in_quiet_hours(self.quiet_hours, self.zone, when)


@lru_cache(maxsize=256)
def rules_of(channel: Channel) -> Rules:
    """The compiled rules of `channel` (already validated when the config was loaded)."""
    return Rules(
        include=tuple(compile_pattern(word) for word in channel.include),
        exclude=tuple(compile_pattern(word) for word in channel.exclude),
        attributions=frozenset(canonical_attribution(a) for a in channel.attributions),
        quiet_hours=parse_quiet_hours(channel.quiet_hours) if channel.quiet_hours else None,
        zone=timezone_named(channel.timezone),
    )


def describe(channel: Channel) -> str:
    """The channel's rules in one line, for `ticker config check`."""
    parts = []
    for key in ("attributions", "include", "exclude"):
        values = getattr(channel, key)
        if values:
            parts.append(f"{key}: {', '.join(values)}")
    if channel.updates != "notify":
        parts.append(f"updates {channel.updates}")
    if channel.also == "notify":
        parts.append("also-reported follow-ups")
    if channel.quiet_hours:
        zone = channel.timezone or "local time"
        parts.append(f"quiet {channel.quiet_hours} {zone} ({channel.quiet})")
    if channel.group_window:
        parts.append(f"bursts gathered for {channel.group_window:g}s")
    parts.append(
        f"at most {channel.max_per_minute}/min" if channel.max_per_minute else "no rate limit"
    )
    return "; ".join(parts)


def router(channels: Iterable[Channel], clock: Callable[[], float] = time.time) -> Router:
    """The router of one source's poll: `channels` are the channels that take the source;
    a line goes to those whose filters accept it, updates only where `updates = "notify"`,
    "also reported by" follow-ups (kind "also") only where `also = "notify"`, and nowhere
    whose quiet hours are on with `quiet = "drop"`."""
    chosen = tuple(channels)

    def route(line: Line, kind: str) -> list[str]:
        now = clock()
        names = []
        for channel in chosen:
            rules = rules_of(channel)
            if kind == "update" and channel.updates != "notify":
                continue
            if kind == "also" and channel.also != "notify":
                continue
            if not rules.accepts(line):
                continue
            if channel.quiet == "drop" and rules.quiet_at(now):
                continue
            names.append(channel.name)
        return names

    return route


RATE_WINDOW = 60.0  # seconds: max_per_minute counts the messages sent in the last minute


def rate_allowance(max_per_minute: int, sent: int) -> int | None:
    """How many more messages may go out now, `sent` having gone out in the last
    RATE_WINDOW seconds; None if the channel has no limit (0)."""
    if max_per_minute <= 0:
        return None
    return max(0, max_per_minute - sent)
