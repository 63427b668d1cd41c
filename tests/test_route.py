"""Routing: which channel takes which line (sources, words, regexes, attributions, updates,
quiet hours), and how its config is validated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import database_for, lines, untouched

from ticker.cli import main
from ticker.config import Channel, load_config
from ticker.errors import ConfigError
from ticker.route import (
    compile_pattern,
    in_quiet_hours,
    parse_quiet_hours,
    rate_allowance,
    router,
    rules_of,
    timezone_named,
)

CORRESPONDENT = "Al Mayadeen's correspondent: Israeli drone strike on a car in Bint Jbeil"
HAMAS = "Hamas: The delegation arrived in Cairo for the talks"
UTC_ZONE = timezone_named("UTC")


def at(hour: int, minute: int = 0) -> float:
    return datetime(2026, 11, 25, hour, minute, tzinfo=UTC).timestamp()


def channel(**rules: object) -> Channel:
    return Channel(name="me", urls=("json://127.0.0.1",), **rules)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("word", "text", "matches"),
    [
        ("Gaza", "Strikes on gaza city", True),
        ("Gaza", "Gazan officials said", False),  # a whole word, not a prefix
        ("Bint Jbeil", "a car in Bint  Jbeil", True),  # a phrase, spacing free
        ("U.S.", "the U.S. envoy", True),  # punctuation is literal, not regex
        ("U.S.", "the USA envoy", False),
        ("/\\bstrikes?\\b/", "Israeli STRIKE on Tyre", True),
        ("/killed|martyred/", "3 martyred in Khan Younis", True),
        ("/killed|martyred/", "3 injured", False),
        ("\u063a\u0632\u0629", "\u0642\u0635\u0641 \u0639\u0644\u0649 \u063a\u0632\u0629", True),
    ],
)
def test_include_words_are_whole_words_and_slashes_make_a_regex(word, text, matches) -> None:
    assert bool(compile_pattern(word).search(text)) is matches


def test_a_bad_regex_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="invalid regular expression /\\(unclosed/"):
        compile_pattern("/(unclosed/")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("23:00-07:00", (1380, 420)), ("9:30 - 17:45", (570, 1065)), ("00:00-06:00", (0, 360))],
)
def test_quiet_hours_parse(text, expected) -> None:
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize("text", ["23-07", "25:00-07:00", "23:00-07:60", "08:00-08:00", "night"])
def test_bad_quiet_hours_are_refused(text) -> None:
    with pytest.raises(ValueError):
        parse_quiet_hours(text)


@pytest.mark.parametrize(
    ("hour", "minute", "quiet"),
    [(22, 59, False), (23, 0, True), (3, 0, True), (6, 59, True), (7, 0, False), (12, 0, False)],
)
def test_quiet_hours_wrap_past_midnight(hour, minute, quiet) -> None:
    assert in_quiet_hours((1380, 420), UTC_ZONE, at(hour, minute)) is quiet


def test_quiet_hours_follow_the_channel_time_zone() -> None:
    beirut = timezone_named("Asia/Beirut")  # UTC+2 in November
    assert in_quiet_hours((1380, 420), beirut, at(21, 30))  # 23:30 in Beirut
    assert not in_quiet_hours((1380, 420), UTC_ZONE, at(21, 30))


def test_filters_combine_attributions_include_and_exclude() -> None:
    rules = rules_of(
        channel(
            attributions=("Our correspondent",),  # same canonical form as Al Mayadeen's
            include=("drone", "/\\bairstrikes?\\b/"),
            exclude=("Cairo",),
        )
    )
    correspondent, hamas = lines(CORRESPONDENT, HAMAS)
    assert rules.accepts(correspondent)
    assert not rules.accepts(hamas)  # another attribution
    assert not rules_of(channel(include=("airstrike",))).accepts(correspondent)
    assert not rules_of(channel(exclude=("bint jbeil",))).accepts(correspondent)
    assert rules_of(channel()).accepts(hamas)  # no rules: everything


def test_the_router_names_the_channels_of_each_line_and_kind() -> None:
    clock = [at(12)]
    channels = [
        Channel(name="all", urls=("json://x",)),
        Channel(name="hamas", urls=("json://x",), attributions=("Hamas",)),
        Channel(name="no-updates", urls=("json://x",), updates="silent"),
        Channel(
            name="night-drop",
            urls=("json://x",),
            quiet_hours="23:00-07:00",
            quiet="drop",
            timezone="UTC",
        ),
        Channel(
            name="night-digest",
            urls=("json://x",),
            quiet_hours="23:00-07:00",
            timezone="UTC",
        ),
    ]
    route = router(channels, lambda: clock[0])
    correspondent, hamas = lines(CORRESPONDENT, HAMAS)
    assert route(hamas, "new") == ["all", "hamas", "no-updates", "night-drop", "night-digest"]
    assert route(correspondent, "new") == ["all", "no-updates", "night-drop", "night-digest"]
    assert route(hamas, "update") == ["all", "hamas", "night-drop", "night-digest"]
    clock[0] = at(1)
    # At night the "drop" channel gets nothing; the "digest" one holds it (see the outbox).
    assert route(hamas, "new") == ["all", "hamas", "no-updates", "night-digest"]


def test_rate_allowance_is_what_the_minute_has_left() -> None:
    assert [rate_allowance(3, sent) for sent in (0, 2, 3, 5)] == [3, 1, 0, 0]
    assert rate_allowance(0, 7) is None  # 0: no limit


def write_channel(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[source]]\nname = "site"\nurl = "https://example.org/"\nselector = "li"\n'
        f'[[channel]]\nname = "me"\nurls = ["json://127.0.0.1"]\n{extra}\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ('include = ["/(gaza/"]', 'channel[1] ("me").include', "invalid regular expression"),
        ('exclude = "sport"', 'channel[1] ("me").exclude', 'a list of words or "/regex/"'),
        ('quiet_hours = "11pm-7am"', 'channel[1] ("me").quiet_hours', '"HH:MM-HH:MM"'),
        ('quiet = "hold"', 'channel[1] ("me").quiet', '"digest" or "drop"'),
        ('timezone = "Mars/Olympus"', 'channel[1] ("me").timezone', "unknown time zone"),
        ("max_per_minute = -1", 'channel[1] ("me").max_per_minute', "between 0 and 1000"),
        ('attributions = "Hamas"', 'channel[1] ("me").attributions', "a list of attributions"),
        (
            'quiet_hour = "23:00-07:00"',
            'channel[1] ("me").quiet_hour',
            'did you mean "quiet_hours"',
        ),
    ],
)
def test_bad_routing_rules_name_the_field_and_what_is_expected(
    tmp_path, extra, field, problem
) -> None:
    path = write_channel(tmp_path, extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.field == field
    assert problem in str(caught.value)
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    assert field in result.output
    assert untouched(database_for(tmp_path))


def test_routing_rules_load_from_the_config(tmp_path) -> None:
    path = write_channel(
        tmp_path,
        'include = ["Gaza", "/strikes?/"]\nexclude = ["football"]\n'
        'attributions = ["Al Mayadeen\'s correspondent"]\n'
        'quiet_hours = "23:00-07:00"\nquiet = "drop"\ntimezone = "Asia/Beirut"\n'
        "max_per_minute = 5\n",
    )
    (loaded,) = load_config(path).channels
    assert loaded.include == ("Gaza", "/strikes?/")
    assert loaded.quiet == "drop" and loaded.max_per_minute == 5
    rules = rules_of(loaded)
    assert rules.quiet_hours == (1380, 420)
    assert rules.attributions == frozenset({"correspondent"})


def test_config_check_shows_each_channel_rules(tmp_path) -> None:
    path = write_channel(
        tmp_path,
        'attributions = ["Hamas"]\ninclude = ["Gaza"]\nquiet_hours = "23:00-07:00"\n'
        'timezone = "Asia/Beirut"\nupdates = "silent"\n',
    )
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert (
        "    attributions: Hamas; include: Gaza; updates silent; "
        "quiet 23:00-07:00 Asia/Beirut (digest); at most 20/min\n"
    ) in result.stdout
