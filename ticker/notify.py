"""Apprise: turn an alert into a message and send it to a channel's URLs.

Site text is untrusted. Messages are handed to Apprise as plain TEXT, and Apprise
converts (escapes) them for each service's own markup, so `<b>` or `&` in a ticker line
arrives literally. Sizes are capped here.
"""

from __future__ import annotations

import html
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from ticker.apprise_plugins import load_only, scheme_of
from ticker.config import Channel
from ticker.reasons import Reason, classify, combine
from ticker.redact import Redactor, redact_url
from ticker.store import ALSO, CHANNEL_HEALTH, Delivery

if TYPE_CHECKING:
    import apprise  # imported where a URL is read or a message sent: `ticker poll` with
    # nothing to send never imports it (~100 ms of a cron run)

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 3500  # one alert; bursts and digests are split to fit the channel instead
DEFAULT_MAX_CHARS = 20_000  # the split size for services whose limit Apprise does not know
DESKTOP = {"dbus", "kde", "qt", "glib", "gnome"}  # schemes of desktop notification servers
LATE = "late"  # the digest of alerts older than their channel's max_delivery_age
LIMIT_MARGIN = 32  # characters kept free below a service's limit for Apprise's own markup
_RETRY_AFTER = re.compile(r"retry.after\D{0,3}(\d+(?:\.\d+)?)", re.IGNORECASE)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """What one channel receives for one alert."""

    title: str
    body: str

    def chars(self) -> int:
        """Its length as the service counts it: title and body joined, newlines as CRLF
        (what Apprise sends to services that have no title field)."""
        return len(self.title) + 2 + len(self.body) + self.body.count("\n")

    def fits(self, limits: Limits) -> bool:
        """True if no part of it would be cut by a service with these `limits`."""
        lines = self.body.count("\n") + 2  # the title may be merged into the body
        return (not limits.chars or self.chars() <= limits.chars) and (
            not limits.lines or lines <= limits.lines
        )


@dataclass(frozen=True)
class Limits:
    """What a channel's services accept in one message (0: no limit): Apprise cuts longer
    messages silently, so the outbox splits to fit these instead."""

    chars: int = 0
    lines: int = 0


@dataclass(frozen=True)
class Failure:
    """Why a send failed, how long the service asked us to wait (HTTP 429), if it did, and
    whether the refusal is permanent (trying the same message again cannot succeed)."""

    reason: str
    retry_after: float | None = None
    permanent: bool = False


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _title(delivery: Delivery, suffix: str = "") -> str:
    who = f"{delivery.source}: {delivery.attribution}" if delivery.attribution else delivery.source
    return _cap(who + suffix, MAX_TITLE_CHARS)


def _text(delivery: Delivery) -> str:
    return rtl_marked(delivery.body if delivery.attribution else delivery.text)


def rtl_marked(text: str) -> str:
    """`text`, with a RIGHT-TO-LEFT MARK in front if it is written mostly in a
    right-to-left script but its first strong character is left-to-right ("F-16 ...",
    "CNN ..." in an Arabic line). Clients (Telegram, desktop, mail with dir="auto") take a
    paragraph's direction from its first strong character, so such a line would be laid
    out left to right, its Latin word moved to the end of the Arabic reading; the site
    showed it in a dir="rtl" page. clean_text strips marks from stored lines; this one is
    added only where ticker lays text out, and every other line is left as it is."""
    first: str | None = None
    rtl = ltr = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            ltr += 1
        elif kind in ("R", "AL"):
            rtl += 1
        else:
            continue
        first = first or kind
    return "\u200f" + text if first == "L" and rtl > ltr else text


def format_message(delivery: Delivery) -> Message:
    """Title: source and attribution. Body: the line's text and its link. An update is
    marked as such and says what changed; a follow-up ("also") says which other source
    reported the story too; a health alert is ticker speaking of a source."""
    if delivery.kind == "health":
        about = "channel" if delivery.attribution == CHANNEL_HEALTH else "source"
        return Message(title=f"ticker: {about} {delivery.source}", body=delivery.text)
    if delivery.kind == "update":
        body = _text(delivery)
        if delivery.changes:
            body += f"\nChanged: {delivery.changes}"
        title = _cap("Update: " + _title(delivery), MAX_TITLE_CHARS)
    elif delivery.kind == ALSO:  # a short follow-up: the story itself went out before
        body = f"also reported by {delivery.source}: {delivery.text}"
        title = _cap("Also: " + _title(delivery), MAX_TITLE_CHARS)
    else:
        body, title = _text(delivery), _title(delivery)
    if delivery.url:
        body += f"\n{delivery.url}"
    return Message(title=title, body=_cap(body, MAX_BODY_CHARS))


def format_group(deliveries: Sequence[Delivery]) -> Message:
    """One message for a burst of lines of one attribution, listed in the site's order
    (newest first); `deliveries` come oldest first."""
    if len(deliveries) == 1:
        return format_message(deliveries[0])
    items = [list_item(delivery) for delivery in reversed(deliveries)]
    title = _title(deliveries[0], f" ({len(deliveries)} lines)")
    return Message(title=title, body="\n".join(items))  # the outbox splits it to fit


def list_item(delivery: Delivery, digest: bool = False, zone: tzinfo | None = None) -> str:
    """One alert as an item of a burst's list, or of a digest (with its time in `zone`
    and its source)."""
    link = f"\n  {delivery.url}" if delivery.url else ""
    if not digest:
        return f"\u2022 {_text(delivery)}{link}"
    at = datetime.fromtimestamp(delivery.first_seen, zone).strftime("%H:%M")
    mark = {"update": "Update: ", ALSO: "also reported: "}.get(delivery.kind, "")
    return f"\u2022 {at} [{delivery.source}] {mark}{delivery.text}{link}"


def format_digest(deliveries: Sequence[Delivery], why: str, zone: tzinfo | None) -> Message:
    """One message for alerts that were held (quiet hours, rate limit), oldest first, each
    with its time in `zone` (None: local time) and its source."""
    items = [list_item(delivery, digest=True, zone=zone) for delivery in deliveries]
    title = f"ticker: {len(deliveries)} alerts {why}"
    return Message(title=title, body="\n".join(items))


def format_late(deliveries: Sequence[Delivery], zone: tzinfo | None) -> Message:
    """One digest of alerts that waited longer than their channel's max_delivery_age
    (oldest first), marked late in its title so nobody takes it for fresh news."""
    items = [list_item(delivery, digest=True, zone=zone) for delivery in deliveries]
    since = datetime.fromtimestamp(deliveries[0].created, zone).strftime("%H:%M")
    title = f"ticker: {len(deliveries)} late alerts (held since {since})"
    return Message(title=title, body="\n".join(items))


def retry_after_of(reason: str) -> float | None:
    """The wait a service asked for in its refusal ("Too Many Requests: retry after 7")."""
    match = _RETRY_AFTER.search(reason)
    return float(match[1]) if match else None


def limits_of(urls: Sequence[str]) -> Limits:
    """The limits every one of `urls` accepts, as Apprise's plugins declare them."""
    import apprise

    chars, lines = [], []
    for url in urls:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            continue
        if plugin.body_maxlen > 0:
            chars.append(max(plugin.body_maxlen - LIMIT_MARGIN, 100))
        if plugin.body_max_line_count > 0:
            lines.append(max(plugin.body_max_line_count, 3))
    return Limits(chars=min(chars, default=DEFAULT_MAX_CHARS), lines=min(lines, default=0))


def _html_line(line: str) -> str:
    text = line.strip()
    if re.fullmatch(r"https?://\S+", text):
        # A link is left-to-right text: isolated as such (dir="ltr"), a trailing "/" or ")"
        # stays at its end in an Arabic alert's right-to-left paragraph.
        escaped = html.escape(text, quote=True)
        return f'<a dir="ltr" href="{escaped}">{html.escape(text)}</a>'
    return html.escape(text)


def to_html(body: str) -> str:
    """`body` as HTML for e-mail: every character of site text escaped, "\u2022 " lines as
    a list, only http(s) links made clickable (and left to right), direction left to the
    reader's client (`dir="auto"`, so Arabic reads right to left)."""
    blocks: list[str] = []
    items: list[str] = []

    def end_list() -> None:
        if items:
            blocks.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
            items.clear()

    for line in body.splitlines():
        if line.startswith("\u2022 "):
            items.append(_html_line(line[2:]))
        elif items and line.startswith("  "):
            items[-1] += "<br>" + _html_line(line)
        else:
            end_list()
            blocks.append(f"<p>{_html_line(line)}</p>")
    end_list()
    return f'<div dir="auto">{"".join(blocks)}</div>'


def unusable_reason(url: str) -> str | None:
    """Why Apprise cannot use `url` (unknown scheme, missing parts, a service that needs
    something this machine lacks), redacted for display; None if it can."""
    import apprise
    from apprise.manager_plugins import NotificationManager

    if apprise.Apprise.instantiate(url) is not None:
        return None
    scheme = scheme_of(url)
    try:
        plugin = NotificationManager()[scheme]
    except KeyError:
        return f"Apprise cannot use {redact_url(url)} (unknown service)"
    if not plugin.enabled:
        hint = " (pip install 'ticker[desktop]'; see the README)" if scheme in DESKTOP else ""
        return f"{scheme}:// is not available on this machine{hint}"
    return f"Apprise cannot use {redact_url(url)}"


def invalid_urls(urls: tuple[str, ...]) -> list[str]:
    """Why each URL Apprise cannot use is unusable (see `unusable_reason`)."""
    load_only(urls)
    return [reason for url in urls if (reason := unusable_reason(url))]


def escape_markup(body: str) -> str:
    """Desktop notification servers read the body as simple markup (<b>, <a>, &amp;):
    site text is escaped so it shows literally."""
    return html.escape(body, quote=False)


def _rendering(url: str) -> str:
    """How a URL's service gets the body: "html" (e-mail: ticker's HTML part, Apprise
    derives the plain one), "markup" (desktop: escaped by ticker), "text" (everything
    else: Apprise escapes for the service's own markup, e.g. Telegram HTML)."""
    import apprise
    from apprise.plugins.email import NotifyEmail

    if scheme_of(url) in DESKTOP:
        return "markup"
    return "html" if isinstance(apprise.Apprise.instantiate(url), NotifyEmail) else "text"


# The body_format Apprise is told (the values of apprise.NotifyFormat), and the body's form.
RENDERINGS: dict[str, tuple[str, Callable[[str], str]]] = {
    "html": ("html", to_html),
    "markup": ("text", escape_markup),
    "text": ("text", lambda body: body),
}


class AppriseSender:
    """Sends messages through Apprise, per channel one Apprise object per rendering (see
    `_rendering`), and keeps the reason of each failure (Apprise's notify only answers yes
    or no)."""

    def __init__(self, channels: tuple[Channel, ...]) -> None:
        self._redactor = Redactor(s for c in channels for s in c.secret_parts())
        self._channels = channels  # made ready at the first send or limits asked (_ready)
        self._making = threading.Lock()  # channels send from worker threads
        self._made = False
        self._apprise: dict[str, dict[str, apprise.Apprise]] = {}
        self._broken: dict[str, str] = {}
        self._limits: dict[str, Limits] = {}

    def _ready(self) -> None:
        """Make every channel's Apprise objects and limits, once, when the first message is
        to be sent: a `ticker poll` with nothing to send never imports Apprise (~150 ms)."""
        with self._making:
            if self._made:
                return
            load_only(url for channel in self._channels for url in channel.urls)
            for channel in self._channels:
                self._add(channel)
            self._made = True

    def _add(self, channel: Channel) -> None:
        import apprise

        by_rendering: dict[str, apprise.Apprise] = {}
        bad = []
        for url in channel.urls:
            if not by_rendering.setdefault(_rendering(url), apprise.Apprise()).add(url):
                bad.append(unusable_reason(url) or f"Apprise cannot use {redact_url(url)}")
        if bad:
            self._broken[channel.name] = "; ".join(bad)
        self._apprise[channel.name] = by_rendering
        self._limits[channel.name] = limits_of(channel.urls)

    def limits(self, channel: str) -> Limits:
        """What one message to `channel` may hold."""
        self._ready()
        return self._limits.get(channel, Limits())

    def send(self, channel: str, message: Message) -> Failure | None:
        """Send `message` to every URL of `channel`. None on success, else why it failed."""
        self._ready()
        by_rendering = self._apprise.get(channel)
        if by_rendering is None:
            return Failure(f'channel "{channel}" is not in the config')
        if channel in self._broken:
            return Failure(self._broken[channel])
        _enable_apprise_debug()
        reasons = [
            reason
            for rendering, obj in by_rendering.items()
            for reason in _send_one(obj, rendering, message)
        ]
        if not reasons:
            return None
        reason = combine(reasons)
        text = self._redactor.scrub(reason.text)
        return Failure(text, retry_after_of(text), reason.permanent)


def _enable_apprise_debug() -> None:
    """Apprise says what a server answered only at DEBUG (the SMTP reply, the HTTP body):
    its logger must pass DEBUG records for a send's own capture to see them. ticker's log
    handler still drops Apprise's records below WARNING (ticker.logs)."""
    apprise_log = logging.getLogger("apprise")
    if apprise_log.getEffectiveLevel() > logging.DEBUG:
        apprise_log.setLevel(logging.DEBUG)


def _send_one(obj: apprise.Apprise, rendering: str, message: Message) -> list[Reason]:
    """Send with one Apprise object; the reason of each of its services that failed.
    Apprise keeps each service's log of the call apart (its per-call capture follows the
    sending context), even when services are sent in parallel threads or two channels send
    at once, so one channel's failure never borrows another's words."""
    result = obj.notify(
        title=message.title,
        body=RENDERINGS[rendering][1](message.body),
        body_format=RENDERINGS[rendering][0],
        log_level=logging.DEBUG,
    )
    if result:
        return []
    failed = [service for service in result if not service]
    reasons = [classify([(e.level, e.message) for e in service.logs()]) for service in failed]
    return reasons or [classify([(e.level, e.message) for e in result.logs()])]
