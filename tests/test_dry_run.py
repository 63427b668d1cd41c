"""`ticker poll --dry-run URL`: any kind, its keys given as --option KEY=VALUE and checked
as a config file's [[source]] keys are; bad ones are a clear error and fetch nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import DocumentSite, PageServer

from bench import documents
from ticker.cli import main

T0 = 1_795_000_000  # 2026-11-18T11:06:40Z
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


def test_a_feed_dry_run_shows_each_line_with_its_link_id_and_time(tmp_path: Path) -> None:
    items = [("g2", "Hezbollah: Rockets fired at the Meron base", T0 + 60),
             ("g1", "Yemeni Armed Forces: A ship targeted", T0)]  # fmt: skip
    with DocumentSite() as site:
        url = site.put("/feed.xml", documents.RSS_TYPE, documents.rss(items))
        code, output = dry_run(tmp_path, "--kind", "rss", url)
    assert code == 0, output
    assert output.splitlines()[1:] == [
        "  1. [Hezbollah] Rockets fired at the Meron base",
        "     https://example.org/n/g2",
        "     id g2, posted 2026-11-18T11:07:40Z",
        "  2. [Yemeni Armed Forces] A ship targeted",
        "     https://example.org/n/g1",
        "     id g1, posted 2026-11-18T11:06:40Z",
    ]
    assert not (tmp_path / "ticker.db").exists()


def test_a_json_dry_run_takes_its_expressions_as_options(tmp_path: Path) -> None:
    news = [(7, "UNRWA: Aid trucks held at the Rafah crossing", T0)]
    options = [arg for key, value in documents.API_KEYS.items() for arg in ("-o", f"{key}={value}")]
    with DocumentSite() as site:
        url = site.put("/api.json", documents.JSON_TYPE, documents.api(news))
        code, output = dry_run(tmp_path, "--kind", "json", *options, url)
        bad, message = dry_run(tmp_path, "--kind", "json", "-o", "items=data.[", url)
    assert code == 0, output
    assert "  1. [UNRWA] Aid trucks held at the Rafah crossing" in output
    assert "     id 7, posted 2026-11-18T11:06:40Z" in output
    assert bad == 2 and "(command line): --option items: not a JMESPath expression" in message
