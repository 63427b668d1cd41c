"""Apprise: turn an alert into a message and send it to a channel's URLs.

Site text is untrusted. Messages are handed to Apprise as plain TEXT, and Apprise
converts (escapes) them for each service's own markup, so `<b>` or `&` in a ticker line
arrives literally. Sizes are capped here.
"""

from __future__ import annotations

import contextvars
import html
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from ticker.apprise_plugins import load_only, scheme_of
from ticker.config import Channel
from ticker.reasons import Entry, Reason, classify, combine
from ticker.redact import Redactor, redact_url, secrets_in
from ticker.store import ALSO, CHANNEL_HEALTH, Delivery

if TYPE_CHECKING:
    # Imported where a URL is read or a message sent: a `ticker poll` with nothing to send
    # never imports Apprise (~45 ms, ~100 ms with a channel's plugin: see BENCHMARKS.md).
    import apprise
    from apprise.plugins.base import NotifyBase

# A subject (a title, a chat message's first line) holds a headline up to this length: what
# mail clients show whole in an open message, and most wire lines; a longer one is cut at a
# word. (RFC 5322's 78 is a line of the header, which the e-mail library folds.)
SUBJECT_CHARS = 100
MIN_HEADLINE_CHARS = 20  # of a headline kept in a subject, however long its prefix
ELLIPSIS = "\u2026"
_TRAILING = " ,;:-\u2013\u2014\u060c\u061b"  # left at a cut, before the ellipsis (Arabic too)
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
    # The title holds the body's first line whole: a service that shows the title as the
    # first line of the same message (chat: Telegram) gets the body without it.
    headline_in_title: bool = False

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
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def one_line(text: str) -> str:
    """`text` as one line: every run of whitespace (CR, LF, tabs, Unicode line and paragraph
    separators) one space, other control characters gone. Titles become headers (an
    e-mail's Subject): site text must never break or add one."""
    joined = " ".join(text.split())
    return "".join(char for char in joined if unicodedata.category(char) != "Cc")


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: whole if it fits, else cut at the last space
    that keeps at least half of it (within a word only if one word fills that half, never
    before a combining mark), trailing punctuation dropped, and an ellipsis added."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if not text[len(cut)].isspace() and space >= limit // 2:
        cut = cut[:space]
    while cut and unicodedata.combining(text[len(cut)]):
        cut = cut[:-1]  # a vowel mark or shadda stays with its letter
    return cut.rstrip(_TRAILING) + ELLIPSIS


def subject(
    prefix: str, delivery: Delivery, suffix: str = "", keep_attribution: bool = False
) -> str:
    """A one-line title for `delivery`'s line: `prefix`, the whole line (attribution
    included) and `suffix` if they fit in SUBJECT_CHARS; else the headline (the attribution
    left to the body, unless `keep_attribution`) cut at a word. Marked right to left as a
    whole when mostly written so (`rtl_marked`)."""
    whole = one_line(prefix + delivery.text + suffix)
    if len(whole) <= SUBJECT_CHARS:
        return rtl_marked(whole)
    lead = prefix
    if keep_attribution and delivery.attribution:
        lead += f"{delivery.attribution}: "
    lead = one_line(lead) + (" " if lead.strip() else "")
    room = max(SUBJECT_CHARS - len(lead) - len(suffix), MIN_HEADLINE_CHARS)
    return rtl_marked(lead + shorten(one_line(delivery.body), room) + suffix)


def _fits_whole(delivery: Delivery, prefix: str = "") -> bool:
    return len(one_line(prefix + delivery.text)) <= SUBJECT_CHARS


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
    """Title: the source and the headline (`subject`). Body: the line (its attribution left
    out when the title holds it) and its link. An update is marked as such and says what
    changed; a follow-up ("also") says which other source reported the story too; a health
    alert is ticker speaking of a source."""
    if delivery.kind == "health":
        about = "channel" if delivery.attribution == CHANNEL_HEALTH else "source"
        return Message(title=f"ticker: {about} {delivery.source}", body=delivery.text)
    prefix = {"update": "Update: ", ALSO: f"Also: {delivery.source}: "}.get(
        delivery.kind, f"{delivery.source}: "
    )
    whole = _fits_whole(delivery, prefix)  # the title holds the line, attribution and all
    if delivery.kind == ALSO:  # a short follow-up: the story itself went out before
        body = f"also reported by {delivery.source}: {delivery.text}"
    else:
        body = _text(delivery) if whole else rtl_marked(delivery.text)
    if delivery.kind == "update" and delivery.changes:
        body += f"\nChanged: {delivery.changes}"
    if delivery.url:
        body += f"\n{delivery.url}"
    in_title = whole and delivery.kind != ALSO
    return Message(subject(prefix, delivery), _cap(body, MAX_BODY_CHARS), in_title)


def format_group(deliveries: Sequence[Delivery]) -> Message:
    """One message for a burst of lines of one attribution, listed in the site's order
    (newest first); `deliveries` come oldest first. Its title is the first one listed and
    how many more follow: "Hamas: first headline (+3 more)"."""
    if len(deliveries) == 1:
        return format_message(deliveries[0])
    items = [list_item(delivery) for delivery in reversed(deliveries)]
    title = burst_title(deliveries[-1], len(deliveries))
    return Message(title=title, body="\n".join(items))  # the outbox splits it to fit


def burst_title(newest: Delivery, count: int) -> str:
    """The title of a burst of `count` lines whose newest (listed first) is `newest`."""
    return subject("", newest, f" (+{count - 1} more)", keep_attribution=True)


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

    load_only(urls)
    with apprise_log():
        plugins = [apprise.Apprise.instantiate(url) for url in urls]
    return _limits(plugin for plugin in plugins if plugin is not None)


def _limits(plugins: Iterable[NotifyBase]) -> Limits:
    chars, lines = [], []
    for plugin in plugins:
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


# Apprise's records while ticker calls it, in this context (None: no call is capturing).
_captured: contextvars.ContextVar[list[Entry] | None] = contextvars.ContextVar(
    "ticker_apprise_log", default=None
)
# Apprise's lines that only repeat what ticker says itself (the URL it could not use).
_GENERIC = ("Could not load", "Unparseable", "An invalid URL", "Unsupported URL")


class _Fold(logging.Handler):
    """The one handler of Apprise's logger: a record made during a ticker call goes to that
    call's capture (`apprise_log`), where ticker reads the reason of a failure and folds it
    into its own one line; any other record is kept for -vv (DEBUG) only."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a record whose arguments do not fit its format
            self.handleError(record)
            return
        entries = _captured.get()
        if entries is not None:
            entries.append((record.levelname, message))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("apprise: %s", message)


_FOLD = _Fold()


@contextmanager
def apprise_log() -> Iterator[list[Entry]]:
    """Apprise's log records made in this block (in this thread, and in the threads Apprise
    starts from it), as (level name, message) entries, DEBUG included (Apprise logs what a
    server answered there). None of them reaches ticker's log handlers: ticker says what
    happened once, in its own words, with Apprise's reason in it (issue 15, finding 4:
    each of Apprise's lines was printed up to four times)."""
    apprise_logger = logging.getLogger("apprise")
    if _FOLD not in apprise_logger.handlers:
        apprise_logger.addHandler(_FOLD)
    apprise_logger.propagate = False  # its records are ticker's to tell, never printed raw
    if apprise_logger.getEffectiveLevel() > logging.DEBUG:
        apprise_logger.setLevel(logging.DEBUG)  # ticker.logs sets WARNING at start-up
    entries: list[Entry] = []
    token = _captured.set(entries)
    try:
        yield entries
    finally:
        _captured.reset(token)


def apprise_said(entries: Sequence[Entry]) -> str:
    """What Apprise's warnings and errors in `entries` say, less the lines that only name
    the URL ("Could not load E-Mail URL: ..."; Apprise's own masking of them shows part of
    the password): "Invalid ~From~ email specified: ..."; "" if nothing else."""
    said = [
        message
        for level, message in entries
        if level in ("WARNING", "ERROR") and not message.startswith(_GENERIC)
    ]
    return "; ".join(dict.fromkeys(said))


def _instantiate(url: str) -> tuple[NotifyBase | None, str]:
    """Apprise's plugin for `url`, or None and why not (see `unusable_reason`), with
    Apprise's log of the attempt kept out of ticker's log."""
    import apprise

    with apprise_log() as entries:
        plugin = apprise.Apprise.instantiate(url)
    if plugin is not None:
        return plugin, ""
    return None, _why_not(url, Redactor(secrets_in(url)).scrub(apprise_said(entries)))


def unusable_reason(url: str) -> str | None:
    """Why Apprise cannot use `url` (unknown scheme, missing parts, a service that needs
    something this machine lacks), redacted for display, with Apprise's own reason when it
    gave one ("Apprise cannot use mailto://...: Invalid ~From~ email specified: ..."); None
    if it can."""
    load_only((url,))
    return _instantiate(url)[1] or None


def _why_not(url: str, said: str) -> str:
    from apprise.manager_plugins import NotificationManager

    scheme = scheme_of(url)
    try:
        plugin = NotificationManager()[scheme]
    except KeyError:
        return f"Apprise cannot use {redact_url(url)} (unknown service)"
    if not plugin.enabled:
        hint = " (pip install 'ticker[desktop]'; see the README)" if scheme in DESKTOP else ""
        return f"{scheme}:// is not available on this machine{hint}"
    return f"Apprise cannot use {redact_url(url)}" + (f": {said}" if said else "")


def invalid_urls(urls: tuple[str, ...]) -> list[str]:
    """Why each URL Apprise cannot use is unusable (see `unusable_reason`)."""
    load_only(urls)
    return [reason for url in urls if (reason := _instantiate(url)[1])]


def escape_markup(body: str) -> str:
    """Desktop notification servers read the body as simple markup (<b>, <a>, &amp;):
    site text is escaped so it shows literally."""
    return html.escape(body, quote=False)


def _rendering(url: str, plugin: NotifyBase) -> str:
    """How a URL's service gets the body: "html" (e-mail: ticker's HTML part, Apprise
    derives the plain one), "markup" (desktop: escaped by ticker), "text" (everything
    else: Apprise escapes for the service's own markup, e.g. Telegram HTML)."""
    from apprise.plugins.email import NotifyEmail

    if scheme_of(url) in DESKTOP:
        return "markup"
    return "html" if isinstance(plugin, NotifyEmail) else "text"


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
        to be sent: a `ticker poll` with nothing to send never imports Apprise."""
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
        plugins, bad = [], []
        for url in channel.urls:
            plugin, why = _instantiate(url)
            if plugin is None:
                bad.append(self._redactor.scrub(why))
                continue
            # ticker paces each channel itself (bursts, max_per_minute, a 429's wait);
            # Apprise's own pause between two messages of one service (5.5 s for e-mail,
            # NotifyBase's default) would block the channel's sending on top of that: a
            # `ticker poll` sending 6 e-mails took 28 s (issue 15, finding 13).
            plugin.request_rate_per_sec = 0
            by_rendering.setdefault(_rendering(url, plugin), apprise.Apprise()).add(plugin)
            plugins.append(plugin)
        if bad:
            self._broken[channel.name] = "; ".join(bad)
        self._apprise[channel.name] = by_rendering
        self._limits[channel.name] = _limits(plugins)

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
        with apprise_log():  # each service's own log is read from its result
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


def chat_parts(message: Message) -> tuple[str, str]:
    """Title and body for a service that shows the title as the first line of the message
    (Telegram bolds it): the body without the headline the title holds whole, and a title
    with nothing left after it sent as the body alone (a message needs a body), so a line
    never shows twice."""
    if not message.headline_in_title:
        return message.title, message.body
    rest = message.body.partition("\n")[2]
    return (message.title, rest) if rest else ("", message.title)


def _send_one(obj: apprise.Apprise, rendering: str, message: Message) -> list[Reason]:
    """Send with one Apprise object; the reason of each of its services that failed.
    Apprise keeps each service's log of the call apart (its per-call capture follows the
    sending context), even when services are sent in parallel threads or two channels send
    at once, so one channel's failure never borrows another's words."""
    title, body = chat_parts(message) if rendering == "text" else (message.title, message.body)
    result = obj.notify(
        title=title,
        body=RENDERINGS[rendering][1](body),
        body_format=RENDERINGS[rendering][0],
        log_level=logging.DEBUG,
    )
    if result:
        return []
    failed = [service for service in result if not service]
    reasons = [classify([(e.level, e.message) for e in service.logs()]) for service in failed]
    return reasons or [classify([(e.level, e.message) for e in result.logs()])]
