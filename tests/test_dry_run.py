"""`ticker poll --dry-run URL`: any kind, its keys given as --option KEY=VALUE and checked
as a config file's [[source]] keys are; bad ones are a clear error and fetch nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import PageServer

from ticker.cli import main

PAGE = '<h2>URGENT</h2><ul><li>Hamas: by label</li></ul><ol class="t"><li>by selector</li></ol>'


def dry_run(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--config", str(tmp_path / "none.toml"), "poll", "--dry-run", *args]
    )
    return result.exit_code, result.output


def test_options_reach_the_kind_as_its_keys(tmp_path: Path) -> None:
    with PageServer([PAGE]) as site:
        code, output = dry_run(tmp_path, "--kind", "html", "-o", "selector=.t li", site.url)
        assert (code, "  1. by selector" in output) == (0, True), output
        code, output = dry_run(tmp_path, site.url, "--option", "label=urgent")
        assert (code, "  1. [Hamas] by label" in output) == (0, True), output
        assert site.requests == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "gopher"], "(command line): --kind: expected one of: "),
        (["-o", "colour=red", "-o", "label=x"], "(command line): --option colour: unknown key"),
        (["-o", "label"], "(command line): --option: expected KEY=VALUE, got 'label'"),
        (["-o", "label=x", "-o", "backfill=many"], "--option backfill: expected an integer"),
        ([], "--option selector: missing; expected a CSS selector of one ticker line"),
    ],
)
def test_a_bad_kind_or_option_is_a_clear_error_and_fetches_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with PageServer([PAGE]) as site:
        code, output = dry_run(tmp_path, *args, site.url)
        assert site.requests == 0
    assert code == 2 and message in output, output
    assert "Traceback" not in output


def test_option_values_take_the_type_their_key_declares(tmp_path: Path) -> None:
    """ "allow_private=true" is the boolean a config file would write, so a loopback URL
    that redirects inward is followed; numbers are read as numbers."""
    with PageServer([PAGE]) as site:
        code, output = dry_run(
            tmp_path, "-o", "selector=.t li", "-o", "allow_private=true", "-o", "backfill=2",
            site.url,
        )  # fmt: skip
    assert code == 0 and "by selector" in output, output
