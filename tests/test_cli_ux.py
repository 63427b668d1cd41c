"""The command line as a new user meets it (issue 15): `tail` and `status` without a
config, `tail --source` naming the known sources, global options after the command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import database_for, lines
from servers import PageServer

from ticker import tail as tailing
from ticker.cli import EXIT_CONFIG, main
from ticker.store import Store

URL = "https://example.org/"
T0 = 1_700_000_000.0


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """No config anywhere ticker looks; the working directory is an empty one (`cd /tmp`)."""
    dirs = {name: tmp_path / name for name in ("home", "data", "config", "cwd")}
    for directory in dirs.values():
        directory.mkdir()
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(dirs["data"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["config"]))
    for name in ("STATE_DIRECTORY", "TICKER_CONFIG", "JOURNAL_STREAM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(dirs["cwd"])
    return dirs


def make_database(path: Any, source: str = "site") -> None:
    """A database at `path` (a file, or database_for's) with one alert of `source`."""
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(path)
    try:
        store.record_poll(source, URL, lines("old"), T0, [])
        store.record_poll(source, URL, lines("Hamas: Fresh news", "old"), T0 + 60, [])
    finally:
        store.close()


def ticker(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def dry_run(*args: str) -> tuple[int, str]:
    """`ticker poll --dry-run ...` without a config."""
    result = ticker("poll", "--dry-run", *args)
    return result.exit_code, result.output


def write_config(directory: Path, database: Any, source: str = "configured") -> Path:
    path = directory / "my.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database}"\n'
        f'[[source]]\nname = "{source}"\nurl = "{URL}"\nselector = "li"\n',
        encoding="utf-8",
    )
    return path


# --- item 3: the database without a config ----------------------------------------------


def test_db_check_and_backup_read_the_default_database_without_a_config(
    isolated: dict[str, Path],
) -> None:
    database = isolated["data"] / "ticker" / "ticker.db"
    make_database(database)
    target = isolated["cwd"] / "copy.db"

    checked = ticker("db", "check")
    backed_up = ticker("db", "backup", str(target))

    assert checked.exit_code == 0, checked.output
    assert f"{database}: OK" in checked.output
    assert backed_up.exit_code == 0, backed_up.output
    copy = Store.open_readonly(target)
    try:
        assert copy.counts()["alerts"] == 1
    finally:
        copy.close()


def test_db_check_reads_the_database_option(isolated: dict[str, Path]) -> None:
    elsewhere = isolated["home"] / "other.db"
    make_database(elsewhere)
    checked = ticker("db", "check", "--database", str(elsewhere))
    assert checked.exit_code == 0, checked.output
    assert f"{elsewhere}: OK" in checked.output


def test_tail_and_status_read_the_default_database_without_a_config(
    isolated: dict[str, Path],
) -> None:
    make_database(isolated["data"] / "ticker" / "ticker.db")

    tailed = ticker("tail")
    status = ticker("status")

    assert tailed.exit_code == 0, tailed.output
    assert "site  Hamas: Fresh news" in tailed.output
    assert status.exit_code == 0, status.output
    assert "site" in status.output and "not in the config" not in status.output
    assert "config: none found; sources and channels as the database knows them" in status.output
    assert "no channel in the database" in status.output


def test_tail_and_status_read_the_state_directory_under_systemd(
    isolated: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    make_database(state / "ticker.db", source="service")
    monkeypatch.setenv("STATE_DIRECTORY", str(state))

    tailed = ticker("tail", "--json")
    status = ticker("status", "--json")

    assert tailed.exit_code == 0 and '"source": "service"' in tailed.output, tailed.output
    assert status.exit_code == 0 and str(state / "ticker.db") in status.output, status.output


def test_database_option_beats_the_config_and_the_default(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    make_database(isolated["data"] / "ticker" / "ticker.db", source="default")
    elsewhere = tmp_path / "elsewhere.db"
    make_database(elsewhere, source="chosen")
    config = write_config(isolated["cwd"], tmp_path / "configured.db")

    tailed = ticker("--config", str(config), "tail", "--database", str(elsewhere))
    status = ticker("status", "--database", str(elsewhere))

    assert tailed.exit_code == 0 and "chosen  Hamas" in tailed.output, tailed.output
    assert status.exit_code == 0 and f"database: {elsewhere}" in status.output, status.output
    assert "default" not in status.output


def test_tail_without_a_database_says_there_is_none_yet(isolated: dict[str, Path]) -> None:
    result = ticker("tail")
    database = isolated["data"] / "ticker" / "ticker.db"
    assert result.exit_code == 1
    assert f"no database yet at {database}" in result.output


def test_tail_follow_waits_for_a_database_to_appear(
    isolated: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    database = isolated["data"] / "ticker" / "ticker.db"
    real_wait, real_follow = tailing.wait_for_database, tailing.follow

    def wait(path: Path, **kwargs: object) -> bool:
        # The daemon starts while tail waits: the database appears at the first look.
        return real_wait(path, **kwargs, sleep=lambda _s: make_database(database), rounds=3)  # type: ignore[arg-type]

    def follow_once(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        return real_follow(*args, **kwargs, sleep=lambda _s: None, rounds=1)  # type: ignore[arg-type]

    monkeypatch.setattr(tailing, "wait_for_database", wait)
    monkeypatch.setattr(tailing, "follow", follow_once)

    result = ticker("tail", "-f")

    assert result.exit_code == 0, result.output
    assert f"no database yet at {database}; waiting for one" in result.stderr
    assert "site  Hamas: Fresh news" in result.stdout


# --- item 5: tail --source names the known sources ---------------------------------------


def test_tail_of_an_unknown_source_names_the_known_ones(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    make_database(isolated["data"] / "ticker" / "ticker.db", source="site")

    result = ticker("tail", "--source", "nope")

    assert result.exit_code == EXIT_CONFIG
    assert "ticker: error: no source named nope; known: site" in result.output


def test_tail_source_knows_configured_sources_not_yet_polled(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    database = database_for(tmp_path)
    make_database(database, source="site")
    config = write_config(isolated["cwd"], database, source="newcomer")

    unknown = ticker("--config", str(config), "tail", "--source", "nope")
    configured = ticker("--config", str(config), "tail", "--source", "newcomer")

    assert unknown.exit_code == EXIT_CONFIG
    assert "no source named nope; known: newcomer, site" in unknown.output
    assert configured.exit_code == 0 and configured.output == ""


# --- item 8: global options after the command --------------------------------------------


@pytest.mark.parametrize("after", [False, True], ids=["before", "after"])
def test_config_option_before_or_after_the_command(
    isolated: dict[str, Path], tmp_path: Path, after: bool
) -> None:
    database = database_for(tmp_path)
    make_database(database)
    config = write_config(isolated["home"], database, source="site")
    option = ["--config", str(config)]

    for command in (["status"], ["config", "check"], ["tail", "-n", "1"]):
        result = ticker(*command, *option) if after else ticker(*option, *command)
        assert result.exit_code == 0, (command, result.output)
    between = ticker("config", *option, "check")  # after the group, before its command
    assert between.exit_code == 0 and f"{config}: OK" in between.output, between.output
    assert f"{config}: OK" in ticker(*(["config", "check", *option])).output


@pytest.mark.parametrize(
    ("args", "level"),
    [
        (["-vv", "kinds"], logging.DEBUG),
        (["kinds", "-vv"], logging.DEBUG),
        (["-v", "kinds", "-v"], logging.DEBUG),
        (["kinds", "-q"], logging.WARNING),
        (["-q", "kinds"], logging.WARNING),
        (["kinds"], logging.INFO),
    ],
)
def test_verbosity_options_before_or_after_the_command(args: list[str], level: int) -> None:
    result = ticker(*args)
    assert result.exit_code == 0, result.output
    assert logging.getLogger().level == level


def test_every_command_lists_the_global_options_in_its_help() -> None:
    for command in (["status"], ["tail"], ["poll"], ["run"], ["db", "check"]):
        shown = ticker(*command, "--help").output
        assert "--config PATH" in shown and "-v, --verbose" in shown and "-q, --quiet" in shown


# --- issue 15, item 9: what to try when the ticker is not found --------------------------


def test_a_page_without_the_ticker_suggests_the_kinds_options() -> None:
    with PageServer(["<p>no ticker here</p>"]) as site:
        missing_code, missing = dry_run(site.url)
        unmatched_code, unmatched = dry_run("-o", "selector=.nope li", site.url)
    hint = "try -o selector=SELECTOR or -o label=LABEL (see `ticker kinds`)"
    assert missing_code == 2 and "--option selector: missing" in missing, missing
    assert hint in missing
    assert unmatched_code == 1, unmatched
    assert "ticker not found: '.nope li' matched nothing" in unmatched
    assert hint in unmatched


def test_the_suggestion_is_made_from_the_kinds_declared_keys() -> None:
    from ticker.sources import kind_for

    code, output = dry_run("--kind", "json", "-o", "items=data.[", "http://127.0.0.1:9/")
    keys = " or ".join(f"-o {key.name}={key.name.upper()}" for key in kind_for("json").keys)
    assert code == 2 and f"try {keys}" in output, output


# --- item 7: the host and a likely cause; no channel -------------------------------------


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (
            "ConnectError: [Errno -2] Name or service not known",
            "news.example.org does not resolve: a typo in the URL, DNS not answering, "
            "or this machine is offline",
        ),
        (
            "ConnectError: [Errno 111] Connection refused",
            "news.example.org refused the connection: nothing listens on port 8080",
        ),
        ("ConnectError: All connection attempts failed", "news.example.org cannot be reached"),
        ("ConnectError: something new", "cannot reach news.example.org: check the URL"),
    ],
)
def test_a_connection_error_names_the_host_and_a_likely_cause(error: str, words: str) -> None:
    from ticker.reasons import unreachable

    assert words in (unreachable("news.example.org", 8080, error) or "")


def test_an_http_error_gets_no_guess() -> None:
    from ticker.reasons import unreachable

    assert unreachable("example.org", 443, "HTTP 503 Service Unavailable") is None


def test_a_dry_run_of_a_closed_port_names_host_port_and_cause() -> None:
    from servers import free_port

    port = free_port()
    code, output = dry_run("-o", "selector=li", f"http://127.0.0.1:{port}/")

    assert code == 1, output
    assert "dry-run: error: ConnectError: " in output
    assert f"127.0.0.1 cannot be reached on port {port}: the connection was refused" in output


def no_channel_config(directory: Path, url: str, database: Any) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database}"\n'
        f'[[source]]\nname = "site"\nurl = "{url}"\nselector = "li"\n',
        encoding="utf-8",
    )
    return path


def test_poll_without_a_channel_says_once_that_ticker_only_logs(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    with PageServer(["<ul><li>Hamas: one</li></ul>"]) as site:
        config = no_channel_config(isolated["cwd"], site.url, database_for(tmp_path))
        result = ticker("--config", str(config), "poll")

    assert result.exit_code == 0, result.output
    said = f"no channel configured in {config}: ticker only logs and records new lines"
    assert result.stderr.count(said) == 1, result.stderr


def test_run_without_a_channel_says_that_ticker_only_logs(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    """Said first thing (here the run then stops: its database path is a directory)."""
    (tmp_path / "dir.db").mkdir()
    config = no_channel_config(isolated["cwd"], URL, tmp_path / "dir.db")

    result = ticker("--config", str(config), "run")

    assert result.exit_code == 3, result.output
    assert result.stderr.count("no channel configured in") == 1, result.stderr


def test_poll_with_a_channel_says_nothing_about_channels(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    with PageServer(["<ul><li>Hamas: one</li></ul>"]) as site:
        config = no_channel_config(isolated["cwd"], site.url, database_for(tmp_path))
        with config.open("a", encoding="utf-8") as file:
            file.write('[[channel]]\nname = "hook"\nurls = ["json://127.0.0.1:9/"]\n')
        result = ticker("--config", str(config), "poll")
    assert result.exit_code == 0, result.output
    assert "no channel configured" not in result.stderr


# --- notify-test does not try a channel `config check` rejects ----------------------------


def test_notify_test_refuses_a_channel_config_check_rejects(
    isolated: dict[str, Path], tmp_path: Path
) -> None:
    from servers import SmtpSink

    with SmtpSink() as smtp:
        config = isolated["cwd"] / "config.toml"
        config.write_text(
            f'[[source]]\nname = "s"\nurl = "{URL}"\nselector = "li"\n'
            f'[[channel]]\nname = "good"\nurls = ["{smtp.url}"]\n'
            '[[channel]]\nname = "bad"\nurls = ["nosuchscheme://user:hunter2pass@x"]\n',
            encoding="utf-8",
        )
        config.chmod(0o600)
        both = ticker("--config", str(config), "notify-test")
        bad = ticker("--config", str(config), "notify-test", "bad")

    assert both.exit_code == EXIT_CONFIG, both.output
    assert "good: sent" in both.stdout.splitlines()
    refused = "bad: invalid, not tried: Apprise cannot use nosuchscheme://user:***@"
    assert refused in both.stdout
    assert bad.exit_code == EXIT_CONFIG and refused in bad.stdout
    assert "hunter2pass" not in both.output + bad.output
    assert len(smtp.messages) == 1  # only the good channel's test message
