"""E-mail through Apprise's mailto:// to a real SMTP server on loopback (aiosmtpd): subject,
plain-text and HTML parts, non-Latin text, and a server that refuses for a while."""

from __future__ import annotations

import socket
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import Clock, database_for
from pipeline import Pipeline
from servers import SmtpSink, free_port

from ticker.config import Channel, Config, load_config
from ticker.notify import SUBJECT_CHARS, AppriseSender, Failure, Message, format_message
from ticker.outbox import RETRY_FIRST
from ticker.store import Delivery

ARABIC = "مراسل الميادين"  # "Al Mayadeen's correspondent"
ARABIC_BODY = "غارة على الضاحية"  # "a strike on the southern suburb"


@pytest.fixture
def smtp():
    """The SMTP server (ticker lifts Apprise's 5.5 s pause between two e-mails itself)."""
    with SmtpSink() as sink:
        yield sink


def write_config(tmp_path: Path, mail_url: str, extra: str = "") -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
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


def test_subject_is_source_and_headline_with_text_and_html_parts(tmp_path, smtp: SmtpSink) -> None:
    pipeline = Pipeline(write_config(tmp_path, smtp.url), Clock())
    line = "Al Mayadeen's correspondent: <script>alert(1)</script> strike & fire in Tyre"
    pipeline.show(line)
    pipeline.drain()
    (message,) = smtp.messages
    assert str(message["Subject"]) == f"src: {line}"  # it fits: attribution included
    assert message.get_content_type() == "multipart/alternative"
    text = parts(message)
    assert text["text/plain"].strip() == line.split(": ", 1)[1]  # the attribution: in the title
    html = text["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; strike &amp; fire in Tyre" in html
    assert "<script>" not in html  # site text is never markup in the e-mail


def test_a_long_headline_is_cut_at_a_word_and_the_body_keeps_it_whole(
    tmp_path, smtp: SmtpSink
) -> None:
    pipeline = Pipeline(write_config(tmp_path, smtp.url), Clock())
    headline = (
        "Israeli occupation forces storm the town of Qabatiya south of Jenin and raid "
        "several homes, arresting three young men after a siege of several hours"
    )
    pipeline.show(f"Al Mayadeen's correspondent: {headline}")
    pipeline.drain()
    (message,) = smtp.messages
    subject = str(message["Subject"])
    assert subject == (  # cut after a word, its comma dropped, attribution left to the body
        "src: Israeli occupation forces storm the town of Qabatiya south of Jenin and "
        "raid several homes\u2026"
    )
    assert len(subject) <= SUBJECT_CHARS
    assert parts(message)["text/plain"].strip() == f"Al Mayadeen's correspondent: {headline}"


def test_arabic_arrives_intact_in_subject_and_both_parts(tmp_path, smtp: SmtpSink) -> None:
    pipeline = Pipeline(write_config(tmp_path, smtp.url), Clock())
    pipeline.show(f"{ARABIC}: {ARABIC_BODY}")
    pipeline.drain()
    (message,) = smtp.messages
    # Mostly right to left: a RIGHT-TO-LEFT MARK first, so the subject reads as Arabic.
    assert str(message["Subject"]) == f"\u200fsrc: {ARABIC}: {ARABIC_BODY}"
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
        "src: Gaza Civil Defense spokesman: 5 killed in a strike on Jabalia",
        "Update: Gaza Civil Defense spokesman: 7 killed in a strike on Jabalia",
        "Hamas: one (+1 more)",  # the first listed (the newest, as the site lists them)
        "src: Source 4: statement 4",
        "src: Source 3: statement 3",
        "ticker: 3 alerts over the rate limit",
    ]
    assert "Changed: 5 \u2192 7" in parts(smtp.messages[1])["text/plain"]


def test_site_text_cannot_break_the_subject_header(smtp: SmtpSink) -> None:
    hostile = "Hamas: talks\r\nBcc: victim@example.com\r\n\r\nbody\u2028X-Evil: 1\x00 end"
    delivery = Delivery(
        id=1, alert_id=1, channel="mail", attempts=0, created=0.0, next_attempt=0.0,
        source="src", text=hostile, attribution="Hamas", body=hostile[7:], url=None,
        first_seen=0.0,
    )  # fmt: skip
    sender = AppriseSender((Channel(name="mail", urls=(smtp.url,)),))
    assert sender.send("mail", format_message(delivery)) is None
    (message,) = smtp.messages
    assert str(message["Subject"]) == (
        "src: Hamas: talks Bcc: victim@example.com body X-Evil: 1 end"
    )
    assert message["Bcc"] is None and message["X-Evil"] is None


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
    assert [str(m["Subject"]) for m in smtp.messages] == [
        f"src: Source {i}: statement {i}" for i in range(4)
    ]
    assert pipeline.store.pending_deliveries() == []
    (alert, *_) = pipeline.store.recent_alerts(1)
    assert alert.deliveries == {"mail": "sent"}


# --- failure reasons and permanence (issue 12, findings 13 and 4) -------------------------

PASSWORD = "s3cret-Passw0rd"


def send_one(url: str, channel: str = "mail") -> Failure | None:
    """One message through AppriseSender to `url`, as the outbox sends it."""
    sender = AppriseSender((Channel(name=channel, urls=(url,)),))
    return sender.send(channel, Message(title="src: test", body="a line"))


@pytest.mark.parametrize(
    ("setup", "reason", "permanent"),
    [
        (
            {"password": "other"},
            "auth refused (535 5.7.8 Authentication credentials invalid)",
            True,
        ),
        (
            {"refuse_rcpt": "550 5.1.1 <reader@example.com>: no such user"},
            "recipient refused (550 5.1.1 <reader@example.com>: no such user)",
            True,
        ),
        (
            {"refuse_data": "554 5.7.1 Message rejected as spam"},
            "message refused (554 5.7.1 Message rejected as spam)",
            True,
        ),
        (
            {"refuse_data": "452 4.3.1 Insufficient system storage"},
            "message refused (452 4.3.1 Insufficient system storage)",
            False,
        ),
        ({"refusing": True}, "message refused (451 4.3.0 try again later)", False),
    ],
    ids=["auth-535", "rcpt-550", "data-554", "data-452", "data-451"],
)
def test_an_smtp_refusal_names_what_was_refused_with_the_servers_words(
    smtp: SmtpSink, setup: dict[str, object], reason: str, permanent: bool
) -> None:
    for key, value in setup.items():
        setattr(smtp, key, value)
    failure = send_one(smtp.url_with_login(PASSWORD))
    assert failure is not None
    assert (failure.reason, failure.permanent) == (reason, permanent)
    assert PASSWORD not in failure.reason


def test_the_right_password_is_accepted(smtp: SmtpSink) -> None:
    smtp.password = PASSWORD
    assert send_one(smtp.url_with_login(PASSWORD)) is None
    assert len(smtp.messages) == 1


def test_a_closed_port_is_connection_refused_and_temporary() -> None:
    url = f"mailto://ticker:{PASSWORD}@127.0.0.1:{free_port()}?from=a@example.com&to=b@example.com"
    failure = send_one(url)
    assert failure is not None
    assert (failure.reason, failure.permanent) == ("connection refused", False)


def test_a_server_that_never_answers_is_a_timeout_and_temporary() -> None:
    with socket.socket() as silent:  # accepts the connection (backlog), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        failure = send_one(f"mailto://127.0.0.1:{port}?from=a@example.com&to=b@example.com&cto=1")
    assert failure is not None
    assert (failure.reason, failure.permanent) == ("timeout", False)


def test_tls_to_a_plain_server_is_a_tls_failure_and_temporary(smtp: SmtpSink) -> None:
    url = f"mailtos://127.0.0.1:{smtp.port}?from=a@example.com&to=b@example.com&mode=ssl"
    failure = send_one(url)
    assert failure is not None
    assert failure.reason.startswith("TLS failure: [SSL: WRONG_VERSION_NUMBER]")
    assert failure.permanent is False
