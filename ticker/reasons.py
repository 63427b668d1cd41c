"""Why a service refused a message, in words, and whether trying again can help.

Apprise only answers yes or no; what happened is in what it logged during the send: the
exception text of smtplib ("Socket Exception: (554, b'5.7.1 ...')"), the HTTP status of a
web service ("..., error=403.") and the body the server answered ("Response Details: ...").
`classify` reads those entries (level, message) of one service's attempt. Pure: no I/O.

Permanent means the same message can never succeed: an SMTP 5xx reply, an HTTP 4xx other
than 408 (timeout), 425 (too early) and 429 (too many requests). Everything else (4xx SMTP
replies, 5xx HTTP answers, network errors, timeouts, TLS failures) is temporary.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from typing import NamedTuple
from urllib.parse import urlsplit

MAX_REASON_CHARS = 300
TEMPORARY_HTTP = {408, 425, 429}
_EXCEPTION = "Socket Exception: "
_DETAILS = "Response Details:"
_HTTP_STATUS = re.compile(r"error=(\d{3})\b")
_HTTP_TEXT = re.compile(r"^[^:]*?notification[^:]*: (?P<text>.*), error=\d{3}\.?$")
_PARTIAL_RECIPIENT = re.compile(
    r"^SMTP recipient (?P<who>\S+) was refused: (?P<code>\d{3}) (?P<text>.*)"
)
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)")
# smtplib's phases as Apprise announces them before the exception (plugins/email).
_LOGIN = "Applying user credentials"
_SENDING = "SMTP Host:"
_NETWORK = (
    (("certificate", "ssl", "tls"), "TLS failure"),
    (("timed out", "timeout"), "timeout"),
    (("connection refused",), "connection refused"),
    (
        ("name or service not known", "name resolution", "nodename nor servname", "getaddrinfo"),
        "host not found",
    ),
    (
        ("unexpectedly closed", "connection reset", "connection aborted", "remote end closed"),
        "connection closed by the server",
    ),
    (("smtp auth extension not supported",), "auth refused: the server offers no login"),
)
Entry = tuple[str, str]  # (level name, message) as Apprise logged it


class Reason(NamedTuple):
    """What happened, and whether trying the same message again cannot succeed."""

    text: str
    permanent: bool = False


def classify(entries: Sequence[Entry]) -> Reason:
    """The reason of one service's failed attempt, from what Apprise logged during it."""
    reasons = _signals(entries)
    if not reasons:
        return Reason(_fallback(entries))
    unique = list(dict.fromkeys(r.text for r in reasons))
    return Reason(_cap("; ".join(unique)), any(r.permanent for r in reasons))


def combine(reasons: Sequence[Reason]) -> Reason:
    """The reasons of a channel's services as one: permanent if any service refused for
    good (retrying would refuse again every time)."""
    text = "; ".join(dict.fromkeys(r.text for r in reasons))
    permanent = any(r.permanent for r in reasons)
    return Reason(_cap(text) or "the channel refused the message (no reason given)", permanent)


def _signals(entries: Sequence[Entry]) -> list[Reason]:
    """Every refusal the entries tell of, in order; SMTP replies read in the phase of the
    session Apprise last announced."""
    phase, found = "connect", list[Reason]()
    for index, (level, message) in enumerate(entries):
        if message.startswith(_LOGIN):
            phase = "login"
        elif message.startswith(_SENDING):
            phase = "send"
        elif message.startswith(_EXCEPTION):
            found.append(exception_reason(message[len(_EXCEPTION) :], phase))
        elif level in ("WARNING", "ERROR") and (match := _PARTIAL_RECIPIENT.match(message)):
            reply = _literal_bytes(match["text"])
            found.append(_smtp_reply("recipient refused", int(match["code"]), reply))
        elif level in ("WARNING", "ERROR") and (status := _HTTP_STATUS.search(message)):
            found.append(http_reason(int(status[1]), message, _details_after(entries, index)))
    return found


def exception_reason(text: str, phase: str = "send") -> Reason:
    """An smtplib (or network) exception's text as a reason. `phase` is where the SMTP
    session was: "connect", "login" or "send"."""
    value = _literal(text.strip())
    if isinstance(value, dict) and value:
        replies = [_smtp_reply("recipient refused", *_reply(v)) for v in value.values()]
        return Reason("; ".join(r.text for r in replies), all(r.permanent for r in replies))
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[0], int):
        code, reply = _reply(value)
        what = {"login": "auth refused", "connect": "session refused"}.get(phase, "message refused")
        if len(value) == 3:
            what = "sender refused"
        return _smtp_reply(what, code, reply)
    return Reason(network_reason(text))


def network_reason(text: str) -> str:
    """A connection-level failure named by what happened."""
    lowered = text.lower()
    for needles, name in _NETWORK:
        if any(needle in lowered for needle in needles):
            return f"TLS failure: {_tls_detail(text)}" if name == "TLS failure" else name
    return f"connection error: {_cap(text.strip(), 200)}"


_LIKELY_CAUSES = {
    "host not found": "{host} does not resolve: a typo in the URL, DNS not answering, "
    "or this machine is offline",
    "connection refused": "{host} refused the connection: nothing listens on {port}, "
    "or a firewall refuses it",
    "timeout": "{host} did not answer in time: the site or the network is down or slow",
    "connection closed by the server": "{host} closed the connection: the site may be "
    "overloaded or refusing ticker",
    # What httpx (anyio) says when every address refused or was unreachable.
    "all attempts failed": "{host} cannot be reached on {port}: the connection was "
    "refused (nothing listens there, or a firewall), or this machine is offline",
}


def unreachable(host: str, port: int | None, error: str) -> str | None:
    """What a connection error `error` (httpx's "ConnectError: [Errno -2] Name or service
    not known") most likely means, naming `host`: "example.org does not resolve: a typo
    in the URL, DNS not answering, or this machine is offline". None if `error` is no
    connection failure ticker can name (an HTTP status, a TLS failure: their text says)."""
    if not error.startswith(("ConnectError", "ConnectTimeout", "ReadError", "RemoteProtocol")):
        return None
    every = "all connection attempts failed" in error.lower()
    cause = _LIKELY_CAUSES.get("all attempts failed" if every else network_reason(error))
    if cause is None:
        return f"cannot reach {host}: check the URL and this machine's network"
    return cause.format(host=host, port=f"port {port}" if port else "its port")


def likely_cause(url: str, error: str) -> str | None:
    """What a source's connection `error` most likely means, naming the host of `url`
    (see `unreachable`); None if it is no connection failure."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return unreachable(parts.hostname or url, port, error)


def with_likely_cause(url: str, error: str) -> str:
    """A source's `error`, followed by its likely cause when it is a connection failure
    ("ConnectError: ...; example.org does not resolve: a typo in the URL, ...")."""
    cause = likely_cause(url, error)
    return f"{error}; {cause}" if cause else error


def http_reason(status: int, warning: str, details: str | None) -> Reason:
    """An HTTP service's refusal: the server's own description (Telegram's "Forbidden: bot
    was blocked by the user") and the status; permanent for 4xx but 408, 425, 429."""
    text = _description(details) or _warning_text(warning) or "refused"
    permanent = 400 <= status < 500 and status not in TEMPORARY_HTTP
    return Reason(_cap(f"{text} (HTTP {status})"), permanent)


def _smtp_reply(what: str, code: int, text: str) -> Reason:
    return Reason(_cap(f"{what} ({code} {' '.join(text.split())})"), 500 <= code < 600)


def _reply(value: object) -> tuple[int, str]:
    """(code, server text) of smtplib's (code, b'text'[, sender]) tuple."""
    if not isinstance(value, tuple) or len(value) < 2 or not isinstance(value[0], int):
        return 0, str(value)
    reply = value[1]
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return value[0], text


def _literal(text: str) -> object:
    """smtplib's exception text is the repr of a tuple or a dict; anything else is None."""
    if not text.startswith(("(", "{")):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _literal_bytes(text: str) -> str:
    """b'5.1.1 unknown' (a bytes repr, as Apprise formats smtplib's reply) as its text."""
    value = _literal_repr(text.strip())
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else text


def _literal_repr(text: str) -> object:
    if not text.startswith(("b'", 'b"')):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _details_after(entries: Sequence[Entry], index: int) -> str | None:
    for _level, message in entries[index + 1 : index + 4]:
        if message.startswith(_DETAILS):
            return message[len(_DETAILS) :].strip()
    return None


def _description(details: str | None) -> str | None:
    """The server's own words in an HTTP answer's body (JSON "description", "message",
    "error"...), or its first line if it is not JSON."""
    if not details:
        return None
    body = _literal_bytes(details)
    try:
        data = json.loads(body)
    except ValueError:
        line = " ".join(body.split())
        return _cap(line, 200) if line and "<" not in line[:1] else None
    if isinstance(data, dict):
        for key in ("description", "message", "error_description", "error", "detail"):
            if isinstance(data.get(key), str) and data[key].strip():
                return _cap(" ".join(data[key].split()), 200)
    return None


def _warning_text(warning: str) -> str | None:
    match = _HTTP_TEXT.match(warning.strip())
    return match["text"].strip() if match else None


def _tls_detail(text: str) -> str:
    return _cap(_SSL_LOCATION.sub("", text.strip()).rstrip("."), 200)


def _fallback(entries: Sequence[Entry]) -> str:
    lines = [message for level, message in entries if level in ("WARNING", "ERROR")]
    return _cap("; ".join(lines[-3:])) or "the channel refused the message (no reason given)"


def _cap(text: str, limit: int = MAX_REASON_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
