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
    rate-limited, too-many-redirects, redirect, content-type, encoding, invalid-url,
    trust-store);
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


class StoreError(TickerError):
    """The database cannot be used. `path` is the database file, `problem` what is wrong
    with it, in words for the user; the message names both."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DatabaseMissing(StoreError, FileNotFoundError):
    """There is no database yet (reading commands need one). A FileNotFoundError too, for
    callers that only ask whether the file is there."""

    def __init__(self, path: object) -> None:
        StoreError.__init__(self, path, "no database yet")


class DatabaseUnusable(StoreError):
    """The database file cannot be used as it is: not a SQLite file, truncated, a
    directory, read-only, a newer or unknown schema. Found before anything was written."""


class DatabaseBroken(StoreError):
    """The database went bad under a running process: an integrity error (a damaged page),
    an I/O error, or the file deleted or replaced. Going on would record and send nothing
    (or write into a deleted file), so the process stops."""


class DatabaseInUse(StoreError):
    """Another ticker process holds the database (see ticker.instance). `holder` says who,
    in words ("ticker run (pid 1234 on host, since ...)"); `command` is its command ("run",
    "poll"), None if unknown."""

    def __init__(self, path: object, holder: str, command: str | None = None) -> None:
        self.holder = holder
        self.command = command
        self.path = str(path)
        self.problem = f"is in use by {holder}; stop it first"
        TickerError.__init__(self, f"{self.path} {self.problem}")


class DatabaseUnreachable(StoreError):
    """A database server (PostgreSQL) cannot be reached, or ended the connection. A replica
    that sees it stops polling and sending (its view of leases and alerts may be stale)
    until it reconnects; its leases expire and the other replicas take its sources. `path`
    is where the database is (host, port, database name; never a password)."""


class DatabaseQueryFailed(StoreError):
    """A database server (PostgreSQL) refused a statement: a deadlock, a serialization
    failure, a constraint, a query canceled. The connection still works; the operation did
    not land (its transaction was rolled back) and may be tried again. `sqlstate` is the
    server's code ("40P01"), "" if none."""

    def __init__(self, path: object, problem: str, sqlstate: str = "") -> None:
        super().__init__(path, problem)
        self.sqlstate = sqlstate


class DatabaseMaintenanceElsewhere(StoreError):
    """A maintenance command of SQLite's (`ticker db check`, `db backup`) asked of a
    PostgreSQL database, whose integrity and backups are PostgreSQL's own job."""
