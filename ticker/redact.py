"""Keep secrets out of everything ticker prints or logs.

Apprise URLs carry passwords and tokens (mailto://user:PASSWORD@host, tgram://TOKEN/chat).
`redact_url` shows a URL safely; `secrets_in` lists the parts to hide; `Redactor` scrubs
them from any text (ticker.logs applies it to every formatted log line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

MASK = "***"
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>[^?#]*)(?P<query>\?[^#]*)?")
_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]*\.[A-Za-z]{2,}$|^\d+\.\d+\.\d+\.\d+$|^localhost$")
_MIN_SECRET = 4  # shorter fragments would mask ordinary words in log lines
# An e-mail address (or a comma-separated list of them) is where mail goes, not a secret:
# shown, so that `config check` confirms it. Recipients of mailto:// in the path too.
_ADDRESS = re.compile(r"^[^@\s:/,]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_MAIL_SCHEMES = ("mailto", "mailtos")
_ADDRESS_KEYS = ("from", "to", "cc", "bcc", "reply")
# A database URL (`[ticker] database`) names where the database is, not a secret: only its
# password (user:PASSWORD@ or ?password=) is one.
_DATABASE_SCHEMES = ("postgresql", "postgres")


def _split(url: str) -> tuple[str, str, str, str] | None:
    match = _URL.match(url.strip())
    if not match:
        return None
    rest = match["rest"]
    authority, _, path = rest.partition("/")
    return match["scheme"], authority, path, (match["query"] or "")[1:]


def is_addresses(value: str) -> bool:
    """True if `value` is one e-mail address or a comma-separated list of them."""
    parts = [part.strip() for part in unquote(value).split(",")]
    return all(_ADDRESS.match(part) for part in parts)


def _shown_segment(scheme: str, segment: str) -> bool:
    return scheme.lower() in _MAIL_SCHEMES and is_addresses(segment)


def _shown_value(key: str, value: str) -> bool:
    return key.lower() in _ADDRESS_KEYS and is_addresses(value)


def secrets_in(url: str) -> list[str]:
    """The parts of `url` that may be secret: password, tokens in host or path, query values."""
    parts = _split(url)
    if parts is None:
        return [url] if len(url) >= _MIN_SECRET else []
    scheme, authority, path, query = parts
    found: list[str] = []
    userinfo, at, host = authority.rpartition("@")
    if at:
        _user, colon, password = userinfo.partition(":")
        if colon and password:
            found.append(password)
    if scheme.lower() in _DATABASE_SCHEMES:
        found += [
            v for k, _eq, v in (p.partition("=") for p in query.split("&")) if k == "password"
        ]
        found += [unquote(s) for s in found if unquote(s) != s]
        return [s for s in found if s]
    host = host.split(":")[0] if _HOSTNAME.match(host.split(":")[0]) else host
    if not _HOSTNAME.match(host):
        found.append(host)
    found.extend(s for s in path.split("/") if s and not _shown_segment(scheme, s))
    for pair in query.split("&"):
        _key, eq, value = pair.partition("=")
        if eq and value and "@" not in value:
            found.append(value)
    found += [unquote(s) for s in found if unquote(s) != s]
    return [s for s in found if len(s) >= _MIN_SECRET]


def redact_url(url: str) -> str:
    """`url` with its secrets masked: scheme, user and host name stay readable."""
    parts = _split(url)
    if parts is None:
        return MASK
    scheme, authority, path, query = parts
    userinfo, at, host = authority.rpartition("@")
    user = userinfo.partition(":")[0]
    if scheme.lower() in _DATABASE_SCHEMES:
        return _redact_database_url(scheme, user, ":" in userinfo, at, host, path, query)
    shown_host = host if _HOSTNAME.match(host.split(":")[0]) else (MASK if host else "")
    shown = f"{scheme}://"
    if at:
        shown += f"{user}:{MASK}@" if ":" in userinfo else f"{user}@"
    shown += shown_host
    if path:
        segments = [s if _shown_segment(scheme, s) else MASK for s in path.split("/") if s]
        shown += "/" + ("/".join(dict.fromkeys(segments)) if segments else MASK)
    if query:
        pairs = [pair.partition("=") for pair in query.split("&") if pair]
        shown += "?" + "&".join(
            f"{key}={value if _shown_value(key, value) else MASK}" for key, _eq, value in pairs
        )
    return shown


def _redact_database_url(
    scheme: str, user: str, has_password: bool, at: str, host: str, path: str, query: str
) -> str:
    """A postgresql:// URL with only its password masked."""
    shown = f"{scheme}://"
    if at:
        shown += f"{user}:{MASK}@" if has_password else f"{user}@"
    shown += host + (f"/{path}" if path else "")
    if query:
        pairs = [pair.partition("=") for pair in query.split("&") if pair]
        shown += "?" + "&".join(
            f"{key}={MASK if key == 'password' else value}" for key, _eq, value in pairs
        )
    return shown


class Redactor:
    """Replaces every known secret in a text by ***."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._pattern: re.Pattern[str] | None = None
        self.update(secrets)

    def update(self, secrets: Iterable[str]) -> None:
        """Replace the set of secrets to hide."""
        unique = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, unique))) if unique else None

    def scrub(self, text: str) -> str:
        """`text` with every secret masked."""
        return self._pattern.sub(MASK, text) if self._pattern else text


def secrets_of_urls(urls: Iterable[str]) -> list[str]:
    """Every secret part of every URL."""
    return [secret for url in urls for secret in secrets_in(url)]


CREDENTIAL_LENGTH = 20  # API tokens and keys are long; chat ids and topics are not


def holds_credentials(url: str) -> bool:
    """True if `url` itself holds a password or a token-like part (not a ${...} reference)."""
    parts = _split(url)
    if parts is None:
        return False
    userinfo = parts[1].rpartition("@")[0]
    has_password = bool(userinfo.partition(":")[2])
    return has_password or any(len(secret) >= CREDENTIAL_LENGTH for secret in secrets_in(url))
