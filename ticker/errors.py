"""The exception hierarchy. Raised deep, turned into one-line messages by the CLI."""

from __future__ import annotations


class TickerError(Exception):
    """Base of every error ticker raises on purpose."""


class ConfigError(TickerError):
    """The config file is missing, unreadable or invalid.

    The message always names the file, the field and what was expected.
    """

    def __init__(self, path: object, field: str | None, problem: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        where = f"{self.path}: {field}" if field else self.path
        super().__init__(f"{where}: {problem}")


class FetchError(TickerError):
    """A source could not be fetched: network error, timeout or HTTP error status.

    `reason` is a short machine-readable word (timeout, connect, http, blocked,
    rate-limited, too-many-redirects, redirect, content-type, encoding, invalid-url);
    `retry_after` is the server's Retry-After in seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class ParseError(TickerError):
    """A page was fetched but its ticker could not be found (the layout may have changed)."""


class DeliveryError(TickerError):
    """A channel refused or could not take a message."""
