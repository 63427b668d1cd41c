"""The README holds to the code, both ways (after sqlite-utils' tests/test_docs.py): every
config key, command and option the code knows is mentioned in README.md; every `ticker ...`
command and option the README shows exists; every TOML example in README.md, and
config.toml, parses and passes `ticker config check` (offline: names resolve through the
test's fake resolver, conftest.no_dns).

Everything is read from the code (config.py's field tables, each kind's declared keys, the
click group), never listed here, so a new key, command or option is held to the README
without touching this file.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ticker import config as config_module
from ticker.cli import main
from ticker.config import Field
from ticker.sources import kind_for, kind_names

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG_TOML = ROOT / "config.toml"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`\n]+)`")
KEY_LINE = re.compile(r"^\s*#?\s*([a-z_][a-z0-9_]*)\s*=", re.MULTILINE)
# Where the README shows a command: `ticker` at the start of code, or after a space, a
# `(`, `sudo ... ` or a path ending in bin/ (not /var/lib/ticker, not ticker.db, not the unit
# of `journalctl -u ticker`).
INVOCATION = re.compile(r"(?:^|(?<=[\s(])|(?<=bin/))(?<!-u )ticker(?=\s)(.*)$", re.MULTILINE)
# Values the README's examples reference as secrets (`${NAME}`, `${file:...}`,
# `${credential:NAME}`), shaped as the services expect; any other name gets "s3cret".
SAMPLE_SECRETS = {
    "TELEGRAM_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "telegram": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "TELEGRAM_CHAT": "-1001234567890",
}
REFERENCE = re.compile(r"\$\{(?:(?:file|credential):)?([^}]+)\}")


# --- what the code knows ------------------------------------------------------------------


def config_keys() -> set[str]:
    """Every config key: the tables config.py validates (each module-level table of Fields,
    and the top-level tables) and every kind's declared keys."""
    keys = set(config_module.TOP_LEVEL)
    for value in vars(config_module).values():
        if isinstance(value, dict) and value and all(isinstance(f, Field) for f in value.values()):
            keys.update(value)
    for name in kind_names():
        keys.update(key.name for key in kind_for(name).keys)
    return keys


@dataclass(frozen=True)
class Command:
    """A command of the click group: its words after `ticker` and the click object."""

    path: str
    command: click.Command


def commands(group: click.Group = main, prefix: str = "") -> Iterator[Command]:
    """Every command and subcommand under `group`, depth first."""
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        yield Command(path, command)
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} ")


def options(command: click.Command) -> list[click.Option]:
    """The options of `command` a user types (not --help, which every command has)."""
    return [
        param
        for param in command.params
        if isinstance(param, click.Option) and "--help" not in param.opts
    ]


def option_names(command: click.Command) -> set[str]:
    return {name for option in options(command) for name in (*option.opts, *option.secondary_opts)}


# --- what the README shows ----------------------------------------------------------------


def fenced(kind: str, text: str = README) -> list[tuple[int, str]]:
    """The code blocks of language `kind` in `text`, each with its first line's number."""
    return [
        (text[: match.start()].count("\n") + 2, match[2])
        for match in FENCE.finditer(text)
        if match[1] == kind
    ]


def code_texts() -> list[str]:
    """The README's code: inline code spans (outside fences) and shell blocks."""
    prose = FENCE.sub("", README)
    return [*INLINE.findall(prose), *(block for _, block in fenced("sh"))]


def invocations() -> list[list[str]]:
    """Each `ticker ...` the README's code shows, as its words after `ticker`."""
    found = []
    for code in code_texts():
        for match in INVOCATION.finditer(code):
            text = match[1].split("#")[0].split("&&")[0].split("|")[0]
            try:
                words = shlex.split(text)
            except ValueError:
                words = text.split()
            found.append([w.strip("[]") for w in words if w.strip("[]")])
    return found


@dataclass(frozen=True)
class Shown:
    """A command as the README shows it: its path ("db backup") and the options given."""

    path: str
    options: tuple[str, ...]


def shown_commands() -> list[Shown]:
    """The commands the README's invocations name (global options before them skipped);
    invocations that name no command (`systemctl reload ticker`) are left out."""
    shown = []
    for words in invocations():
        group: click.Command = main
        path: list[str] = []
        rest = list(words)
        while rest:
            word = rest.pop(0)
            if word.startswith("-"):
                takes_value = _takes_value(group, word)
                if takes_value and rest:
                    rest.pop(0)
                continue
            if not isinstance(group, click.Group) or not re.fullmatch(r"[a-z][a-z-]*", word):
                rest.insert(0, word)
                break
            path.append(word)
            group = group.commands.get(word) or click.Command(word)
            if not isinstance(group, click.Group):
                break
        if path:
            given = tuple(w.split("=")[0] for w in rest if re.match(r"--?[a-zA-Z]", w))
            shown.append(Shown(" ".join(path), given))
    return shown


def _takes_value(command: click.Command, name: str) -> bool:
    return any(
        name in option.opts and not option.is_flag and not option.count
        for option in options(command)
    )


def mentions(path: str) -> str:
    """The README's lines (table rows, paragraphs) that show `ticker <path>`."""
    pattern = re.compile(rf"ticker (?:-\S+ (?:\S+ )?)*{re.escape(path)}\b")
    return "\n".join(line for line in README.splitlines() if pattern.search(line))


def documented_keys() -> set[str]:
    """Names the README gives as code (inline spans, and keys of its TOML blocks)."""
    prose = FENCE.sub("", README)
    words = {w for span in INLINE.findall(prose) for w in re.findall(r"[a-z_][a-z0-9_]*", span)}
    return words | {key for _, block in fenced("toml") for key in KEY_LINE.findall(block)}


# --- the code, in the README --------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(config_keys()))
def test_every_config_key_is_in_the_readme(key: str) -> None:
    assert key in documented_keys(), f"config key {key!r} is not in README.md"


@pytest.mark.parametrize("command", list(commands()), ids=lambda c: c.path)
def test_every_command_is_in_the_readme_and_has_help(command: Command) -> None:
    assert command.command.help, f"ticker {command.path} has no help"
    assert mentions(command.path), f"`ticker {command.path}` is not in README.md"


@pytest.mark.parametrize(
    ("path", "option"),
    [
        (c.path, option.opts[-1])
        for c in [Command("", main), *commands()]
        for option in options(c.command)
        if not c.path or not set(option.opts) & option_names(main)  # global: checked once
    ],
    ids=lambda value: value or "ticker",
)
def test_every_option_is_in_the_readme_with_its_command(path: str, option: str) -> None:
    command = main if not path else next(c.command for c in commands() if c.path == path)
    names = next(o for o in options(command) if option in o.opts).opts
    where = README if not path else mentions(path)  # global options: anywhere
    assert any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", where) for n in names), (
        f"{' / '.join(names)} of `ticker {path}` is not in README.md"
        + (" where it shows that command" if path else "")
    )


# --- the README, in the code --------------------------------------------------------------


def test_the_readme_shows_commands() -> None:
    assert len(shown_commands()) > 10  # the parser finds what it checks


@pytest.mark.parametrize("shown", shown_commands(), ids=lambda s: " ".join((s.path, *s.options)))
def test_every_command_and_option_the_readme_shows_exists(shown: Shown) -> None:
    known = {c.path: c.command for c in commands()}
    assert shown.path in known, f"README.md shows `ticker {shown.path}`, which does not exist"
    allowed = option_names(known[shown.path]) | option_names(main) | {"-h", "--help"}
    unknown = [option for option in shown.options if option not in allowed]
    assert not unknown, f"README.md shows `ticker {shown.path}` with unknown {unknown}"


def test_every_key_the_toml_examples_name_exists() -> None:
    texts = [block for _, block in fenced("toml")] + [CONFIG_TOML.read_text(encoding="utf-8")]
    named = {key for text in texts for key in KEY_LINE.findall(text)}
    assert named - config_keys() == set()


# --- the TOML examples pass `ticker config check` -----------------------------------------


def base_source() -> str:
    """config.toml's first source, as TOML: the source an example of a channel alone (or
    of [dedupe] alone) is checked with."""
    source = tomllib.loads(CONFIG_TOML.read_text(encoding="utf-8"))["source"][0]
    return "[[source]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in source.items())


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def check(text: str, tmp_path: Path) -> str:
    """Run `ticker config check` on `text` written to a file; its output. Secret references
    are replaced by sample values (SAMPLE_SECRETS) first."""
    path = tmp_path / "config.toml"
    path.write_text(REFERENCE.sub(lambda m: SAMPLE_SECRETS.get(m[1], "s3cret"), text), "utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    if "is not available on this machine" in result.output:
        pytest.skip("a desktop example needs the `desktop` extra (dbus-python)")
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(
    "block", [block for _, block in fenced("toml")], ids=[f"line {n}" for n, _ in fenced("toml")]
)
def test_every_toml_example_of_the_readme_passes_config_check(block: str, tmp_path: Path) -> None:
    tomllib.loads(block)  # TOML as it is shown
    text = block if "[[source]]" in block else f"{block}\n{base_source()}"
    assert ": OK" in check(text, tmp_path)


def test_config_toml_passes_config_check(tmp_path: Path) -> None:
    assert ": OK" in check(CONFIG_TOML.read_text(encoding="utf-8"), tmp_path)
