"""The `ticker` command. Each command is a thin shell over library functions; this is the
one place where errors become messages for people and exit statuses.

Heavy imports (asyncio, httpx, APScheduler, Apprise) happen inside the commands that need
them, so `ticker tail` starts fast.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ticker import __version__
from ticker.config import Channel, Config, Source, command_line_source, load_config, require_sources
from ticker.dburl import Database
from ticker.errors import (
    ConfigError,
    DatabaseBroken,
    DatabaseInUse,
    DatabaseMaintenanceElsewhere,
    DatabaseMissing,
    DatabaseUnusable,
    ParseError,
    StoreError,
    TickerError,
)
from ticker.lines import Line
from ticker.logs import set_level, setup_logging
from ticker.reasons import with_likely_cause
from ticker.redact import redact_url
from ticker.route import describe
from ticker.sources import kind_for, kind_names
from ticker.sources.kind import TYPE_WORDS, Key
from ticker.store import DATABASE_ERRORS, SCHEMA_VERSION, Store

if TYPE_CHECKING:
    import socket

    from ticker.instance import InstanceLock

log = logging.getLogger(__name__)
EXIT_FAILURE = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3  # the database file cannot be used, or went bad while running
EXIT_IN_USE = 4  # another ticker process holds the database (ticker.instance)


class UserError(click.ClickException):
    """An error shown as one line, `ticker: error: ...`, with its own exit status."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance

    def show(self, file: Any = None) -> None:
        click.echo(f"ticker: error: {self.format_message()}", err=True)


def _fail(exc: Exception) -> NoReturn:
    raise UserError(str(exc), _exit_code(exc)) from None


def _exit_code(exc: Exception) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, DatabaseUnusable | DatabaseBroken):
        return EXIT_DATABASE
    if isinstance(exc, DatabaseInUse) and exc.command != "poll":
        return EXIT_IN_USE  # a poll ends by itself: trying again later (exit 1) works
    return EXIT_FAILURE


def _database_error(database: Database, exc: BaseException, doing: str = "use") -> NoReturn:
    """A database error met while working: exit 3 if the database went bad for good
    (damaged, I/O error), else 1 (locked, busy, full, a PostgreSQL server unreachable:
    trying again later may work)."""
    from ticker.dbfile import fatal_reason

    reason = fatal_reason(exc)
    if reason is not None:
        _fail(DatabaseBroken(database, reason))
    raise UserError(f"{database}: cannot {doing} the database: {exc}") from None


def _config(ctx: click.Context, secrets: bool = True) -> Config:
    try:
        config = load_config(ctx.obj["config_path"], secrets=secrets)
    except ConfigError as exc:
        _fail(exc)
    ctx.obj["redactor"].update(config.secrets())
    return config


def _load_checked(ctx: click.Context) -> Config:
    """The config, with every channel URL checked with Apprise (this imports Apprise)."""
    from ticker.notify import invalid_urls

    config = load_config(ctx.obj["config_path"])
    ctx.obj["redactor"].update(config.secrets())
    for index, channel in enumerate(config.channels, start=1):
        bad = invalid_urls(channel.urls)
        if bad:
            raise ConfigError(
                config.path, f'channel[{index}] ("{channel.name}").urls', "; ".join(bad)
            )
    return config


def _check_trust(sources: Sequence[Source] | None = None) -> None:
    """Make the TLS context https sources are checked with, before anything is polled: a
    CA store named by SSL_CERT_FILE or SSL_CERT_DIR that is not there is a user error.
    With `sources`, only if one of them is https: a poll of http sites loads no CA store."""
    from ticker.trust import default_context

    if sources is not None and not any(s.url.lower().startswith("https:") for s in sources):
        return
    try:
        default_context()
    except TickerError as exc:
        _fail(exc)


@contextmanager
def _store(config: Config) -> Iterator[Store]:
    database = config.settings.database
    try:
        store = Store.open(database)
    except StoreError as exc:
        _fail(exc)
    except OSError as exc:
        raise UserError(f"{database}: cannot open the database: {exc}") from None
    try:
        yield store
    finally:
        store.close()


def _readonly_store(database: Database) -> Store:
    """The existing database, opened read-only; a clear error if there is none yet."""
    try:
        return Store.open_readonly(database)
    except DatabaseMissing:
        raise UserError(
            f"no database yet at {database}; run `ticker poll` or `ticker run` first"
        ) from None
    except StoreError as exc:
        _fail(exc)
    except DATABASE_ERRORS as exc:
        _database_error(database, exc, "open")


class _NoLock:
    """The instance lock of a PostgreSQL database: none (replicas share it; leases keep
    them apart), and no lock file beside a URL."""

    def __enter__(self) -> _NoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Nothing to release."""


def _lock(database: Database, command: str) -> InstanceLock | _NoLock:
    """The database's instance lock for `command` (ticker.instance), once the database
    was checked (nothing is created beside a file that cannot be used). A `ticker poll`
    holding it is waited for, briefly; DatabaseInUse is raised if another holds it.
    PostgreSQL: none (_NoLock)."""
    from ticker.instance import POLL_WAIT, InstanceLock

    if not isinstance(database, Path):
        return _NoLock()

    try:
        Store.precheck(database)
    except StoreError as exc:
        _fail(exc)
    return InstanceLock.acquire(database, command, wait_for_poll=POLL_WAIT)


CONFIG_HELP = (
    "config.toml to use (default: $TICKER_CONFIG, ./config.toml, "
    "~/.config/ticker/config.toml, /etc/ticker/config.toml)."
)
VERBOSE_HELP = "More log output (-vv for debug)."
QUIET_HELP = "Only warnings and errors in the log."


def _log_level(verbose: int, quiet: bool) -> int:
    return logging.WARNING if quiet else logging.DEBUG if verbose > 1 else logging.INFO


def _late_global(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command (`ticker status --config X`): it goes
    where the same option before the command goes, the root context's obj."""
    if value in (None, 0, False):
        return
    options = ctx.find_root().obj
    if param.name == "config_path":
        options["config_path"] = value
        return
    if param.name == "verbose":
        options["verbose"] += value
    else:
        options["quiet"] = True
    set_level(_log_level(options["verbose"], options["quiet"]))


def _global_params() -> list[click.Parameter]:
    """--config, -v and -q as every command takes them after its name too."""

    def late(decls: list[str], help: str, **kind: Any) -> click.Option:
        return click.Option(decls, callback=_late_global, expose_value=False, help=help, **kind)

    return [
        late(["--config", "config_path"], CONFIG_HELP, type=click.Path()),
        late(["-v", "--verbose"], VERBOSE_HELP, count=True),
        late(["-q", "--quiet"], QUIET_HELP, is_flag=True),
    ]


class TickerCommand(click.Command):
    """A command that takes the global options after its name as well as before it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_global_params())


class TickerGroup(click.Group):
    """ticker's groups: their commands are TickerCommands, their subgroups TickerGroups,
    which take the global options too (`ticker db --config X check`)."""

    command_class = TickerCommand
    group_class = type  # a subgroup is of this class too

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any(param.name == "config_path" for param in self.params):  # not `main`
            self.params.extend(_global_params())


@click.group(cls=TickerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(),  # load_config reports a missing or unreadable file in one line
    default=None,
    help=CONFIG_HELP,
)
@click.option("-v", "--verbose", count=True, help=VERBOSE_HELP)
@click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)
@click.version_option(__version__, prog_name="ticker")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Follow news sites' BREAKING strips; get each new line once, on your channels.

    --config, -v and -q may come before or after the command."""
    redactor = setup_logging(_log_level(verbose, quiet))
    ctx.obj = {
        "config_path": config_path,
        "redactor": redactor,
        "verbose": verbose,
        "quiet": quiet,
    }


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll every source on its interval and deliver new lines."""
    import asyncio

    from ticker.daemon import Daemon, run_until_signalled
    from ticker.fetch import make_client
    from ticker.malloc import limit_arenas
    from ticker.notify import AppriseSender

    limit_arenas()  # before any thread: the daemon's resident memory (ticker.malloc)
    config = _config(ctx)
    _check_trust()
    _say_if_no_channel(config)
    database = config.settings.database
    try:
        lock = _lock(database, "run")
    except StoreError as exc:
        _fail(exc)
    web = _web_address(ctx, config, None, None, False) if config.web.in_run else None
    with lock, _store(config) as store:

        def reload() -> tuple[Config, AppriseSender]:
            new = _load_checked(ctx)
            return new, AppriseSender(new.channels)

        sock = _listening(web[0], web[1]) if web else None  # [web] in_run

        async def _run() -> None:
            async with make_client(config.settings) as client, _web_in_run(ctx, config, sock):
                daemon = Daemon(config, store, client, AppriseSender(config.channels))
                await run_until_signalled(daemon, reload)
                await daemon.client.aclose()  # a client made by a reload

        try:
            asyncio.run(_run())
        except StoreError as exc:
            _fail(exc)
        except DATABASE_ERRORS as exc:
            _database_error(database, exc)


def _web_in_run(ctx: click.Context, config: Config, sock: socket.socket | None) -> Any:
    """The web server inside `ticker run`'s event loop ([web] in_run), or nothing."""
    from contextlib import nullcontext

    if sock is None:
        return nullcontext()
    from ticker.web.serve import serving

    token = config.web.token  # read with the config's other secrets
    level = logging.getLogger().getEffectiveLevel()
    scrub = ctx.obj["redactor"].scrub
    return serving(config, sock, token=token, public=config.web.public, scrub=scrub, level=level)


def _selected_sources(config: Config, names: tuple[str, ...]) -> tuple[Source, ...]:
    if not names:
        return config.sources
    known = {s.name for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(
            f"{config.path}: no source named {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known)) or 'none'}",
            EXIT_CONFIG,
        )
    return tuple(s for s in config.sources if s.name in names)


@main.command()
@click.argument("url", required=False)
@click.option(
    "-s", "--source", "source_names", multiple=True, help="Only this source (repeatable)."
)
@click.option("--dry-run", is_flag=True, help="Fetch and print what was parsed; write nothing.")
@click.option("--kind", "kind", default="html", show_default=True, help="With URL: its kind.")
@click.option(
    "-o",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="With URL: a key of its kind (repeatable; see `ticker kinds`).",
)
@click.pass_context
def poll(
    ctx: click.Context,
    url: str | None,
    source_names: tuple[str, ...],
    dry_run: bool,
    kind: str,
    options: tuple[str, ...],
) -> None:
    """Poll every source once, record and deliver what is new, print it and exit.

    With --dry-run (and --source NAME or a URL) only fetch and print the parsed lines:
    `ticker poll --dry-run URL -o selector=".breaking li"`, `... --kind rss URL`,
    `... --kind json URL -o items=data.news -o text=title`.
    """
    if url and not dry_run:
        raise UserError("a URL can only be polled with --dry-run", EXIT_CONFIG)
    if url:
        config = _config_or_defaults(ctx)
        try:
            source = command_line_source(url, kind, _options(options), config.settings)
        except ConfigError as exc:
            _fail_with_hint(exc, kind)
        _check_trust((source,))
        _dry_run((source,), config, hint=_option_hint(source.kind))
        return
    config = _config(ctx)
    sources = _selected_sources(config, source_names)
    _check_trust(sources)
    if dry_run:
        _dry_run(sources, config)
        return
    _say_if_no_channel(config)
    _poll_and_deliver(config, sources)


def _option_hint(kind: str) -> str:
    """How to tell a kind where its lines are on the command line, from its declared
    keys: "try -o selector=SELECTOR or -o label=LABEL (see `ticker kinds`)"."""
    flags = " or ".join(f"-o {key.name}={key.name.upper()}" for key in kind_for(kind).keys)
    return f"try {flags} (see `ticker kinds`)" if flags else ""


def _fail_with_hint(exc: ConfigError, kind: str) -> NoReturn:
    """A command-line source's error; one about a key of `kind` says how to give keys."""
    about_a_key = (exc.field or "").startswith("--option ") and kind in kind_names()
    hint = _option_hint(kind) if about_a_key else ""
    raise UserError(f"{exc}; {hint}" if hint else str(exc), EXIT_CONFIG) from None


def _options(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--option KEY=VALUE` pairs as a mapping; ConfigError for one without "="."""
    options: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise ConfigError("(command line)", "--option", f"expected KEY=VALUE, got {pair!r}")
        options[name.strip()] = value
    return options


def _config_or_defaults(ctx: click.Context) -> Config:
    try:
        return load_config(ctx.obj["config_path"])
    except ConfigError:
        from ticker.config import parse_config

        return parse_config({}, Path("(defaults)"))


def _dry_run(sources: tuple[Source, ...], config: Config, hint: str = "") -> None:
    """Fetch and print each source's lines; `hint` follows a source's error when its
    lines were not found (ParseError)."""
    import asyncio

    from ticker.fetch import make_client
    from ticker.poll import fetch_lines

    async def _fetch_all() -> list[tuple[Source, Any]]:
        results: list[tuple[Source, Any]] = []
        async with make_client(config.settings) as client:
            for source in sources:
                try:
                    _page, lines = await fetch_lines(client, source, config.settings.max_page_bytes)
                    results.append((source, lines))
                except TickerError as exc:
                    results.append((source, exc))
        return results

    failed = False
    for source, lines in asyncio.run(_fetch_all()):
        if isinstance(lines, Exception):
            advice = f"; {hint}" if hint and isinstance(lines, ParseError) else ""
            click.echo(
                f"{source.name}: error: {with_likely_cause(source.url, str(lines))}{advice}",
                err=True,
            )
            failed = True
            continue
        click.echo(f"{source.name}: {len(lines)} line(s) from {source.url}")
        for number, line in enumerate(lines, start=1):
            who = f"[{line.attribution}] " if line.attribution else ""
            click.echo(f"{number:3}. {who}{line.body}")
            if line.url:
                click.echo(f"     {line.url}")
            about = _identity(line)
            if about:
                click.echo(f"     {about}")
    if failed:
        sys.exit(EXIT_FAILURE)


def _say_if_no_channel(config: Config) -> None:
    """Say once, when a run or poll starts, that alerts go nowhere but the log."""
    if not config.channels:
        log.info(
            "no channel configured in %s: ticker only logs and records new lines; "
            "add a [[channel]] to be alerted (README: Channels)",
            config.path,
        )


def _identity(line: Line) -> str:
    """What a dry run shows of a line's id and time, where its source gives them."""
    from ticker.tail import iso_utc

    parts = [f"id {line.key}"] if line.key else []
    if line.published is not None:
        parts.append(f"posted {iso_utc(line.published)}")
    return ", ".join(parts)


def _poll_and_deliver(config: Config, sources: tuple[Source, ...]) -> None:
    import asyncio

    from ticker.daemon import poll_once
    from ticker.notify import AppriseSender

    database = config.settings.database
    try:
        lock: InstanceLock | _NoLock | None = _lock(database, "poll")
    except DatabaseInUse as exc:
        lock = None  # record what is new; the holder sends it
        who = "it delivers" if exc.command != "poll" else "the next poll or `ticker run` delivers"
        click.echo(f"ticker: {exc.holder} is running on {database}: {who} these alerts", err=True)
    # The new lines are printed below: poll's INFO line for each (the daemon's record of
    # them) would say each one twice. Its warnings stay; -vv shows everything.
    poll_log = logging.getLogger("ticker.poll")
    poll_level = poll_log.level
    if not poll_log.isEnabledFor(logging.DEBUG):
        poll_log.setLevel(logging.WARNING)
    try:
        with _store(config) as store:
            sender = AppriseSender(config.channels)
            run = poll_once(config, sources, store, sender, deliver=lock is not None)
            outcomes = asyncio.run(run)
    except StoreError as exc:
        _fail(exc)
    except DATABASE_ERRORS as exc:
        _database_error(database, exc)
    finally:
        poll_log.setLevel(poll_level)
        if lock is not None:
            lock.release()
    failed = False
    for outcome in outcomes:
        if outcome.error:
            error = with_likely_cause(config.source(outcome.source).url, outcome.error)
            click.echo(f"{outcome.source}: error: {error}", err=True)
            failed = True
        elif outcome.record is not None:
            if outcome.record.baseline:
                click.echo(
                    f"{outcome.source}: first poll, {len(outcome.record.new)} line(s) "
                    "recorded as the baseline",
                    err=True,
                )
            for item in outcome.record.alerts:
                click.echo(f"[{outcome.source}] {item.line.text}")
                if item.line.url:
                    click.echo(f"    {item.line.url}")
    if failed:
        sys.exit(EXIT_FAILURE)


def _reading(ctx: click.Context, database: str | None) -> tuple[Config | None, Database]:
    """The config (None if none is found) and the database `tail` and `status` read."""
    from ticker.config import reading_database

    try:
        config, path = reading_database(database, ctx.obj["config_path"])
    except ConfigError as exc:
        _fail(exc)
    if config is not None:
        ctx.obj["redactor"].update(config.secrets())  # errors stored may quote a password
    return config, path


DATABASE_HELP = (
    "The database to read (default: the config's, else $STATE_DIRECTORY/ticker.db under "
    "systemd, else ~/.local/share/ticker/ticker.db)."
)


def _known_sources(config: Config | None, store: Store) -> set[str]:
    """Every source name `tail --source` can mean: configured or in the database."""
    configured = {s.name for s in config.sources} if config is not None else set()
    return configured | {state.name for state in store.source_states()}


def _check_source(source: str | None, config: Config | None, store: Store) -> None:
    """A UserError naming the known sources if `source` is none of them."""
    if source is None:
        return
    known = _known_sources(config, store)
    if source not in known:
        raise UserError(
            f"no source named {source}; known: {', '.join(sorted(known)) or 'none'}",
            EXIT_CONFIG,
        )


def _wait_for_database(database: Database) -> Store:
    """`tail -f`: open the database, or, before one exists, say so, wait for it, then
    open it (a SQLite file; a PostgreSQL database is opened, or its error said, at once)."""
    from ticker import tail as tailing

    if not isinstance(database, Path):
        return _readonly_store(database)

    waiting = f"ticker: no database yet at {database}; waiting for one (Ctrl-C to stop)"
    tailing.wait_for_database(database, waiting=lambda: click.echo(waiting, err=True))
    return _readonly_store(database)


@main.command()
@click.option(
    "-n",
    "--lines",
    "count",
    default=20,
    show_default=True,
    type=click.IntRange(1),
    help="How many recent alerts.",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new alerts and delivery changes.")
@click.option("-s", "--source", help="Only alerts of this source.")
@click.option("--grep", help="Only alerts whose text contains this (case-insensitive).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines output.")
@click.option("--database", type=click.Path(), help=DATABASE_HELP)
@click.pass_context
def tail(
    ctx: click.Context,
    count: int,
    follow: bool,
    source: str | None,
    grep: str | None,
    as_json: bool,
    database: str | None,
) -> None:
    """Show recent alerts and where each was delivered; newest last."""
    from ticker import tail as tailing

    config, path = _reading(ctx, database)  # reads the store only: no secret, no config needed
    try:
        store = _wait_for_database(path) if follow else _readonly_store(path)
    except KeyboardInterrupt:
        return
    show = tailing.as_json if as_json else tailing.as_text
    try:
        _check_source(source, config, store)
        alerts, seen = tailing.recent(store, count, source=source, grep=grep)
        groups = tailing.burst_ids(alerts)
        for alert in alerts:
            click.echo(show(alert, groups[alert.id]))
        if follow:
            for shown in tailing.follow(store, seen, source=source, grep=grep):
                click.echo(show(shown))
    except KeyboardInterrupt:
        pass
    except DATABASE_ERRORS as exc:
        _database_error(path, exc, "read")
    finally:
        store.close()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object; times in UTC.")
@click.option("--database", type=click.Path(), help=DATABASE_HELP)
@click.pass_context
def status(ctx: click.Context, as_json: bool, database: str | None) -> None:
    """Show what the daemon is doing: each source's polls, each channel's deliveries.

    Reads the database only (read-only, fine while the daemon runs); needs no config."""
    from ticker import status as reporting

    config, path = _reading(ctx, database)  # reads the store only: no secret, no config needed
    store = _readonly_store(path)
    try:
        version = store.schema_version()
        if version < SCHEMA_VERSION:
            raise UserError(
                f"{path} has schema {version}, older than this ticker ({SCHEMA_VERSION}); "
                "run `ticker poll` or `ticker run` once to upgrade it"
            )
        report = reporting.read_status(config, store, reporting.clock(), ctx.obj["redactor"].scrub)
        if store.engine == "postgresql":  # the replicas
            report = reporting.with_replicas(report, store.conninfo, ctx.obj["redactor"].scrub)
    except DATABASE_ERRORS as exc:
        _database_error(path, exc, "read")
    except StoreError as exc:  # DatabaseUnreachable
        _fail(exc)
    finally:
        store.close()
    verbose = ctx.obj["verbose"] > 0  # `-v`: who holds what
    click.echo(reporting.as_json(report) if as_json else reporting.as_text(report, verbose))


@main.command(name="notify-test")
@click.argument("channel_name", required=False, metavar="[CHANNEL]")
@click.pass_context
def notify_test(ctx: click.Context, channel_name: str | None) -> None:
    """Send a test message to one channel (or all) and say, per channel, whether it went."""
    from ticker.notify import AppriseSender, Message

    config = _config(ctx)
    channels = [c for c in config.channels if channel_name in (None, c.name)]
    if not channels:
        known = ", ".join(c.name for c in config.channels) or "none"
        raise UserError(
            f"{config.path}: no channel named {channel_name}; known: {known}", EXIT_CONFIG
        )
    invalid = _invalid_channels(channels)
    sender = AppriseSender(tuple(c for c in config.channels if c.name not in invalid))
    failed = False
    for channel in channels:
        if channel.name in invalid:
            click.echo(f"{channel.name}: invalid, not tried: {invalid[channel.name]}")
            continue
        message = Message(
            title=f"ticker: test message to {channel.name}",
            body="If you can read this, ticker can reach this channel.",
        )
        failure = sender.send(channel.name, message)
        status = "sent" if failure is None else f"failed: {failure.reason}"
        click.echo(f"{channel.name}: {status}")
        failed = failed or failure is not None
    if invalid:
        sys.exit(EXIT_CONFIG)  # as `ticker config check` rejects the config
    if failed:
        sys.exit(EXIT_FAILURE)


def _invalid_channels(channels: Sequence[Channel]) -> dict[str, str]:
    """Channel name -> why Apprise cannot use its URLs (what `config check` refuses)."""
    from ticker.notify import invalid_urls

    return {c.name: "; ".join(bad) for c in channels if (bad := invalid_urls(c.urls))}


def _target_notes(sources: Sequence[Source]) -> dict[str, list[str]]:
    """Per source, a warning if its host is (or resolves to) a loopback, private or
    link-local address, or a note if its name does not resolve here. Warnings only: a
    local site is a fine source, but a mistyped 169.254.169.254 is the cloud metadata."""
    from urllib.parse import urlsplit

    from ticker.targets import a_range, literal_ip, resolve_all

    hosts = {source.name: urlsplit(source.url).hostname or "" for source in sources}
    where = resolve_all(hosts.values())
    notes: dict[str, list[str]] = {}
    for name, host in hosts.items():
        target = where[host]
        if isinstance(target, str):
            notes[name] = [f"note: {host} does not resolve here ({target})"]
        elif (inner := target.worst) is not None:
            via = "is" if literal_ip(host) is not None else f"resolves to {inner},"
            notes[name] = [
                f"warning: {host} {via} {a_range(inner)}, not public: "
                "check that this is the page you mean"
            ]
    return notes


@main.command()
def kinds() -> None:
    """List the source kinds, each with its config keys and help."""
    for name in kind_names():
        kind = kind_for(name)
        click.echo(f"{name}:")
        for paragraph in kind.help().split("\n\n"):
            click.echo(f"  {' '.join(paragraph.split())}")
        click.echo(f"  lines are identified by {kind.identity}")
        for key in kind.keys:
            click.echo(f"  {key.name} ({_key_terms(key)}): {key.help}")
        click.echo("")


def _key_terms(key: Key) -> str:
    """A key's type and whether it is required or its default, e.g. "string, optional"."""
    word = TYPE_WORDS.get(key.type, key.type.__name__)
    if key.required:
        return f"{word}, required"
    return f"{word}, optional" + (f", default {key.default!r}" if key.default is not None else "")


@main.group(name="config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the config and list its sources and channels (secrets hidden)."""
    try:
        config = _load_checked(ctx)
        require_sources(config)
    except ConfigError as exc:
        _fail(exc)
    click.echo(f"{config.path}: OK")
    click.echo(f"database: {config.settings.database}")
    click.echo(f"sources ({len(config.sources)}):")
    notes = _target_notes(config.sources)
    for source in config.sources:
        how = kind_for(source.kind).describe(source)
        shown = f"kind {source.kind}: {how}" if how else f"kind {source.kind}"
        click.echo(f"  {source.name}: {source.url} every {source.interval:g}s, {shown}")
        for note in notes.get(source.name, []):
            click.echo(f"    {note}")
    click.echo(f"channels ({len(config.channels)}):")
    for channel in config.channels:
        urls = ", ".join(redact_url(u) for u in channel.urls)
        scope = ", ".join(channel.sources) if channel.sources is not None else "all sources"
        click.echo(f"  {channel.name}: {urls} <- {scope}")
        click.echo(f"    {describe(channel)}")


@main.group(name="db")
def db_group() -> None:
    """Check, back up or copy the database (check and backup are safe while the daemon runs)."""


@db_group.command(name="check")
@click.option("--quick", is_flag=True, help="PRAGMA quick_check: faster, skips index contents.")
@click.option("--database", type=click.Path(), help=DATABASE_HELP)
@click.pass_context
def db_check(ctx: click.Context, quick: bool, database: str | None) -> None:
    """Check the database: file, schema, SQLite's integrity check, counts. Exit status 0
    if it is sound, 3 with what is wrong if not. Needs no config."""
    _, database_path = _reading(ctx, database)  # reads the store only: no config needed
    store = _readonly_store(database_path)
    try:
        store.sqlite_file("db check")
        version = store.schema_version()
        problems = store.integrity_problems(quick=quick)
        counts = store.counts() if not problems else None
    except DATABASE_ERRORS as exc:
        _database_error(database_path, exc, "read")
    except DatabaseMaintenanceElsewhere as exc:
        _fail(exc)
    finally:
        store.close()
    check = "quick_check" if quick else "integrity_check"
    if problems:
        click.echo(f"{database_path}: {check} found {len(problems)} problem(s):", err=True)
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        raise UserError(
            f"{database_path}: damaged; see 'Recovering the database' in the README", EXIT_DATABASE
        )
    upgrade = " (ticker upgrades it when it next writes)" if version < SCHEMA_VERSION else ""
    click.echo(f"{database_path}: OK")
    click.echo(f"schema {version}, this ticker {SCHEMA_VERSION}{upgrade}")
    click.echo(f"{check}: ok")
    if counts is not None:
        click.echo(
            f"{counts['items']} lines, {counts['alerts']} alerts, "
            f"{counts['pending']} pending and {counts['failed']} failed deliveries"
        )


@db_group.command(name="backup")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace TARGET if it exists.")
@click.option("--database", type=click.Path(), help=DATABASE_HELP)
@click.pass_context
def db_backup(ctx: click.Context, target: Path, force: bool, database: str | None) -> None:
    """Copy the database into TARGET (mode 0600), a consistent snapshot taken with SQLite's
    online backup: safe while the daemon runs, unlike `cp` of a WAL database. Needs no
    config."""
    from ticker.backup import BackupExists, write_backup

    _, database_path = _reading(ctx, database)  # reads the store only: no config needed
    store = _readonly_store(database_path)
    try:
        store.sqlite_file("db backup")
        size = write_backup(store, target, replace=force)
    except BackupExists:
        raise UserError(f"{target} exists; give --force to replace it") from None
    except OSError as exc:
        raise UserError(f"{target}: cannot write the backup: {exc.strerror or exc}") from None
    except DATABASE_ERRORS as exc:
        _database_error(database_path, exc, "back up")
    except DatabaseMaintenanceElsewhere as exc:
        _fail(exc)
    finally:
        store.close()
    click.echo(f"{database_path} backed up to {target} ({size:,} bytes)")


@db_group.command(name="copy")
@click.argument("source")
@click.argument("target")
@click.option("--replace", is_flag=True, help="Overwrite the rows TARGET holds.")
@click.pass_context
def db_copy(ctx: click.Context, source: str, target: str, replace: bool) -> None:
    """Copy the database SOURCE into TARGET, each a SQLite file or a postgresql:// URL,
    checked by counts (exit status 1 if they differ; TARGET is then left as it was).
    Stop ticker first: a ticker using either end makes the copy refuse. Needs no config."""
    from ticker import dbcopy

    try:
        src, dst = dbcopy.parse_target(source), dbcopy.parse_target(target)
    except ConfigError as exc:
        _fail(exc)
    scrub = ctx.obj["redactor"]
    scrub.update(getattr(end, "password", None) or "" for end in (src, dst))

    def shown(table: dbcopy.TableCopy) -> None:
        click.echo(
            f"  {table.name}: {dbcopy.rows_text(table.rows)} ({table.seconds:.1f} s)", err=True
        )

    click.echo(f"copying {dbcopy.describe(src)} to {dbcopy.describe(dst)}", err=True)
    try:
        copied = dbcopy.copy_database(src, dst, replace=replace, progress=shown)
    except DatabaseMissing:
        raise UserError(f"no database at {dbcopy.describe(src)}") from None
    except (StoreError, OSError) as exc:
        raise UserError(scrub.scrub(str(exc)), _exit_code(exc)) from None
    except DATABASE_ERRORS as exc:  # what no end wrapped (SQLite's own, say)
        raise UserError(scrub.scrub(f"cannot copy the database: {exc}")) from None
    total = sum(table.rows for table in copied)
    click.echo(
        f"copied {dbcopy.describe(src)} to {dbcopy.describe(dst)}: {dbcopy.rows_text(total)}, "
        "counts match"
    )
    width = max((len(table.name) for table in copied), default=0)
    for table in copied:
        click.echo(f"  {table.name:<{width}} {table.rows:>12,}")


def _web_address(
    ctx: click.Context, config: Config, listen: str | None, token: str | None, public: bool
) -> tuple[str, int, str | None]:
    """Where the web server listens and its token (--token, else [web] token), once
    checked: a non-loopback address needs a token or `public` (exit status 2 otherwise)."""
    from ticker.config import MIN_TOKEN_CHARS, web_token
    from ticker.web.serve import is_loopback, split_listen

    try:
        token = token or web_token(config.web, config.path)
        host, port = split_listen(listen or config.web.listen)
    except ConfigError as exc:
        _fail(exc)
    except ValueError as exc:
        raise UserError(f"--listen: {exc}", EXIT_CONFIG) from None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise UserError(f"--token: expected {MIN_TOKEN_CHARS}+ characters", EXIT_CONFIG)
    ctx.obj["redactor"].update([*config.secrets(), *([token] if token else [])])
    if not is_loopback(host) and token is None and not (public or config.web.public):
        raise UserError(
            f"{host} is not a loopback address: give --token (or [web] token), or --public "
            "if a reverse proxy in front authenticates",
            EXIT_CONFIG,
        )
    return host, port, token


def _listening(host: str, port: int) -> socket.socket:
    from ticker.web.serve import listening_socket

    try:
        return listening_socket(host, port)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@main.command()
@click.option("--listen", help='HOST:PORT to serve on (default: [web] listen, "127.0.0.1:8787").')
@click.option("--token", envvar="TICKER_WEB_TOKEN", help="Require this token (or [web] token).")
@click.option("--public", is_flag=True, help="Allow a non-loopback address without a token.")
@click.pass_context
def serve(ctx: click.Context, listen: str | None, token: str | None, public: bool) -> None:
    """Serve the live page, Atom and JSON feeds and a JSON API over the database.

    Reads the database only, like `tail`. Binding a non-loopback address needs a token
    (--token, $TICKER_WEB_TOKEN or [web] token) or --public (a proxy authenticates)."""
    from ticker.web.serve import serve

    config = _config(ctx, secrets=False)  # the channels' secrets are never needed
    host, port, token = _web_address(ctx, config, listen, token, public)
    _readonly_store(config.settings.database).close()  # a clear error if there is none
    level = logging.getLogger().getEffectiveLevel()
    sock = _listening(host, port)
    public = public or config.web.public
    serve(config, sock, token=token, public=public, scrub=ctx.obj["redactor"].scrub, level=level)
