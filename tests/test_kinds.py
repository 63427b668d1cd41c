"""Source kinds as plugins: each kind declares its config keys; config validation,
`ticker kinds`, `config check` and health advice come from the declarations, so a new kind
is its module and one registry line."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ticker.cli import main
from ticker.config import SOURCE_FIELDS, Source, parse_config
from ticker.errors import ConfigError
from ticker.lines import Line
from ticker.sources import Key, Kind, html, kind_for, kind_names, registry
from ticker.sources.kind import TYPE_WORDS

CONFIG = Path("config.toml")


class FakeKind(Kind):
    """A made-up kind: the lines are the page's lines that start with `prefix`."""

    name = "fake"
    keys = (
        Key("prefix", str, "the text every line starts with", required=True),
        Key("limit", int, "at most this many lines", default=10),
    )

    def check(self, options: Mapping[str, Any], url: str) -> tuple[str, str] | None:
        if options["limit"] < 1:
            return "limit", f"expected at least 1, got {options['limit']}"
        return None

    def parse(self, page: str, source: Source) -> list[Line]:
        found = [row for row in page.splitlines() if row.startswith(source.options["prefix"])]
        return [Line.from_text(row) for row in found[: source.options["limit"]]]


@pytest.fixture
def fake_kind(monkeypatch: pytest.MonkeyPatch) -> FakeKind:
    """FakeKind registered as a module of its own plus one registry entry, as a real kind
    would be; nothing else is touched."""
    module = types.ModuleType("fake_kind")
    module.KIND = FakeKind()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_kind", module)
    monkeypatch.setitem(registry.KIND_MODULES, "fake", "fake_kind")
    return module.KIND  # type: ignore[no-any-return]


def source_table(**keys: Any) -> dict[str, Any]:
    return {"name": "x", "url": "https://example.org/", **keys}


def config_error(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config({"source": [table]}, CONFIG)
    return str(caught.value)


def test_every_registered_kind_declares_its_keys_and_help() -> None:
    assert kind_names() == ["html", "json", "rss", "telegram"]
    for name in kind_names():
        kind = kind_for(name)
        assert kind.name == name
        assert kind.help() and kind.identity
        for key in kind.keys:
            assert key.name not in SOURCE_FIELDS  # a kind's key would hide a common one
            assert key.name and key.help and key.type in TYPE_WORDS
            assert key.default is None or key.accepts(key.default)


def test_html_declares_selector_and_label_and_parses_with_its_module() -> None:
    kind = kind_for("html")
    assert [key.name for key in kind.keys] == ["selector", "label"]
    assert not any(key.required for key in kind.keys)
    source = Source(name="s", url="https://example.org/", options={"selector": ".t li"})
    page = '<ul class="t"><li>Hamas: one</li><li>two</li></ul>'
    assert [line.text for line in kind.parse(page, source)] == ["Hamas: one", "two"]
    assert kind.parse(page, source) == html.parse(page, source)


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("li", True), ("  ", False), (3, False), (True, False), (None, False)],
)
def test_a_string_key_takes_only_non_blank_strings(value: Any, accepted: bool) -> None:
    assert Key("selector", str, "help").accepts(value) is accepted


def test_number_keys_take_numbers_but_not_booleans() -> None:
    number, integer, flag = (Key("k", t, "help") for t in (float, int, bool))
    assert number.accepts(2) and number.accepts(2.5) and not number.accepts(True)
    assert integer.accepts(2) and not integer.accepts(2.5) and not integer.accepts(False)
    assert flag.accepts(False) and not flag.accepts(0)


def test_config_keeps_an_html_sources_keys_as_its_options() -> None:
    config = parse_config({"source": [source_table(label="URGENT")]}, CONFIG)
    assert config.sources[0].options == {"selector": None, "label": "URGENT"}


PARSER_LIBRARIES = ("feedparser", "jmespath", "selectolax")


@pytest.mark.parametrize(
    ("table", "imported"),
    [
        pytest.param('url = "https://example.org/"\nselector = "li"', [], id="html"),
        pytest.param('url = "https://example.org/rss"\nkind = "rss"', [], id="rss"),
        pytest.param('url = "https://example.org/feed.json"\nkind = "json"', [], id="json-feed"),
        # check() compiles a json source's expressions: jmespath, and only it, by design
        pytest.param(
            'url = "https://example.org/api"\nkind = "json"\nitems = "news"\ntext = "t"',
            ["jmespath"],
            id="json-expressions",
        ),
        pytest.param('url = "https://t.me/s/AlMayadeenNews"\nkind = "telegram"', [], id="telegram"),
    ],
)
def test_loading_a_config_imports_no_parser_library_the_kind_does_not_need(
    tmp_path: Path, table: str, imported: list[str]
) -> None:
    # `ticker tail` and `status` load the config: a parser library is imported when a page
    # is parsed, never by validation (selectolax and feedparser are never needed there)
    path = tmp_path / "config.toml"
    path.write_text(f'[[source]]\nname = "x"\n{table}\n')
    probe = (
        "import sys\nfrom ticker.config import load_config\n"
        f"load_config({str(path)!r})\n"
        f"print(' '.join(m for m in {PARSER_LIBRARIES!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == imported


def test_ticker_kinds_lists_each_kind_with_its_keys_and_help() -> None:
    result = CliRunner().invoke(main, ["kinds"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("html:\n  An HTML page's BREAKING strip")
    assert "  selector (string, optional): CSS selector of one ticker line\n" in result.output
    assert "  label (string, optional): the text labelling the ticker" in result.output
    assert "lines are identified by the fingerprint of the line's text" in result.output


def test_a_new_kind_is_validated_from_its_declarations(fake_kind: FakeKind) -> None:
    config = parse_config({"source": [source_table(kind="fake", prefix="Hamas")]}, CONFIG)
    source = config.sources[0]
    assert (source.kind, source.options) == ("fake", {"prefix": "Hamas", "limit": 10})
    assert kind_for("fake").parse("Hamas: a\nother\nHamas: b", source)[1].text == "Hamas: b"

    missing = config_error(source_table(kind="fake"))
    assert 'source[1] ("x").prefix: missing; expected a string for kind "fake"' in missing
    wrong = config_error(source_table(kind="fake", prefix="H", limit="5"))
    assert 'source[1] ("x").limit: expected an integer for kind "fake", got \'5\'' in wrong
    checked = config_error(source_table(kind="fake", prefix="H", limit=0))
    assert 'source[1] ("x").limit: expected at least 1, got 0 (kind "fake")' in checked
    # another kind's keys are not this kind's
    unknown = config_error(source_table(kind="fake", prefix="H", selector="li"))
    assert 'source[1] ("x").selector: unknown key' in unknown
    assert 'and for kind "fake": prefix, limit' in unknown
    typo = config_error(source_table(kind="fake", prefx="H"))
    assert '.prefx: unknown key (did you mean "prefix"?)' in typo
    named = f"expected one of: {', '.join(kind_names())}, got 'nosuch'"
    assert named in config_error(source_table(kind="nosuch"))


def test_a_new_kind_is_listed_by_ticker_kinds_and_config_check(
    fake_kind: FakeKind, tmp_path: Path
) -> None:
    listed = CliRunner().invoke(main, ["kinds"]).output
    assert "fake:\n  A made-up kind: the lines are the page's lines" in listed
    assert "  prefix (string, required): the text every line starts with" in listed
    assert "  limit (integer, optional, default 10): at most this many lines" in listed

    path = tmp_path / "config.toml"
    path.write_text(
        '[[source]]\nname = "x"\nurl = "https://example.org/"\nkind = "fake"\nprefix = "H"\n'
    )
    checked = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert "x: https://example.org/ every 30s, kind fake: prefix 'H', limit 10" in checked.output
    source = parse_config({"source": [source_table(kind="fake", prefix="H")]}, CONFIG).sources[0]
    assert fake_kind.layout_advice(source) == "update its prefix or limit"


def test_the_html_kind_advises_on_selector_or_label_when_its_ticker_is_lost() -> None:
    source = Source(name="s", url="https://example.org/", options={"label": "URGENT"})
    assert kind_for("html").layout_advice(source) == "update its selector or label"
    assert kind_for("html").describe(source) == "label 'URGENT'"
