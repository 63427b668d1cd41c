"""E-mail through Apprise's mailto:// to a real SMTP server on loopback (aiosmtpd): subject,
plain-text and HTML parts, non-Latin text, and a server that refuses for a while."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from apprise.plugins.email import NotifyEmail
from conftest import Clock
from pipeline import Pipeline
from servers import SmtpSink

from ticker.config import Config, load_config
from ticker.outbox import RETRY_FIRST

ARABIC = "مراسل الميادين"  # "Al Mayadeen's correspondent"
ARABIC_BODY = "غارة على الضاحية"  # "a strike on the southern suburb"


@pytest.fixture
def smtp(monkeypatch):
    """The SMTP server, and Apprise's 5.5 s pause between two e-mails lifted for the test."""
    monkeypatch.setattr(NotifyEmail, "request_rate_per_sec", 0)
    with SmtpSink() as sink:
        yield sink


def write_config(tmp_path: Path, mail_url: str, extra: str = "") -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        '[ticker]\ndatabase = "t.db"\n'
        '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
        f'[[channel]]\nname = "mail"\nurls = ["{mail_url}"]\n{extra}\n',
        encoding="utf-8",
    )
    return load_config(path)


def parts(message: EmailMessage) -> dict[str, str]:
    """content type -> decoded text of each text part."""
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    }


def test_subject_names_source_and_attribution_with_text_and_html_parts(
    tmp_path, smtp: SmtpSink
) -> None:
    pipeline = Pipeline(write_config(tmp_path, smtp.url), Clock())
    pipeline.show("Al Mayadeen's correspondent: <script>alert(1)</script> strike & fire in Tyre")
    pipeline.drain()
    (message,) = smtp.messages
    assert str(message["Subject"]) == "src: Al Mayadeen's correspondent"
    assert message.get_content_type() == "multipart/alternative"
    text = parts(message)
    assert text["text/plain"].strip() == "<script>alert(1)</script> strike & fire in Tyre"
    html = text["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; strike &amp; fire in Tyre" in html
    assert "<script>" not in html  # site text is never markup in the e-mail


def test_arabic_arrives_intact_in_subject_and_both_parts(tmp_path, smtp: SmtpSink) -> None:
    pipeline = Pipeline(write_config(tmp_path, smtp.url), Clock())
    pipeline.show(f"{ARABIC}: {ARABIC_BODY}")
    pipeline.drain()
    (message,) = smtp.messages
    assert str(message["Subject"]) == f"src: {ARABIC}"
    text = parts(message)
    assert ARABIC_BODY in text["text/plain"]
    assert ARABIC_BODY in text["text/html"]


def test_updates_bursts_and_digests_say_so_in_the_subject(tmp_path, smtp: SmtpSink) -> None:
    clock = Clock()
    pipeline = Pipeline(write_config(tmp_path, smtp.url, "max_per_minute = 3"), clock)
    pipeline.show("Gaza Civil Defense spokesman: 5 killed in a strike on Jabalia")
    pipeline.drain()
    clock.now += 61
    pipeline.show("Gaza Civil Defense spokesman: 7 killed in a strike on Jabalia")
    pipeline.show("Hamas: one", "Hamas: two")
    pipeline.drain()
    clock.now += 61
    pipeline.show(*[f"Source {i}: statement {i}" for i in range(5)])
    pipeline.drain()
    assert [str(m["Subject"]) for m in smtp.messages] == [
        "src: Gaza Civil Defense spokesman",
        "Update: src: Gaza Civil Defense spokesman",
        "src: Hamas (2 lines)",
        "src: Source 4",
        "src: Source 3",
        "ticker: 3 alerts over the rate limit",
    ]
    assert "Changed: 5 \u2192 7" in parts(smtp.messages[1])["text/plain"]


def test_a_server_that_refuses_for_a_while_loses_nothing(tmp_path, smtp: SmtpSink) -> None:
    clock = Clock()
    pipeline = Pipeline(write_config(tmp_path, smtp.url), clock)
    smtp.refusing = True
    for i in range(4):
        pipeline.show(f"Source {i}: statement {i}")
        pipeline.drain()
        clock.now += 10
    assert smtp.messages == [] and smtp.refused >= 1
    assert len(pipeline.store.pending_deliveries()) == 4
    smtp.refusing = False
    clock.now += 8 * RETRY_FIRST  # past every backoff so far
    pipeline.drain()
    assert [str(m["Subject"]) for m in smtp.messages] == [f"src: Source {i}" for i in range(4)]
    assert pipeline.store.pending_deliveries() == []
    (alert, *_) = pipeline.store.recent_alerts(1)
    assert alert.deliveries == {"mail": "sent"}
