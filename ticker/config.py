"""Find, load and validate config.toml into frozen dataclasses.

Pure standard library on purpose: `ticker tail` loads the config to find the
database and must start fast.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ticker import __version__
from ticker.dburl import PostgresTarget, is_url
from ticker.errors import ConfigError
from ticker.redact import holds_credentials, redact_url, secrets_of_urls
from ticker.route import compile_pattern, parse_quiet_hours, timezone_named
from ticker.sources.kind import Kind
from ticker.sources.registry import kind_for, kind_names

DEFAULT_USER_AGENT = (
    f"ticker/{__version__} (breaking-news monitor; +https://pypi.org/project/ticker/)"
)
MIN_INTERVAL = 1.0
DEFAULT_MAX_PER_MINUTE = 20  # Telegram's limit for one group is about 20 messages a minute
MAX_INTERVAL = 86_400.0
ORDERS = ("newest-first", "oldest-first")  # how a site may list its ticker
DEFAULT_MAX_DELIVERY_AGE = 86_400.0  # an alert a day old is no news: expired or a late digest


@dataclass(frozen=True)
class Settings:
    """The [ticker] table: settings shared by every source and channel."""

    database: Path | PostgresTarget  # a SQLite file, or a postgresql:// database
    interval: float = 30.0
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0
    max_page_bytes: int = 5_000_000
    retention_days: int = 30
    health_failures: int = 5  # failed polls in a row before a health alert
    health_layout_failures: int = 3  # polls in a row without the ticker before a health alert
    lease_seconds: float | None = None  # replicas' lease ttl; None: ticker.replicas.lease_seconds


@dataclass(frozen=True)
class Source:
    """One [[source]]: a page whose BREAKING strip ticker polls."""

    name: str
    url: str
    kind: str = "html"
    # The kind's own keys (declared by the kind, ticker.sources), with their defaults.
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    interval: float = 30.0
    jitter: float = 3.0
    backfill: int = 0
    min_interval: float | None = None  # poll this often while the ticker is moving
    renamed_from: str | None = None  # the source's former name: its history is kept
    allow_private: bool = False  # follow redirects into loopback, private, link-local ranges
    order: str = "newest-first"  # how the site lists its ticker: "newest-first", "oldest-first"


@dataclass(frozen=True)
class Channel:
    """One [[channel]]: Apprise URLs and the sources whose alerts they receive."""

    name: str
    urls: tuple[str, ...] = field(repr=False)  # may hold passwords and tokens
    sources: tuple[str, ...] | None = None
    updates: str = "notify"  # "notify": send updates of a story, marked; "silent": only log
    group_window: float = 0.0  # seconds to hold alerts so a burst of one attribution is one message
    include: tuple[str, ...] = ()  # words or /regex/: only lines matching one of them
    exclude: tuple[str, ...] = ()  # words or /regex/: never lines matching one of them
    attributions: tuple[str, ...] = ()  # only lines with one of these attributions
    quiet_hours: str | None = None  # "23:00-07:00"
    quiet: str = "digest"  # during quiet hours: "digest" (hold, send one digest) or "drop"
    timezone: str | None = None  # IANA zone of quiet_hours; default: the machine's local time
    max_per_minute: int = DEFAULT_MAX_PER_MINUTE  # beyond it, one digest; 0: no limit
    health: bool = True  # receives alerts about sources that fail or lose their ticker
    max_delivery_age: float = DEFAULT_MAX_DELIVERY_AGE  # seconds; older alerts are late
    late: str = "expire"  # late alerts: "expire" (never sent) or "digest" (one, marked late)
    also: str = "silent"  # a story another source told first: "silent" (logged) or "notify"
    secrets: tuple[str, ...] = field(default=(), repr=False)  # values read from ${...}
    literal_secret: bool = False  # the config file itself holds a password or token

    def secret_parts(self) -> list[str]:
        """Everything in this channel's URLs that must never be shown."""
        return [*secrets_of_urls(self.urls), *self.secrets]

    def wants(self, source_name: str) -> bool:
        """True if alerts of `source_name` go to this channel."""
        return self.sources is None or source_name in self.sources


@dataclass(frozen=True)
class Dedupe:
    """The [dedupe] table: how re-posted lines are recognised as one story."""

    window_hours: float = 48.0
    threshold: float = 75.0
    aliases: tuple[tuple[str, ...], ...] = ()  # groups of names of one speaker
    # One story from several sources is one alert (README, "One story from several sources").
    across_sources: bool = True


DEFAULT_LISTEN = "127.0.0.1:8787"


@dataclass(frozen=True)
class Web:
    """The [web] table: where `ticker serve` listens and who may read it."""

    listen: str = DEFAULT_LISTEN  # "HOST:PORT"; a non-loopback host needs token or public
    token: str | None = field(default=None, repr=False)  # a secret: every request shows it
    public: bool = False  # no token off loopback: a reverse proxy authenticates
    in_run: bool = False  # `ticker run` serves it too (default: its own `ticker serve`)
    literal_secret: bool = False  # the config file itself holds the token


@dataclass(frozen=True)
class Config:
    """The whole validated configuration and the file it came from."""

    path: Path
    settings: Settings
    sources: tuple[Source, ...]
    channels: tuple[Channel, ...]
    dedupe: Dedupe = Dedupe()
    web: Web = Web()

    def source(self, name: str) -> Source:
        """The source called `name`; KeyError if there is none."""
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def secrets(self) -> list[str]:
        """Every secret of every channel, and the web token, for the redactor."""
        web = [self.web.token] if self.web.token else []
        database = self.settings.database
        if isinstance(database, PostgresTarget) and database.password:
            web.append(database.password)
        return [secret for channel in self.channels for secret in channel.secret_parts()] + web

    def channels_for(self, source_name: str) -> tuple[Channel, ...]:
        """The channels that receive alerts of `source_name`."""
        return tuple(c for c in self.channels if c.wants(source_name))


# --- finding the file -------------------------------------------------------------------


def candidate_paths(explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where ticker looks for its config, in order."""
    if explicit:
        return [Path(explicit)]
    if os.environ.get("TICKER_CONFIG"):
        return [Path(os.environ["TICKER_CONFIG"])]
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [
        Path("config.toml"),
        config_home / "ticker" / "config.toml",
        Path("/etc/ticker/config.toml"),
    ]


def existing_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to use: --config, else $TICKER_CONFIG (named: returned even if it
    is missing), else the first that exists; None if none was named and none exists."""
    candidates = candidate_paths(explicit)
    if explicit or os.environ.get("TICKER_CONFIG"):
        return candidates[0]
    return next((path for path in candidates if path.is_file()), None)


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: --config, else $TICKER_CONFIG, else the first that exists."""
    path = existing_config(explicit)
    if path is None:
        candidates = candidate_paths(explicit)
        tried = ", ".join(str(p) for p in candidates)
        raise ConfigError(candidates[0], None, f"no config file found (tried {tried})")
    return path


def command_line_database(value: str) -> Path | PostgresTarget:
    """The database a command line names (--database): a path, or a postgresql:// URL
    (its password in the URL, or PGPASSWORD, ~/.pgpass). Raises ConfigError."""
    if not is_url(value):
        return Path(value).expanduser()
    try:
        return PostgresTarget.parse(value)
    except ValueError as exc:
        raise ConfigError("--database", None, str(exc)) from None


def reading_database(
    database: str | os.PathLike[str] | None, explicit: str | os.PathLike[str] | None = None
) -> tuple[Config | None, Path | PostgresTarget]:
    """For the commands that only read the database (tail, status): the config, if one
    was named or is found (secrets left unread), and the database to read: `database`
    (--database) if given, else the config's, else the default path (default_database:
    $STATE_DIRECTORY under systemd, else the XDG data directory). No config is needed.
    Raises ConfigError for a config that was found or named but is invalid."""
    path = existing_config(explicit)
    config = load_config(path, secrets=False) if path is not None else None
    if database is not None:
        return config, command_line_database(str(database))
    return config, config.settings.database if config is not None else default_database()


def load_config(explicit: str | os.PathLike[str] | None = None, *, secrets: bool = True) -> Config:
    """Find, read and validate the config. Raises ConfigError naming file and field.

    With `secrets=False`, ${...} references in channel URLs are left as written: commands
    that only read the database (tail, status) need no token and may run where the
    secrets are not readable (outside the service's credentials)."""
    path = find_config(explicit)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(path, None, "not valid UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}") from None
    config = parse_config(data, path, secrets=secrets)
    _warn_if_exposed(config)
    return config


def _warn_if_exposed(config: Config) -> None:
    literal = [channel.literal_secret for channel in config.channels]
    if not any([*literal, config.web.literal_secret]):
        return
    try:
        mode = config.path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s holds passwords or tokens and is readable by other users: "
            "chmod 600 it, or use ${ENV_VAR} / ${file:/path} / ${credential:NAME}",
            config.path,
        )


# --- validation -------------------------------------------------------------------------

Check = Callable[[Any], bool]


@dataclass(frozen=True)
class Field:
    """How one key is validated: a check and the words that say what is expected."""

    check: Check
    expected: str
    secret: bool = False  # the value may hold passwords: echo it only redacted


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _bounded(what: str, minimum: float, maximum: float, note: str) -> str:
    """The words for a bounded number: what it is, then its bounds, then what it means
    ("an integer between 0 and 500 (lines to alert on the first poll)"). `what` names
    only the type and unit: the bounds are said once, here, never inside `what`."""
    words = f"{what} between {_figure(minimum)} and {_figure(maximum)}"
    return f"{words} ({note})" if note else words


def _figure(value: float) -> str:
    """A bound as people write it: 100000000, not 1e+08; 0.5 stays 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _number(minimum: float, maximum: float, what: str, note: str = "") -> Field:
    """A finite number in [minimum, maximum]: an infinite interval would crash the scheduler."""

    def check(value: Any) -> bool:
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        return is_number and minimum <= value <= maximum

    return Field(check, _bounded(what, minimum, maximum, note))


def _integer(minimum: int, maximum: int, what: str, note: str = "") -> Field:
    def check(value: Any) -> bool:
        return (
            isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum
        )

    return Field(check, _bounded(what, minimum, maximum, note))


def _is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > 8


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(_is_str(v) for v in value)


def _is_alias_groups(value: Any) -> bool:
    return isinstance(value, list) and all(_is_str_list(g) and len(g) >= 2 for g in value)


def _is_url_list(value: Any) -> bool:
    return _is_str_list(value) and len(value) > 0 and all("://" in v for v in value)


TICKER_FIELDS: dict[str, Field] = {
    "database": Field(
        _is_str, 'a file path, or a URL "postgresql://user@host/dbname" (string)', secret=True
    ),
    "interval": _number(MIN_INTERVAL, MAX_INTERVAL, "a number of seconds"),
    "user_agent": Field(_is_str, "a non-empty string"),
    "timeout": _number(1, 600, "a number of seconds"),
    "max_page_bytes": _integer(10_000, 100_000_000, "an integer number of bytes"),
    "retention_days": _integer(1, 3650, "an integer number of days"),
    "health_failures": _integer(1, 1000, "an integer number of polls"),
    "health_layout_failures": _integer(1, 1000, "an integer number of polls"),
    "lease_seconds": _number(2, 3600, "a number of seconds", "a replica's lease on PostgreSQL"),
}
SOURCE_FIELDS: dict[str, Field] = {
    "name": Field(_is_str, "a non-empty string"),
    "url": Field(_is_http_url, "an http:// or https:// URL"),
    "kind": Field(lambda v: v in kind_names(), "one of the kinds"),  # see _kind_field
    "interval": _number(MIN_INTERVAL, MAX_INTERVAL, "a number of seconds"),
    "jitter": _number(0, 3600, "a number of seconds"),
    "backfill": _integer(0, 500, "an integer", "lines to alert on the first poll"),
    "min_interval": _number(MIN_INTERVAL, MAX_INTERVAL, "a number of seconds"),
    "renamed_from": Field(_is_str, "the source's former name (string)"),
    "allow_private": Field(lambda v: isinstance(v, bool), "true or false"),
    "order": Field(lambda v: v in ORDERS, " or ".join(f'"{o}"' for o in ORDERS)),
}
CHANNEL_FIELDS: dict[str, Field] = {
    "name": Field(_is_str, "a non-empty string"),
    "urls": Field(
        _is_url_list, 'a non-empty list of Apprise URLs, e.g. ["mailto://..."]', secret=True
    ),
    "sources": Field(_is_str_list, "a list of source names"),
    "updates": Field(lambda v: v in ("notify", "silent"), '"notify" or "silent"'),
    "group_window": _number(0, 3600, "a number of seconds"),
    "include": Field(_is_str_list, 'a list of words or "/regex/"'),
    "exclude": Field(_is_str_list, 'a list of words or "/regex/"'),
    "attributions": Field(_is_str_list, 'a list of attributions, e.g. ["Hamas"]'),
    "quiet_hours": Field(_is_str, 'a time range "HH:MM-HH:MM", e.g. "23:00-07:00"'),
    "quiet": Field(lambda v: v in ("digest", "drop"), '"digest" or "drop"'),
    "timezone": Field(_is_str, 'an IANA time zone name, e.g. "Asia/Beirut"'),
    "max_per_minute": _integer(0, 1000, "an integer", "messages a minute; 0: no limit"),
    "health": Field(lambda v: isinstance(v, bool), "true or false"),
    "max_delivery_age": _number(60, 7 * 86_400, "a number of seconds"),
    "late": Field(lambda v: v in ("expire", "digest"), '"expire" or "digest"'),
    "also": Field(lambda v: v in ("notify", "silent"), '"notify" or "silent"'),
}
DEDUPE_FIELDS: dict[str, Field] = {
    "window_hours": _number(0, 24 * 365, "a number of hours"),
    "threshold": _number(50, 100, "a similarity in percent"),
    "aliases": Field(
        _is_alias_groups,
        'a list of lists of 2+ names of one speaker, e.g. [["Yemeni Armed Forces", "YAF"]]',
    ),
    "across_sources": Field(lambda v: isinstance(v, bool), "true or false"),
}
WEB_FIELDS: dict[str, Field] = {
    "listen": Field(lambda v: _is_str(v) and ":" in v, 'an address "HOST:PORT"'),
    "token": Field(_is_str, "a string (or a ${...} reference)", secret=True),
    "public": Field(lambda v: isinstance(v, bool), "true or false"),
    "in_run": Field(lambda v: isinstance(v, bool), "true or false"),
}
TOP_LEVEL = {"ticker", "source", "channel", "dedupe", "web"}


def _check_keys(
    table: Mapping[str, Any],
    allowed: Mapping[str, Any] | set[str],
    path: Path,
    where: str,
    kind: Kind | None = None,
) -> None:
    """Every key of `table` is allowed; a source's `kind` adds its own keys."""
    kind_keys = [key.name for key in kind.keys] if kind is not None else []
    for key in table:
        if key not in allowed and key not in kind_keys:
            close = difflib.get_close_matches(key, [*allowed, *kind_keys], n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            known = ", ".join(sorted(allowed))
            if kind is not None:
                known += f'; and for kind "{kind.name}": ' + (", ".join(kind_keys) or "none")
            raise ConfigError(path, f"{where}{key}", f"unknown key{hint}; known keys: {known}")


def _redacted(value: Any) -> str:
    if isinstance(value, str):
        return repr(redact_url(value))
    if isinstance(value, list):
        return repr([redact_url(v) if isinstance(v, str) else v for v in value])
    return repr(value)


def _validated(
    table: Any,
    fields: dict[str, Field],
    required: set[str],
    path: Path,
    where: str,
    kind: Kind | None = None,
) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(path, where.rstrip("."), "expected a table")
    _check_keys(table, fields, path, where, kind)
    if kind is not None:
        fields = {**fields, **_kind_fields(kind)}
        required = required | {key.name for key in kind.keys if key.required}
    for key in sorted(required - table.keys()):
        raise ConfigError(path, f"{where}{key}", f"missing; expected {fields[key].expected}")
    for key, value in table.items():
        if not fields[key].check(value):
            shown = _redacted(value) if fields[key].secret else repr(value)
            raise ConfigError(
                path, f"{where}{key}", f"expected {fields[key].expected}, got {shown}"
            )
    return dict(table)


def _array_of_tables(data: Mapping[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(path, key, f"expected [[{key}]] tables")
    return value


def default_database() -> Path:
    """$STATE_DIRECTORY/ticker.db under systemd, else the XDG data directory."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0]) / "ticker.db"
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return data_home / "ticker" / "ticker.db"


def _database_path(
    value: str | None, config_path: Path, resolve: bool = True
) -> Path | PostgresTarget:
    if value is None:
        return default_database()
    if is_url(value):
        return _postgres_target(value, config_path, resolve)
    database = Path(os.path.expandvars(value)).expanduser()
    if database.is_absolute():
        return database
    state = os.environ.get("STATE_DIRECTORY")
    base = Path(state.split(":")[0]) if state else config_path.resolve().parent
    return base / database


def _postgres_target(value: str, path: Path, resolve: bool) -> PostgresTarget:
    """`[ticker] database` as a PostgreSQL database: its password may be a ${ENV_VAR},
    ${file:...} or ${credential:...} reference in the URL (postgresql://user:${file:/p}@h/db),
    read as a channel's secrets are, or left to libpq (PGPASSWORD, ~/.pgpass). Without
    `resolve` (the reading commands), a reference that cannot be read is left to libpq too."""
    try:
        expanded, _found = expand_secrets(value, path, "ticker.database")
    except ConfigError:
        if resolve:
            raise
        expanded = _REFERENCE.sub("", value)
    try:
        return PostgresTarget.parse(expanded)
    except ValueError as exc:
        raise ConfigError(path, "ticker.database", f"{exc}; got {redact_url(value)}") from None


def _parse_settings(data: Mapping[str, Any], path: Path, resolve: bool = True) -> Settings:
    table = _validated(data.get("ticker", {}), TICKER_FIELDS, set(), path, "ticker.")
    database = _database_path(table.pop("database", None), path, resolve)
    return Settings(database=database, **{k: v for k, v in table.items()})


def _kind_field() -> Field:
    """The `kind` key: one of the registered kinds (read when used: tests register more)."""
    names = kind_names()
    return Field(lambda v: v in names, "one of: " + ", ".join(names))


def _kind_fields(kind: Kind) -> dict[str, Field]:
    """The fields of `kind`'s declared keys; their errors name the kind."""
    return {
        key.name: Field(key.accepts, f'{key.expectation()} for kind "{kind.name}"')
        for key in kind.keys
    }


def _source_kind(table: Any, path: Path, where: str) -> Kind:
    """The kind a source table names ("html" if none)."""
    if not isinstance(table, dict):
        raise ConfigError(path, where.rstrip("."), "expected a table")
    name = table.get("kind", "html")
    field = _kind_field()
    if not field.check(name):
        raise ConfigError(path, f"{where}kind", f"expected {field.expected}, got {name!r}")
    return kind_for(name)


def _parse_source(table: Any, index: int, settings: Settings, path: Path) -> Source:
    where = f"source[{index}]."
    if isinstance(table, dict) and _is_str(table.get("name")):
        where = f'source[{index}] ("{table["name"]}").'
    kind = _source_kind(table, path, where)
    values = _validated(table, SOURCE_FIELDS, {"name", "url"}, path, where, kind)
    options = {key.name: values.pop(key.name, key.default) for key in kind.keys}
    values["kind"] = kind.name
    values.setdefault("interval", settings.interval)
    values.setdefault("jitter", min(3.0, values["interval"] / 10))
    if values.get("min_interval", 0) > values["interval"]:
        raise ConfigError(
            path,
            f"{where}min_interval",
            f"expected at most the interval ({values['interval']:g} s), "
            f"got {values['min_interval']!r}",
        )
    problem = kind.check(options, values["url"])
    if problem is not None:
        raise ConfigError(path, f"{where}{problem[0]}", f'{problem[1]} (kind "{kind.name}")')
    return Source(**values, options=options)


def command_line_source(
    url: str, kind: str, options: Mapping[str, str], settings: Settings
) -> Source:
    """The source `ticker poll --dry-run URL --kind K --option KEY=VALUE` describes,
    validated as a [[source]] table is. An option's text is read as the TOML value it
    spells when that is a number or true/false ("5", "true") and the key is no kind key
    declared as text; else it stays text. Raises ConfigError naming "(command line)",
    the option and what is expected."""
    path = Path("(command line)")
    table: dict[str, Any] = {"name": "dry-run", "url": url, "kind": kind}
    texts = set()
    if _kind_field().check(kind):
        texts = {key.name for key in kind_for(kind).keys if key.type is str}
    for name, text in options.items():
        table[name] = text if name in texts else _scalar(text)
    try:
        return _parse_source(table, 0, settings, path)
    except ConfigError as exc:
        field = (exc.field or "").removeprefix('source[0] ("dry-run").')
        flag = "--kind" if field == "kind" else f"--option {field}"
        raise ConfigError(path, flag, exc.problem) from None


def _scalar(text: str) -> Any:
    """`text` as the TOML number or boolean it spells, else `text` itself."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, bool | int | float) else text


_REFERENCE = re.compile(r"\$\{(?:(?P<kind>file|credential):)?(?P<name>[^}]+)\}")
log = logging.getLogger(__name__)


def _read_secret(kind: str | None, name: str, path: Path, where: str) -> str:
    if kind is None:
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(path, where, f"environment variable {name} is not set")
        return value.strip()
    if kind == "credential":
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise ConfigError(
                path,
                where,
                f"${{credential:{name}}} needs $CREDENTIALS_DIRECTORY "
                "(set by systemd's LoadCredential=)",
            )
        secret_file = Path(directory) / name
    else:
        secret_file = Path(name).expanduser()
    try:
        return secret_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ConfigError(path, where, f"cannot read secret file {secret_file}: {reason}") from None


def expand_secrets(url: str, path: Path, where: str) -> tuple[str, list[str]]:
    """`url` with ${ENV_VAR}, ${file:/path} and ${credential:NAME} replaced by their values,
    and the values (to be redacted wherever ticker prints or logs)."""
    found: list[str] = []

    def value(match: re.Match[str]) -> str:
        secret = _read_secret(match["kind"], match["name"], path, where)
        found.append(secret)
        return secret

    return _REFERENCE.sub(value, url), found


_RULE_CHECKS: dict[str, Callable[[str], object]] = {
    "include": compile_pattern,
    "exclude": compile_pattern,
    "quiet_hours": parse_quiet_hours,
    "timezone": timezone_named,
}


def _check_rules(values: Mapping[str, Any], path: Path, where: str) -> None:
    """Routing rules that type checks cannot judge: regexes, time ranges, zone names."""
    for key, check in _RULE_CHECKS.items():
        entries = values.get(key, [])
        for entry in entries if isinstance(entries, list) else [entries]:
            try:
                check(entry)
            except ValueError as exc:
                raise ConfigError(path, f"{where}{key}", f"{exc}; got {entry!r}") from None


def _parse_channel(
    table: Any, index: int, source_names: set[str], path: Path, resolve: bool = True
) -> Channel:
    where = f"channel[{index}]."
    if isinstance(table, dict) and _is_str(table.get("name")):
        where = f'channel[{index}] ("{table["name"]}").'
    values = _validated(table, CHANNEL_FIELDS, {"name", "urls"}, path, where)
    for name in values.get("sources", []):
        if name not in source_names:
            raise ConfigError(
                path,
                f"{where}sources",
                f'unknown source "{name}"; known: {", ".join(sorted(source_names))}',
            )
    _check_rules(values, path, where)
    sources = values.pop("sources", None)
    for key in ("include", "exclude", "attributions"):
        if key in values:
            values[key] = tuple(values[key])
    urls, secrets, literal = [], [], False
    for url in values.pop("urls"):
        literal = literal or holds_credentials(_REFERENCE.sub("", url))
        expanded, found = expand_secrets(url, path, f"{where}urls") if resolve else (url, [])
        urls.append(expanded)
        secrets.extend(found)
    return Channel(
        **values,
        urls=tuple(urls),
        sources=tuple(sources) if sources is not None else None,
        secrets=tuple(secrets),
        literal_secret=literal,
    )


def _unique_names(items: Sequence[Source | Channel], kind: str, path: Path) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        if item.name in seen:
            raise ConfigError(
                path,
                f"{kind}[{index}].name",
                f'duplicate name "{item.name}"; each {kind} needs its own',
            )
        seen.add(item.name)


def _check_renames(sources: Sequence[Source], path: Path) -> None:
    """Each `renamed_from` names a former source: no configured source is called that,
    and no two sources claim the same history."""
    names = {source.name for source in sources}
    claimed: set[str] = set()
    for index, source in enumerate(sources, start=1):
        old = source.renamed_from
        if old is None:
            continue
        where = f'source[{index}] ("{source.name}").renamed_from'
        if old in names:
            raise ConfigError(
                path, where, f'"{old}" is a configured source; expected a former name'
            )
        if old in claimed:
            raise ConfigError(path, where, f'"{old}" is claimed by another source too')
        claimed.add(old)


def require_sources(config: Config) -> None:
    """Raise ConfigError if `config` has no [[source]]: it would poll nothing, and alert
    nothing, while every check said OK."""
    if not config.sources:
        raise ConfigError(
            config.path,
            "source",
            "no [[source]] table, so there is nothing to poll; add one "
            "(name, url, and the keys of its kind: see `ticker kinds`)",
        )


def parse_config(data: Mapping[str, Any], path: Path, *, secrets: bool = True) -> Config:
    """Validate already-parsed TOML. Raises ConfigError on the first problem found."""
    _check_keys(data, TOP_LEVEL, path, "")
    settings = _parse_settings(data, path, secrets)
    sources = tuple(
        _parse_source(t, i, settings, path)
        for i, t in enumerate(_array_of_tables(data, "source", path), start=1)
    )
    _unique_names(sources, "source", path)
    _check_renames(sources, path)
    names = {s.name for s in sources}
    channels = tuple(
        _parse_channel(t, i, names, path, secrets)
        for i, t in enumerate(_array_of_tables(data, "channel", path), start=1)
    )
    _unique_names(channels, "channel", path)
    values = _validated(data.get("dedupe", {}), DEDUPE_FIELDS, set(), path, "dedupe.")
    values["aliases"] = tuple(tuple(group) for group in values.get("aliases", ()))
    dedupe = Dedupe(**values)
    return Config(path, settings, sources, channels, dedupe, _parse_web(data, path, secrets))


def _parse_web(data: Mapping[str, Any], path: Path, resolve: bool) -> Web:
    """The [web] table; its token's ${...} references are read only when `resolve`."""
    values = _validated(data.get("web", {}), WEB_FIELDS, set(), path, "web.")
    token = values.pop("token", None)
    if token is None:
        return Web(**values)
    literal = _REFERENCE.sub("", token) != ""
    web = Web(**values, token=token, literal_secret=literal)
    return Web(**values, token=web_token(web, path), literal_secret=literal) if resolve else web


MIN_TOKEN_CHARS = 16  # guessing it over the network must be hopeless


def web_token(web: Web, path: Path) -> str | None:
    """The [web] token with its ${ENV_VAR}, ${file:...}, ${credential:...} references read
    (`ticker serve` reads it so even where the channels' secrets are not readable).
    Raises ConfigError for a token shorter than MIN_TOKEN_CHARS."""
    if web.token is None:
        return None
    token, _found = expand_secrets(web.token, path, "web.token")
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(path, "web.token", f"expected {MIN_TOKEN_CHARS}+ characters")
    return token
