"""What names a PostgreSQL database: `[ticker] database = "postgresql://user@host/db"`.

Light on purpose (the standard library only): config.py and every command import it, and a
SQLite user's `ticker tail` must not pay for the PostgreSQL engine (ticker.pg) or psycopg.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

SCHEMES = ("postgresql", "postgres")


def is_url(value: str) -> bool:
    """Whether `value` names a PostgreSQL database (postgresql:// or postgres://)."""
    scheme, sep, _rest = value.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL database: `url` without its password, and the password apart (None:
    libpq finds one itself, in PGPASSWORD or ~/.pgpass, or needs none). `str()` is the
    URL, safe to print."""

    url: str
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, value: str, password: str | None = None) -> PostgresTarget:
        """The database that URL `value` names; a password in it (user:PASSWORD@ or
        ?password=) is taken out of the URL. Raises ValueError saying what is wrong."""
        parts = urlsplit(value.strip())
        if parts.scheme.lower() not in SCHEMES:
            raise ValueError("expected a postgresql://user@host/dbname URL")
        query = parse_qsl(parts.query, keep_blank_values=True)
        found = [v for k, v in query if k == "password"]
        query = [(k, v) for k, v in query if k != "password"]
        userinfo, at, hostport = parts.netloc.rpartition("@")
        user, colon, secret = userinfo.partition(":")
        if colon and secret:
            found.insert(0, unquote(secret))
        if not (parts.path.strip("/") or any(k == "dbname" for k, _ in query)):
            raise ValueError("expected a database name: postgresql://user@host/dbname")
        netloc = f"{user}@{hostport}" if at else hostport
        url = urlunsplit(("postgresql", netloc, parts.path, urlencode(query, safe="/"), ""))
        return cls(url, password if password is not None else (found[0] if found else None))

    @classmethod
    def from_conninfo(cls, conninfo: str) -> PostgresTarget:
        """The database a libpq "key=value ..." string names (the tests' servers)."""
        params = dict(item.split("=", 1) for item in conninfo.split())
        password = params.pop("password", None)
        user = quote(params.pop("user", ""), safe="")
        dbname = quote(params.pop("dbname", ""), safe="")
        netloc = f"{user}@" if user else ""
        url = urlunsplit(("postgresql", netloc, f"/{dbname}", urlencode(params, safe="/"), ""))
        return cls(url, password)

    def __str__(self) -> str:
        return self.url

    def conninfo(self) -> str:
        """What psycopg (and ticker.leases.connect) takes, with the password: never print it."""
        from psycopg.conninfo import make_conninfo

        extra = {"password": self.password} if self.password is not None else {}
        return make_conninfo(self.url, **extra)


Database = Path | PostgresTarget  # what `[ticker] database` holds, and Store.open takes
