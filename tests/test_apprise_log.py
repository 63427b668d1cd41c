"""Apprise's own log (issue 15, finding 4): ticker reads the reason in it and says it once,
in its own line; none of Apprise's lines reaches ticker's log handler."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Clock, database_for
from pipeline import Pipeline

from ticker.cli import main
from ticker.config import Channel, load_config
from ticker.notify import AppriseSender, Message, apprise_log, invalid_urls

PASSWORD = "s3cret-Passw0rd"
BAD_FROM = f"mailto://ticker:{PASSWORD}@127.0.0.1:2525?from=not-an-address&to=b@example.com"
REASON = "Invalid ~From~ email specified"


class Keep(logging.Handler):
    """Every record that reaches the root logger's handlers, formatted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def from_apprise(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.name.startswith("apprise")]


@pytest.fixture
def root_handler() -> Iterator[Keep]:
    """A handler on the root logger, as ticker.logs installs one; the apprise logger's
    level set as ticker.logs sets it at start-up."""
    keep, root, apprise_logger = Keep(), logging.getLogger(), logging.getLogger("apprise")
    level = apprise_logger.level
    apprise_logger.setLevel(logging.WARNING)
    root.addHandler(keep)
    yield keep
    root.removeHandler(keep)
    apprise_logger.setLevel(level)


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
        f'[[channel]]\nname = "mail"\nurls = ["{url}"]\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_a_rejected_url_gives_apprises_reason_and_none_of_its_lines(root_handler: Keep) -> None:
    (reason,) = invalid_urls((BAD_FROM,))
    assert reason.startswith("Apprise cannot use mailto://ticker:***@127.0.0.1:2525?")
    assert f": {REASON}: " in reason
    assert "Could not load" not in reason  # Apprise's line that only repeats the URL
    failure = AppriseSender((Channel(name="mail", urls=(BAD_FROM,)),)).send(
        "mail", Message(title="t", body="b")
    )
    assert failure is not None and REASON in failure.reason
    assert all(PASSWORD not in text for text in (reason, failure.reason))
    assert root_handler.from_apprise() == []


def test_a_send_keeps_apprises_lines_out_of_the_log(root_handler: Keep) -> None:
    url = "json://127.0.0.1:9/hook"  # discard port: nothing listens
    failure = AppriseSender((Channel(name="hook", urls=(url,)),)).send(
        "hook", Message(title="t", body="b")
    )
    assert failure is not None and failure.reason == "connection refused"
    assert root_handler.from_apprise() == []


def test_the_capture_holds_apprises_records_made_in_it(root_handler: Keep) -> None:
    with apprise_log() as entries:
        logging.getLogger("apprise").warning("a warning from %s", "Apprise")
        logging.getLogger("apprise").debug("what the server answered")
    assert entries == [("WARNING", "a warning from Apprise"), ("DEBUG", "what the server answered")]
    logging.getLogger("apprise").warning("outside any call")  # kept for -vv only
    assert root_handler.from_apprise() == []


def test_notify_test_and_config_check_say_the_reason_once(tmp_path: Path) -> None:
    path = write_config(tmp_path, BAD_FROM)
    tested = CliRunner().invoke(main, ["--config", str(path), "notify-test"])
    checked = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert (tested.exit_code, checked.exit_code) == (2, 2)  # not tried: config check refuses it
    for result in (tested, checked):
        said = [line for line in result.output.splitlines() if REASON in line]
        assert len(said) == 1, result.output
        assert "apprise" not in result.output.lower().replace("apprise cannot use", "")
        assert PASSWORD not in result.output
    assert tested.stdout.startswith("mail: invalid, not tried: Apprise cannot use mailto://ticker:")


def test_a_delivery_to_a_rejected_url_keeps_the_reason_as_its_last_error(tmp_path: Path) -> None:
    pipeline = Pipeline(load_config(write_config(tmp_path, BAD_FROM)), Clock())
    pipeline.show("Hamas: statement on the talks")
    pipeline.drain()
    stats = pipeline.store.channel_stats()["mail"]
    assert stats.pending == 1
    assert stats.last_error is not None and REASON in stats.last_error
    assert PASSWORD not in stats.last_error
    pipeline.close()
