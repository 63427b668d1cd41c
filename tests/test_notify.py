"""Formatting and per-service rendering: HTML for e-mail, escaped markup for the desktop,
limits as Apprise's plugins declare them, reasons for URLs Apprise cannot use."""

from __future__ import annotations

import pytest
from apprise.plugins.dbus import NotifyDBus
from click.testing import CliRunner

from ticker.cli import main
from ticker.notify import (
    Limits,
    Message,
    escape_markup,
    limits_of,
    retry_after_of,
    to_html,
    unusable_reason,
)


def test_email_html_escapes_site_text_and_links_only_http() -> None:
    body = (
        "\u2022 <script>alert(1)</script> & more\n  https://example.org/a?b=1&c=2\n"
        "\u2022 second\n  javascript:alert(1)\nChanged: 5 \u2192 6"
    )
    assert to_html(body) == (
        '<div dir="auto"><ul>'
        "<li>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more<br>"
        '<a dir="ltr" href="https://example.org/a?b=1&amp;c=2">https://example.org/a?b=1&amp;c=2</a>'
        "</li>"
        "<li>second<br>javascript:alert(1)</li>"
        "</ul><p>Changed: 5 \u2192 6</p></div>"
    )


def test_desktop_markup_is_escaped_but_quotes_are_left_alone() -> None:
    assert escape_markup('<b>x</b> & "it\'s"') == '&lt;b&gt;x&lt;/b&gt; &amp; "it\'s"'


@pytest.mark.parametrize(
    ("reason", "wait"),
    [
        ("Failed to send Telegram notification to -100: Too Many Requests: retry after 7, "
         "error=429.", 7.0),
        ("Retry-After: 30", 30.0),
        ("Connection refused", None),
    ],
)  # fmt: skip
def test_retry_after_is_read_from_the_refusal(reason, wait) -> None:
    assert retry_after_of(reason) == wait


def test_limits_come_from_the_services_of_a_channel() -> None:
    telegram = limits_of(["tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123"])
    assert telegram.chars == 4096 - 32 and telegram.lines == 0
    assert limits_of(["json://127.0.0.1"]).chars > 4096
    mixed = limits_of(
        ["json://127.0.0.1", "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/1"]
    )
    assert mixed.chars == telegram.chars  # the strictest service decides


def test_a_message_fits_only_within_every_limit() -> None:
    message = Message(title="t", body="\n".join(["line"] * 9))
    assert message.fits(Limits())
    assert message.fits(Limits(lines=10))  # nine lines and the title
    assert not message.fits(Limits(lines=9))
    assert message.fits(Limits(chars=message.chars()))
    assert not message.fits(Limits(chars=message.chars() - 1))


def test_an_unknown_scheme_and_a_missing_extra_are_told_apart(monkeypatch) -> None:
    assert "unknown service" in (unusable_reason("nosuch://user:pw@host") or "")
    assert "pw" not in (unusable_reason("nosuch://user:pw@host") or "")
    monkeypatch.setattr(NotifyDBus, "enabled", False)  # as without the desktop extra
    reason = unusable_reason("dbus://")
    assert reason == (
        "dbus:// is not available on this machine (pip install 'ticker[desktop]'; see the README)"
    )


def test_config_check_says_what_a_desktop_channel_lacks(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(NotifyDBus, "enabled", False)
    path = tmp_path / "config.toml"
    path.write_text('[[channel]]\nname = "desktop"\nurls = ["dbus://"]\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2
    assert 'channel[1] ("desktop").urls: dbus:// is not available on this machine' in result.output
