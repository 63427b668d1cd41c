"""Config: every broken file is one line naming file, field and what was expected; discovery
order; where the database goes; `config check` output with secrets hidden."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from ticker.cli import main
from ticker.config import find_config, load_config, parse_config
from ticker.errors import ConfigError
from ticker.sources import kind_names
from ticker.sources.presets import preset_for

SHIPPED_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"

SOURCE_X = """
[[source]]
name = "x"
url = "https://example.org/"
selector = ".ticker li"
"""

MAIL_PASSWORD = "s3cretPassw0rd"
MAIL_URL = f"mailto://me:{MAIL_PASSWORD}@example.com?to=a@example.com"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TG_URL = f"tgram://{TG_TOKEN}/-100123"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Every place ticker could read or write lives under tmp_path."""
    dirs = {name: tmp_path / name for name in ("home", "xdg-data", "xdg-config", "cwd", "etc")}
    for directory in dirs.values():
        directory.mkdir()
    monkeypatch.setenv("HOME", str(dirs["home"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(dirs["xdg-data"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(dirs["xdg-config"]))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("TICKER_CONFIG", raising=False)
    monkeypatch.chdir(dirs["cwd"])
    return dirs


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def check(path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*extra, "--config", str(path), "config", "check"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


# (id, file content (str, bytes, or None for no file), field named, fragments of the message)
BROKEN: list[tuple[str, str | bytes | None, str | None, list[str]]] = [
    (
        "bad-toml",
        "[ticker]\ninterval = 30\nthis is not toml\n",
        None,
        ["invalid TOML", "line 3"],
    ),
    (
        "unknown-top-level-key",
        '[[sources]]\nname = "x"\n',
        "sources",
        ['unknown key (did you mean "source"?)', "known keys: channel, dedupe, source, ticker"],
    ),
    (
        "unknown-ticker-key",
        "[ticker]\nintervall = 30\n",
        "ticker.intervall",
        ['unknown key (did you mean "interval"?)', "known keys:"],
    ),
    (
        "unknown-source-key",
        SOURCE_X + 'selektor = "li"\n',
        'source[1] ("x").selektor',
        ['did you mean "selector"?'],
    ),
    (
        "source-interval-string",
        SOURCE_X + 'interval = "30"\n',
        'source[1] ("x").interval',
        ["expected a number of seconds between 1 and 86400, got '30'"],
    ),
    (
        "renamed-from-a-configured-source",
        SOURCE_X + 'renamed_from = "y"\n' + SOURCE_X.replace('"x"', '"y"'),
        'source[1] ("x").renamed_from',
        ['"y" is a configured source; expected a former name'],
    ),
    (
        "renamed-from-itself",
        SOURCE_X + 'renamed_from = "x"\n',
        'source[1] ("x").renamed_from',
        ['"x" is a configured source'],
    ),
    (
        "renamed-from-claimed-twice",
        SOURCE_X
        + 'renamed_from = "old"\n'
        + SOURCE_X.replace('"x"', '"y"')
        + 'renamed_from = "old"\n',
        'source[2] ("y").renamed_from',
        ['"old" is claimed by another source too'],
    ),
    (
        "renamed-from-empty",
        SOURCE_X + 'renamed_from = ""\n',
        'source[1] ("x").renamed_from',
        ["expected the source's former name (string), got ''"],
    ),
    (
        "allow-private-string",
        SOURCE_X + 'allow_private = "yes"\n',
        'source[1] ("x").allow_private',
        ["expected true or false, got 'yes'"],
    ),
    (
        "order-unknown",
        SOURCE_X + 'order = "newest-last"\n',
        'source[1] ("x").order',
        ['expected "newest-first" or "oldest-first", got \'newest-last\''],
    ),
    (
        "ticker-interval-zero",
        "[ticker]\ninterval = 0\n" + SOURCE_X,
        "ticker.interval",
        ["expected a number of seconds between 1 and 86400, got 0"],
    ),
    (
        "ticker-interval-bool",
        "[ticker]\ninterval = true\n",
        "ticker.interval",
        ["expected a number of seconds between 1 and 86400, got True"],
    ),
    (
        "ticker-interval-infinite",
        "[ticker]\ninterval = inf\n",
        "ticker.interval",
        ["expected a number of seconds between 1 and 86400, got inf"],
    ),
    (
        "max-page-bytes-too-small",
        "[ticker]\nmax_page_bytes = 100\n",
        "ticker.max_page_bytes",
        ["expected an integer number of bytes between 10000 and 100000000, got 100"],
    ),
    (
        "ticker-array-of-tables",
        "[[ticker]]\ninterval = 30\n",
        "ticker",
        ["expected a table"],
    ),
    (
        "negative-backfill",
        SOURCE_X + "backfill = -1\n",
        'source[1] ("x").backfill',
        ["expected an integer between 0 and 500 (lines to alert on the first poll)", "got -1"],
    ),
    (
        "source-without-url",
        '[[source]]\nname = "x"\nselector = "li"\n',
        'source[1] ("x").url',
        ["missing; expected an http:// or https:// URL"],
    ),
    (
        "source-ftp-url",
        '[[source]]\nname = "x"\nurl = "ftp://example.org/"\nselector = "li"\n',
        'source[1] ("x").url',
        ["expected an http:// or https:// URL, got 'ftp://example.org/'"],
    ),
    (
        "source-without-name",
        '[[source]]\nurl = "https://example.org/"\nselector = "li"\n',
        "source[1].name",
        ["missing; expected a non-empty string"],
    ),
    (
        "unknown-kind",
        SOURCE_X + 'kind = "nosuch"\n',
        'source[1] ("x").kind',
        [f"expected one of: {', '.join(kind_names())}, got 'nosuch'"],
    ),
    (
        "html-key-unknown",
        SOURCE_X + 'lable = "URGENT"\n',
        'source[1] ("x").lable',
        ['unknown key (did you mean "label"?)', 'and for kind "html": selector, label'],
    ),
    (
        "html-selector-not-a-string",
        SOURCE_X.replace('selector = ".ticker li"', "selector = 3"),
        'source[1] ("x").selector',
        ['expected a CSS selector (string) for kind "html", got 3'],
    ),
    (
        "html-label-blank",
        SOURCE_X + 'label = " "\n',
        'source[1] ("x").label',
        ['expected the text that labels the ticker, e.g. "BREAKING" for kind "html", got \' \''],
    ),
    (
        "html-unknown-site-without-selector-or-label",
        '[[source]]\nname = "x"\nurl = "https://unknown.example.org/"\n',
        'source[1] ("x").selector',
        ["missing; expected a CSS selector", 'label = "BREAKING"', "preset", '(kind "html")'],
    ),
    (
        "source-not-a-table",
        'source = ["x"]\n',
        "source[1]",
        ["expected a table"],
    ),
    (
        "source-plain-table",
        '[source]\nname = "x"\nurl = "https://example.org/"\nselector = "li"\n',
        "source",
        ["expected [[source]] tables"],
    ),
    (
        "duplicate-source-names",
        SOURCE_X + SOURCE_X,
        "source[2].name",
        ['duplicate name "x"', "each source needs its own"],
    ),
    (
        "duplicate-channel-names",
        SOURCE_X
        + '[[channel]]\nname = "me"\nurls = ["json://localhost/a"]\n'
        + '[[channel]]\nname = "me"\nurls = ["json://localhost/b"]\n',
        "channel[2].name",
        ['duplicate name "me"', "each channel needs its own"],
    ),
    (
        "channel-empty-urls",
        SOURCE_X + '[[channel]]\nname = "me"\nurls = []\n',
        'channel[1] ("me").urls',
        ["expected a non-empty list of Apprise URLs", "got []"],
    ),
    (
        "channel-urls-not-a-list",
        SOURCE_X + f'[[channel]]\nname = "me"\nurls = "{MAIL_URL}"\n',
        'channel[1] ("me").urls',
        [
            "expected a non-empty list of Apprise URLs",
            "got 'mailto://me:***@example.com?to=a@example.com'",
        ],
    ),
    (
        "channel-url-without-scheme",
        SOURCE_X + '[[channel]]\nname = "me"\nurls = ["json://localhost/", "example.com"]\n',
        'channel[1] ("me").urls',
        ["expected a non-empty list of Apprise URLs", "got ['json://localhost', '***']"],
    ),
    (
        "channel-without-urls",
        SOURCE_X + '[[channel]]\nname = "me"\n',
        'channel[1] ("me").urls',
        ["missing; expected a non-empty list of Apprise URLs"],
    ),
    (
        "channel-unknown-source",
        SOURCE_X + '[[channel]]\nname = "me"\nurls = ["json://localhost/"]\nsources = ["y"]\n',
        'channel[1] ("me").sources',
        ['unknown source "y"', "known: x"],
    ),
    (
        "non-utf8-file",
        b'[[source]]\nname = "caf\xe9"\nurl = "https://example.org/"\n',
        None,
        ["not valid UTF-8 text"],
    ),
    (
        "missing-file",
        None,
        None,
        ["file not found"],
    ),
]


@pytest.mark.parametrize(
    ("content", "field", "fragments"),
    [pytest.param(c, f, fr, id=i) for i, c, f, fr in BROKEN],
)
def test_broken_config_is_one_line_naming_file_field_and_expectation(
    tmp_path: Path,
    isolated_env: dict[str, Path],
    content: str | bytes | None,
    field: str | None,
    fragments: list[str],
) -> None:
    path = isolated_env["etc"] / "config.toml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")

    code, output = check(path)

    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    where = f"{path}: {field}: " if field else f"{path}: "
    assert lines[0].startswith(f"ticker: error: {where}"), output
    for fragment in fragments:
        assert fragment in output
    # A channel password never comes back in an error message either.
    assert MAIL_PASSWORD not in output
    # Nothing was written anywhere: no database, no directories with files.
    assert files_under(tmp_path) == ([path] if content is not None else [])


def test_config_check_lists_sources_and_channels_with_secrets_hidden(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text(
        f"""
[ticker]
interval = 45

[[source]]
name = "almayadeen-en"
url = "https://english.almayadeen.net/"

[[source]]
name = "other"
url = "https://news.example.org/"
selector = ".breaking li"
interval = 60

[[source]]
name = "labelled"
url = "https://labelled.example.org/"
label = "URGENT"

[[channel]]
name = "mail"
urls = ["{MAIL_URL}"]
sources = ["other"]

[[channel]]
name = "phone"
urls = ["{TG_URL}"]
""",
        encoding="utf-8",
    )

    code, output = check(path)

    assert code == 0, output
    assert f"{path}: OK" in output
    database = isolated_env["xdg-data"] / "ticker" / "ticker.db"
    assert f"database: {database}" in output
    assert "sources (3):" in output
    assert "almayadeen-en: https://english.almayadeen.net/ every 45s, kind html: preset" in output
    other = "other: https://news.example.org/ every 60s, kind html: selector '.breaking li'"
    assert other in output
    assert "labelled: https://labelled.example.org/ every 45s, kind html: label 'URGENT'" in output
    assert "channels (2):" in output
    assert "mail: mailto://me:***@example.com?to=a@example.com <- other" in output
    assert "phone: tgram://***/*** <- all sources" in output
    assert MAIL_PASSWORD not in output
    assert TG_TOKEN not in output
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in output
    assert "-100123" not in output
    # Checking the config does not create the database.
    assert not database.exists()
    assert files_under(tmp_path) == [path]


def test_config_check_rejects_an_apprise_url_apprise_cannot_use(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text(
        SOURCE_X
        + '[[channel]]\nname = "ok"\nurls = ["json://localhost/"]\n'
        + '[[channel]]\nname = "bad"\nurls = ["nosuchscheme://user:hunter2pass@x"]\n',
        encoding="utf-8",
    )

    code, output = check(path)

    assert code == 2, output
    assert f'{path}: channel[2] ("bad").urls: Apprise cannot use nosuchscheme://user:***@' in output
    assert "hunter2pass" not in output
    assert files_under(tmp_path) == [path]


def test_config_check_without_config_option_uses_ticker_config(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = isolated_env["etc"] / "from-env.toml"
    path.write_text(SOURCE_X, encoding="utf-8")
    (isolated_env["cwd"] / "config.toml").write_text("[ticker]\nbroken = 1\n", encoding="utf-8")
    monkeypatch.setenv("TICKER_CONFIG", str(path))

    result = CliRunner().invoke(main, ["config", "check"])

    assert result.exit_code == 0, result.output
    assert f"{path}: OK" in result.output


# --- discovery ----------------------------------------------------------------------------


@pytest.fixture
def every_candidate(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """A config file at each place ticker looks, and $TICKER_CONFIG pointing at one."""
    paths = {
        "explicit": isolated_env["etc"] / "explicit.toml",
        "env": isolated_env["etc"] / "env.toml",
        "cwd": isolated_env["cwd"] / "config.toml",
        "xdg": isolated_env["xdg-config"] / "ticker" / "config.toml",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SOURCE_X, encoding="utf-8")
    monkeypatch.setenv("TICKER_CONFIG", str(paths["env"]))
    return paths


def test_explicit_config_beats_everything(every_candidate: dict[str, Path]) -> None:
    assert find_config(str(every_candidate["explicit"])) == every_candidate["explicit"]
    assert find_config(every_candidate["explicit"]) == every_candidate["explicit"]


def test_ticker_config_beats_cwd_and_xdg(every_candidate: dict[str, Path]) -> None:
    assert find_config() == every_candidate["env"]
    assert find_config(None) == every_candidate["env"]


def test_empty_ticker_config_is_ignored(
    every_candidate: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKER_CONFIG", "")
    assert find_config().resolve() == every_candidate["cwd"]


def test_cwd_config_beats_xdg(
    every_candidate: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKER_CONFIG")
    found = find_config()
    assert found.resolve() == every_candidate["cwd"]
    assert load_config().path.resolve() == every_candidate["cwd"]


def test_xdg_config_when_there_is_no_cwd_config(
    every_candidate: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TICKER_CONFIG")
    every_candidate["cwd"].unlink()
    assert find_config() == every_candidate["xdg"]


def test_xdg_config_home_defaults_to_dot_config(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    path = isolated_env["home"] / ".config" / "ticker" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(SOURCE_X, encoding="utf-8")
    assert find_config() == path


def test_explicit_and_env_paths_are_used_even_if_missing(
    every_candidate: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = every_candidate["explicit"].with_name("missing.toml")
    assert find_config(missing) == missing
    with pytest.raises(ConfigError, match="file not found") as excinfo:
        load_config(missing)
    assert excinfo.value.path == str(missing)

    monkeypatch.setenv("TICKER_CONFIG", str(missing))
    assert find_config() == missing


def test_no_config_anywhere_names_every_place_tried(isolated_env: dict[str, Path]) -> None:
    if Path("/etc/ticker/config.toml").is_file():
        pytest.skip("this machine has /etc/ticker/config.toml")
    with pytest.raises(ConfigError, match="no config file found") as excinfo:
        find_config()
    message = str(excinfo.value)
    assert str(isolated_env["xdg-config"] / "ticker" / "config.toml") in message
    assert "/etc/ticker/config.toml" in message
    assert "config.toml" in message.split("tried", 1)[1].split(",")[0]


# --- the database path --------------------------------------------------------------------


def write_config(directory: Path, ticker_table: str = "") -> Path:
    path = directory / "config.toml"
    path.write_text(f"[ticker]\n{ticker_table}\n{SOURCE_X}", encoding="utf-8")
    return path


def test_database_defaults_to_state_directory_under_systemd(
    tmp_path: Path, isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("STATE_DIRECTORY", f"{state}:{tmp_path / 'second'}")
    config = load_config(write_config(isolated_env["etc"]))
    assert config.settings.database == state / "ticker.db"


def test_database_defaults_to_xdg_data_home(isolated_env: dict[str, Path]) -> None:
    config = load_config(write_config(isolated_env["etc"]))
    assert config.settings.database == isolated_env["xdg-data"] / "ticker" / "ticker.db"


def test_database_defaults_to_local_share_without_xdg_data_home(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_DATA_HOME")
    config = load_config(write_config(isolated_env["etc"]))
    expected = isolated_env["home"] / ".local" / "share" / "ticker" / "ticker.db"
    assert config.settings.database == expected


def test_relative_database_is_relative_to_the_config_file(isolated_env: dict[str, Path]) -> None:
    config = load_config(write_config(isolated_env["etc"], 'database = "data/my.db"'))
    assert config.settings.database == isolated_env["etc"] / "data" / "my.db"


def test_relative_database_with_a_relative_config_path_is_absolute(
    isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_env["etc"], 'database = "my.db"')
    monkeypatch.chdir(isolated_env["etc"].parent)
    config = load_config("etc/config.toml")
    assert config.settings.database.is_absolute()
    assert config.settings.database == isolated_env["etc"] / "my.db"


def test_relative_database_is_relative_to_state_directory_under_systemd(
    tmp_path: Path, isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    config = load_config(write_config(isolated_env["etc"], 'database = "my.db"'))
    assert config.settings.database == tmp_path / "state" / "my.db"


def test_absolute_and_home_database_paths(
    tmp_path: Path, isolated_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    absolute = tmp_path / "elsewhere" / "t.db"
    config = load_config(write_config(isolated_env["etc"], f'database = "{absolute}"'))
    assert config.settings.database == absolute

    config = load_config(write_config(isolated_env["etc"], 'database = "~/t.db"'))
    assert config.settings.database == isolated_env["home"] / "t.db"

    monkeypatch.setenv("TICKER_TEST_DB_DIR", str(tmp_path / "fromenv"))
    config = load_config(write_config(isolated_env["etc"], 'database = "$TICKER_TEST_DB_DIR/t.db"'))
    assert config.settings.database == tmp_path / "fromenv" / "t.db"


# --- defaults and the shipped file --------------------------------------------------------


def test_source_defaults_come_from_the_ticker_table(isolated_env: dict[str, Path]) -> None:
    config = load_config(write_config(isolated_env["etc"], "interval = 12"))
    source = config.source("x")
    assert source.kind == "html"
    assert source.interval == 12
    assert source.jitter == pytest.approx(1.2)
    assert source.backfill == 0
    assert config.channels == ()


def test_shipped_config_loads_and_validates(isolated_env: dict[str, Path]) -> None:
    config = load_config(SHIPPED_CONFIG)
    assert config.path == SHIPPED_CONFIG
    assert [s.name for s in config.sources] == ["almayadeen-en"]
    source = config.source("almayadeen-en")
    assert source.url == "https://english.almayadeen.net/"
    assert preset_for(source.url) is not None
    assert source.interval == 30
    assert config.channels == ()
    assert config.settings.database == isolated_env["xdg-data"] / "ticker" / "ticker.db"


def test_shipped_channel_examples_are_valid_when_uncommented(monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "app-password")
    monkeypatch.setenv("TELEGRAM_TOKEN", "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    head, marker, channels = text.partition("# --- Channels")
    keys = "|".join(
        ["name", "urls", "sources", "attributions", "include", "exclude", "updates"]
        + ["group_window", "quiet_hours", "quiet", "timezone", "max_per_minute", "health"]
        + ["max_delivery_age", "late"]
    )
    uncommented = (
        head
        + marker
        + re.sub(rf"^# ((\[\[channel\]\])|(({keys}) = .*))$", r"\1", channels, flags=re.MULTILINE)
    )
    assert uncommented != text

    config = parse_config(tomllib.loads(uncommented), SHIPPED_CONFIG)

    assert [c.name for c in config.channels] == ["mail", "phone", "desktop", "ntfy"]
    assert config.channels[0].urls[0].startswith("mailtos://user:app-password@")
    # The list of every option lands on the last example: all of it must be valid.
    ntfy = config.channels[-1]
    assert ntfy.sources == ("almayadeen-en",)
    assert (ntfy.quiet_hours, ntfy.quiet, ntfy.max_per_minute) == ("23:00-07:00", "digest", 20)
    assert (ntfy.max_delivery_age, ntfy.late) == (86400, "expire")


def test_a_config_that_cannot_be_read_is_one_line_and_writes_nothing(
    tmp_path: Path, isolated_env: dict[str, Path]
) -> None:
    directory = isolated_env["etc"] / "config.toml"
    directory.mkdir()  # a path that exists but is no file
    code, output = check(directory)
    assert code == 2
    assert output.strip() == f"ticker: error: {directory}: cannot read: Is a directory"
    unreadable = isolated_env["etc"] / "secret.toml"
    unreadable.write_text("[ticker]\n", encoding="utf-8")
    unreadable.chmod(0)
    if os.geteuid() != 0:  # root reads it anyway
        code, output = check(unreadable)
        assert code == 2 and "cannot read: Permission denied" in output
    assert files_under(tmp_path) == [unreadable]


def test_config_check_warns_about_non_public_sources_and_still_passes(
    isolated_env: dict[str, Path],
) -> None:
    hosts = {
        "metadata": "http://169.254.169.254/latest/",
        "local": "http://127.0.0.1:8080/",
        "lan": "http://10.1.2.3/news",
        "ula": "http://[fd12::1]/",
        "named": "http://localhost:8080/",
        "intranet": "https://intranet.internal.test/",
        "public": "https://93.184.215.14/",
        "unknown": "https://nowhere.example.test/",
    }
    path = isolated_env["etc"] / "config.toml"
    path.write_text(
        "".join(
            f'[[source]]\nname = "{name}"\nurl = "{url}"\nselector = "li"\n'
            for name, url in hosts.items()
        ),
        encoding="utf-8",
    )

    code, output = check(path)

    assert code == 0, output
    notes = [line.strip() for line in output.splitlines() if line.startswith("    ")]
    tail = "not public: check that this is the page you mean"
    assert notes == [
        f"warning: 169.254.169.254 is a link-local address (the cloud metadata service), {tail}",
        f"warning: 127.0.0.1 is a loopback address, {tail}",
        f"warning: 10.1.2.3 is a private address, {tail}",
        f"warning: fd12::1 is a private address, {tail}",
        f"warning: localhost resolves to 127.0.0.1, a loopback address, {tail}",
        f"warning: intranet.internal.test resolves to 10.0.0.7, a private address, {tail}",
        "note: nowhere.example.test does not resolve here (Name or service not known)",
    ]


TELEGRAM_BROKEN = [
    (
        "telegram-channel-page",
        'url = "https://t.me/AlMayadeenNews"\n',
        "url",
        [
            "https://t.me/AlMayadeenNews is the channel's page, which lists no posts; "
            'use its web preview, https://t.me/s/AlMayadeenNews (kind "telegram")'
        ],
    ),
    (
        "telegram-bad-name",
        'url = "https://t.me/s/ab"\n',
        "url",
        [
            "expected a public channel's web preview, https://t.me/s/NAME (NAME: the channel's "
            "username, 4-32 letters, digits or underscores), got https://t.me/s/ab "
            '(kind "telegram")'
        ],
    ),
    (
        "telegram-html-key",
        'url = "https://t.me/s/AlMayadeenNews"\nselector = "li"\n',
        "selector",
        ["unknown key", 'and for kind "telegram": none'],
    ),
    (
        "telegram-url-not-a-string",
        "url = 5\n",
        "url",
        ["expected an http:// or https:// URL, got 5"],
    ),
]


# (id, the json source's keys, field named, what the message says is expected)
JSON_SOURCE_ERRORS: list[tuple[str, str, str, str]] = [
    (
        "text-missing",
        'items = "data.news"\n',
        "text",
        "missing; expected a JMESPath expression of an item's text with items",
    ),
    (
        "items-missing",
        'text = "headline"\n',
        "items",
        "missing; expected a JMESPath expression selecting the list of items with text "
        "(give neither for a JSON Feed)",
    ),
    ("items-type", 'items = 3\ntext = "t"\n', "items", "expected a JMESPath expression (string)"),
    ("time-blank", 'time = "  "\n', "time", "expected a JMESPath expression (string)"),
    (
        "items-invalid",
        'items = "data.[]"\ntext = "t"\n',
        "items",
        "not a JMESPath expression: Expecting:",
    ),
    (
        "link-unknown-function",
        'link = "first(links)"\n',
        "link",
        "not a usable JMESPath expression: Unknown function: first()",
    ),
    ("html-key", 'selector = "li"\n', "selector", "unknown key"),
]


@pytest.mark.parametrize(
    ("table", "key", "fragments"),
    [pytest.param(t, k, f, id=i) for i, t, k, f in TELEGRAM_BROKEN],
)
def test_a_broken_telegram_source_names_file_source_kind_and_key(
    isolated_env: dict[str, Path], table: str, key: str, fragments: list[str]
) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text(f'[[source]]\nname = "tg"\nkind = "telegram"\n{table}', encoding="utf-8")

    code, output = check(path)

    assert code == 2, output
    assert output.strip().splitlines() == [output.strip()], output  # one line
    assert output.startswith(f'ticker: error: {path}: source[1] ("tg").{key}: '), output
    for fragment in fragments:
        assert fragment in output, output


@pytest.mark.parametrize(
    ("table", "field", "expected"),
    [row[1:] for row in JSON_SOURCE_ERRORS],
    ids=[row[0] for row in JSON_SOURCE_ERRORS],
)
def test_a_broken_json_source_names_file_source_kind_key_and_expectation(
    isolated_env: dict[str, Path], table: str, field: str, expected: str
) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text(
        f'[[source]]\nname = "api"\nurl = "https://example.org/news.json"\nkind = "json"\n{table}',
        encoding="utf-8",
    )
    code, output = check(path)
    assert code == 2, output
    assert output.startswith(f'ticker: error: {path}: source[1] ("api").{field}: {expected}')
    assert 'kind "json"' in output
    assert len(output.strip().splitlines()) == 1


def test_the_shipped_json_examples_are_valid_when_uncommented() -> None:
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    start = text.index("\n", text.index("# --- kind json")) + 1
    block = text[start : text.index("\n\n", start)]
    uncommented = re.sub(r"^# ?", "", block, flags=re.MULTILINE)
    config = parse_config(tomllib.loads(uncommented), SHIPPED_CONFIG)
    api, feed = config.sources
    assert (api.kind, api.options["items"], api.options["text"]) == ("json", "data.news[]", "title")
    assert (feed.kind, feed.options["items"]) == ("json", None)


# Kind "rss" (issue 13): its one key, `text`, is optional; a wrong type, a value that is
# not one of its modes, and another kind's key are each one line naming the file, the
# source, the key, the kind and what is expected.
RSS_BROKEN = [
    ("rss-text-type", "text = 3", "text", ['expected "title" or "title+summary" for kind "rss"']),
    ("rss-text-blank", 'text = ""', "text", ['expected "title" or "title+summary" for kind "rss"']),
    (
        "rss-text-value",
        'text = "summary"',
        "text",
        ['expected "title" or "title+summary", got \'summary\' (kind "rss")'],
    ),
    ("rss-html-key", 'selector = "li"', "selector", ["unknown key", 'for kind "rss": text']),
]


@pytest.mark.parametrize(
    ("line", "field", "fragments"), [pytest.param(ln, f, fr, id=i) for i, ln, f, fr in RSS_BROKEN]
)
def test_broken_rss_source_is_one_line_naming_file_source_kind_and_key(
    isolated_env: dict[str, Path], line: str, field: str, fragments: list[str]
) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text(
        f'[[source]]\nname = "feed"\nurl = "https://example.org/rss"\nkind = "rss"\n{line}\n',
        encoding="utf-8",
    )

    code, output = check(path)

    assert code == 2, output
    assert output.count("\n") == 1, output
    assert output.startswith(f'ticker: error: {path}: source[1] ("feed").{field}: '), output
    for fragment in fragments:
        assert fragment in output


def test_shipped_rss_example_is_valid_when_uncommented() -> None:
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    block = text.split('(kind "rss")', 1)[1].split("\n\n", 1)[0]
    example = re.sub(r"^# ?", "", block.partition("\n")[2], flags=re.MULTILINE)

    source = parse_config(tomllib.loads(example), SHIPPED_CONFIG).sources[0]

    assert (source.kind, source.options) == ("rss", {"text": "title+summary"})


def test_every_shipped_source_example_is_valid_when_uncommented() -> None:
    """The sources section of config.toml shows one example of each kind, commented out
    but for the English preset: uncommented, they load together, one source per kind."""
    text = SHIPPED_CONFIG.read_text(encoding="utf-8")
    head, marker, rest = text.partition("# --- Sources")
    sources, channels_marker, tail = rest.partition("# --- Channels")
    keys = "|".join(["name", "url", "kind", "text", "items", "link", "id", "time"])
    uncommented = re.sub(
        rf"^# ((\[\[source\]\])|(({keys}) += .*))$", r"\1", sources, flags=re.MULTILINE
    )
    config = parse_config(tomllib.loads(head + marker + uncommented), SHIPPED_CONFIG)
    assert [(s.name, s.kind) for s in config.sources] == [
        ("almayadeen-en", "html"),
        ("almayadeen-ar", "html"),
        ("almayadeen-es", "html"),
        ("example-rss", "rss"),
        ("example-api", "json"),
        ("example-jsonfeed", "json"),
        ("almayadeen-tg", "telegram"),
    ]
    assert set(kind_names()) == {s.kind for s in config.sources}


# --- issue 15: no source, bounded numbers, addresses shown --------------------------------


def test_config_check_refuses_a_config_without_a_source(isolated_env: dict[str, Path]) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text('[[channel]]\nname = "log"\nurls = ["json://localhost/"]\n', "utf-8")

    code, output = check(path)

    assert code == 2, output
    assert output.startswith(f"ticker: error: {path}: source: no [[source]] table"), output


@pytest.mark.parametrize(
    ("table", "key", "expected"),
    [
        (
            "[dedupe]\nthreshold = 200",
            "dedupe.threshold",
            "a similarity in percent between 50 and 100",
        ),
        (
            "[ticker]\nmax_page_bytes = 1",
            "ticker.max_page_bytes",
            "an integer number of bytes between 10000 and 100000000",
        ),
        (
            SOURCE_X + "backfill = 501",
            'source[1] ("x").backfill',
            "an integer between 0 and 500 (lines to alert on the first poll)",
        ),
        (
            SOURCE_X + '[[channel]]\nname = "c"\nurls = ["json://localhost/"]\nmax_per_minute = -1',
            'channel[1] ("c").max_per_minute',
            "an integer between 0 and 1000 (messages a minute; 0: no limit)",
        ),
    ],
)
def test_a_bounded_number_out_of_range_names_its_bounds_once(
    isolated_env: dict[str, Path], table: str, key: str, expected: str
) -> None:
    path = isolated_env["etc"] / "config.toml"
    path.write_text(f"{SOURCE_X if 'source' not in table else ''}\n{table}\n", "utf-8")

    code, output = check(path)

    assert code == 2, output
    assert f"{path}: {key}: expected {expected}, got" in output, output
    assert output.count(" between ") == 1 and " from " not in output, output


def test_no_bounded_key_describes_its_bounds_twice() -> None:
    """What precedes "between" names the type and unit only: no number in it."""
    from ticker.config import CHANNEL_FIELDS, DEDUPE_FIELDS, SOURCE_FIELDS, TICKER_FIELDS

    for fields in (TICKER_FIELDS, SOURCE_FIELDS, CHANNEL_FIELDS, DEDUPE_FIELDS):
        for key, field in fields.items():
            what, between, _bounds = field.expected.partition(" between ")
            if between:
                assert not re.search(r"\d", what), (key, field.expected)


def test_config_check_shows_mail_addresses_and_hides_the_password(
    isolated_env: dict[str, Path],
) -> None:
    path = isolated_env["etc"] / "config.toml"
    url = (
        f"mailtos://me:{MAIL_PASSWORD}@smtp.example.com:587/boss@example.org"
        "?from=ticker@example.com&to=me@example.com,you@example.net"
    )
    path.write_text(f'{SOURCE_X}[[channel]]\nname = "mail"\nurls = ["{url}"]\n', "utf-8")

    code, output = check(path)

    assert code == 0, output
    shown = (
        "mailtos://me:***@smtp.example.com:587/boss@example.org"
        "?from=ticker@example.com&to=me@example.com,you@example.net"
    )
    assert f"mail: {shown} <- all sources" in output
    assert MAIL_PASSWORD not in output
