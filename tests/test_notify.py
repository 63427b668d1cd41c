"""Formatting and per-service rendering: HTML for e-mail, escaped markup for the desktop,
limits as Apprise's plugins declare them, reasons for URLs Apprise cannot use."""

from __future__ import annotations

import pytest
from apprise.plugins.dbus import NotifyDBus
from click.testing import CliRunner

from ticker.cli import main
from ticker.lines import Line
from ticker.notify import (
    SUBJECT_CHARS,
    Limits,
    Message,
    chat_parts,
    escape_markup,
    format_group,
    format_message,
    limits_of,
    one_line,
    retry_after_of,
    shorten,
    to_html,
    unusable_reason,
)
from ticker.store import Delivery


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


# --- titles: the headline, on one line, cut at a word (issue 15, finding 1) --------------


def alert(text: str, kind: str = "new", url: str | None = None) -> Delivery:
    line = Line.from_text(text)
    return Delivery(
        id=1, alert_id=1, channel="c", attempts=0, created=0.0, next_attempt=0.0,
        source="src", text=line.text, attribution=line.attribution, body=line.body, url=url,
        first_seen=0.0, kind=kind,
    )  # fmt: skip


def test_shorten_cuts_after_a_word_and_never_splits_a_letter_from_its_mark() -> None:
    assert shorten("short enough", 20) == "short enough"
    assert shorten("The army arrested a number of people", 20) == "The army arrested a\u2026"
    assert shorten("The army, arrested", 11) == "The army\u2026"  # its comma dropped
    assert shorten("Supercalifragilistic", 8) == "Superca\u2026"  # one word fills it
    assert shorten("تحلّقتحلّق", 4) == "تح\u2026"  # the shadda stays with its letter


def test_one_line_leaves_no_line_break_or_control_character() -> None:
    assert one_line("a\r\nBcc: x\u2028y\u2029z\x00\x1b[31m\t end ") == "a Bcc: x y z[31m end"


def test_a_title_holds_the_whole_line_when_it_fits_else_the_cut_headline() -> None:
    short = format_message(alert("Hamas: The delegation arrives in Cairo", url="https://e.org/1"))
    assert short == Message(
        "src: Hamas: The delegation arrives in Cairo",
        "The delegation arrives in Cairo\nhttps://e.org/1",  # its attribution is in the title
        headline_in_title=True,
    )
    long_text = "Hamas: " + "The delegation will arrive in Cairo tomorrow " * 4
    long = format_message(alert(long_text))
    assert long.title.startswith("src: The delegation will arrive")  # attribution: in the body
    assert long.title.endswith("\u2026") and len(long.title) <= SUBJECT_CHARS
    assert long.body == long_text.strip() and not long.headline_in_title
    update = format_message(alert("Hamas: 5 killed", kind="update"))
    assert update.title == "Update: Hamas: 5 killed"


def test_a_burst_title_is_its_first_listed_headline_and_how_many_more() -> None:
    burst = [alert(f"Our correspondent: strike number {i} " + "on the town " * i) for i in range(4)]
    title = format_group(burst).title
    assert (
        title == "Our correspondent: strike number 3 on the town on the town on the town (+3 more)"
    )
    many = format_group([alert("Our correspondent: " + "a long report " * 20)] * 12).title
    assert many.startswith("Our correspondent: a long report") and many.endswith(
        "\u2026 (+11 more)"
    )
    assert len(many) <= SUBJECT_CHARS


def test_chat_services_get_the_headline_once() -> None:
    with_link = Message("src: Hamas: talks", "Hamas: talks\nhttps://e.org/1", True)
    assert chat_parts(with_link) == ("src: Hamas: talks", "https://e.org/1")
    alone = Message("src: Hamas: talks", "Hamas: talks", True)
    assert chat_parts(alone) == ("", "src: Hamas: talks")  # a message needs a body
    cut = Message("src: long\u2026", "Hamas: long headline\nhttps://e.org/1")
    assert chat_parts(cut) == (cut.title, cut.body)
