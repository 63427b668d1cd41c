"""`ticker poll` as cron runs it (issue 15, finding 13): the messages of one drain go out
without Apprise's pause between two of them, and each new line is printed once."""

from __future__ import annotations

from pathlib import Path

import apprise.url
import pytest
from click.testing import CliRunner
from conftest import database_for
from servers import PageServer, SmtpSink, ticker_page

from ticker.cli import main
from ticker.config import Channel
from ticker.notify import AppriseSender, Message

NEW = [f"Source {i}: statement number {i} on the talks" for i in range(3)]
OLD = ["Earlier: a line already on the strip"]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every pause Apprise's throttle takes (recorded, not slept)."""
    taken: list[float] = []
    monkeypatch.setattr(apprise.url.time, "sleep", taken.append)
    return taken


def test_messages_to_one_channel_go_out_without_apprises_pause(sleeps: list[float]) -> None:
    with SmtpSink() as smtp:
        sender = AppriseSender((Channel(name="mail", urls=(smtp.url,)),))
        failures = [sender.send("mail", Message(title=f"t{i}", body="b")) for i in range(3)]
        assert failures == [None, None, None]
        assert [str(m["Subject"]) for m in smtp.messages] == ["t0", "t1", "t2"]
    assert sleeps == []  # Apprise waits 5.5 s between two e-mails unless told not to


def write_config(tmp_path: Path, page_url: str, mail_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        f'[[source]]\nname = "src"\nurl = "{page_url}"\nselector = "li"\n'
        f'[[channel]]\nname = "mail"\nurls = ["{mail_url}"]\n',
        encoding="utf-8",
    )
    return path


def test_poll_prints_each_new_line_once_and_sends_without_pausing(
    tmp_path: Path, sleeps: list[float]
) -> None:
    pages = [ticker_page(OLD), ticker_page([*NEW, *OLD])]
    with SmtpSink() as smtp, PageServer(pages) as site:
        path = write_config(tmp_path, site.url, smtp.url)
        baseline = CliRunner().invoke(main, ["--config", str(path), "poll"])
        assert baseline.exit_code == 0, baseline.output
        result = CliRunner().invoke(main, ["--config", str(path), "poll"])
        assert result.exit_code == 0, result.output
        assert len(smtp.messages) == len(NEW)
    for text in NEW:
        assert result.output.count(text) == 1, result.output  # stdout only, not the log too
        assert f"[src] {text}\n" in result.stdout
    assert "alert 1 sent to mail" in result.stderr  # the log still says what was sent
    assert sleeps == []
