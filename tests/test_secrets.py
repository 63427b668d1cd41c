"""Secrets kept out of config.toml: ${ENV}, ${file:...}, ${credential:...}; a warning for a
readable config that holds them; `ticker notify-test` against a real SMTP server."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import database_for
from servers import SmtpSink, free_port

from ticker.cli import main
from ticker.config import load_config
from ticker.errors import ConfigError

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def write(tmp_path: Path, urls: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n[[source]]\nname = "s"\nurl = "https://example.org/"\n'
        f'selector = "li"\n'
        f'[[channel]]\nname = "phone"\nurls = [{urls}]\n',
        encoding="utf-8",
    )
    path.chmod(mode)
    return path


def test_environment_file_and_credential_references_are_expanded(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    (tmp_path / "chat").write_text("-100123456\n", encoding="utf-8")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smtp").write_text("s3cretPassw0rd", encoding="utf-8")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    path = write(
        tmp_path,
        f'"tgram://${{TELEGRAM_TOKEN}}/${{file:{tmp_path}/chat}}", '
        '"mailto://me:${credential:smtp}@example.com"',
    )
    (channel,) = load_config(path).channels
    assert channel.urls == (f"tgram://{TOKEN}/-100123456", "mailto://me:s3cretPassw0rd@example.com")
    assert {TOKEN, "-100123456", "s3cretPassw0rd"} <= set(channel.secret_parts())
    assert TOKEN not in repr(channel)  # a logged or printed Channel shows no secret
    assert not channel.literal_secret


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ('"tgram://${NO_SUCH_VAR}/1"', "environment variable NO_SUCH_VAR is not set"),
        ('"tgram://${file:/nonexistent/token}/1"', "cannot read secret file /nonexistent/token"),
        ('"tgram://${credential:telegram}/1"', "needs $CREDENTIALS_DIRECTORY"),
    ],
)
def test_a_missing_secret_is_a_config_error(tmp_path, monkeypatch, url, problem) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = write(tmp_path, url)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f'{path}: channel[1] ("phone").urls: ')
    assert problem in str(raised.value)


def test_a_readable_config_holding_a_token_is_warned_about(tmp_path, caplog) -> None:
    literal = write(tmp_path, f'"tgram://{TOKEN}/-100123"', mode=0o644)
    with caplog.at_level(logging.WARNING, logger="ticker.config"):
        load_config(literal)
    assert "readable by other users" in caplog.text
    caplog.clear()
    literal.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="ticker.config"):
        load_config(literal)
    assert caplog.text == ""


def test_a_readable_config_with_only_references_is_not_warned_about(
    tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    path = write(tmp_path, '"tgram://${TELEGRAM_TOKEN}/-100123"', mode=0o644)
    with caplog.at_level(logging.WARNING, logger="ticker.config"):
        load_config(path)
    assert caplog.text == ""


def test_config_check_never_shows_an_expanded_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    path = write(tmp_path, '"tgram://${TELEGRAM_TOKEN}/-100123"')
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output and "tgram://***/***" in result.output


def test_notify_test_reports_per_channel_and_fails_if_one_fails(tmp_path) -> None:
    closed = free_port()
    with SmtpSink() as smtp:
        path = tmp_path / "config.toml"
        path.write_text(
            f'[[channel]]\nname = "good"\nurls = ["{smtp.url}"]\n'
            f'[[channel]]\nname = "down"\nurls = ["mailto://user:s3cretPassw0rd@127.0.0.1:{closed}'
            '?from=ticker@example.com&to=me@example.com"]\n',
            encoding="utf-8",
        )
        os.chmod(path, 0o600)
        result = CliRunner().invoke(main, ["--config", str(path), "notify-test"])
        only_good = CliRunner().invoke(main, ["--config", str(path), "notify-test", "good"])
        unknown = CliRunner().invoke(main, ["--config", str(path), "notify-test", "nope"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "good: sent" in lines
    assert any(line.startswith("down: failed: ") and "connection refused" in line for line in lines)
    assert "s3cretPassw0rd" not in result.output
    assert only_good.exit_code == 0 and only_good.stdout.strip() == "good: sent"
    assert "Notifying" not in result.output  # Apprise's chatter stays out of ticker's log
    assert unknown.exit_code == 2 and "no channel named nope" in unknown.output
    assert len(smtp.messages) == 2
    assert str(smtp.messages[0]["Subject"]) == "ticker: test message to good"


def test_tail_and_status_need_no_secret(tmp_path, monkeypatch) -> None:
    """Reading the log works where the service's credentials are not readable."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    path = write(tmp_path, '"tgram://${credential:telegram}/1"')
    for command in (["tail"], ["status"]):
        result = CliRunner().invoke(main, ["--config", str(path), *command])
        assert "CREDENTIALS_DIRECTORY" not in result.output, command
        assert "no database yet" in result.output  # it got as far as the database
    check = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert check.exit_code == 2 and "needs $CREDENTIALS_DIRECTORY" in check.output
