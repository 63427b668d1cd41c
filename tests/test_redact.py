"""Secrets in Apprise URLs: shown masked, listed for scrubbing, scrubbed from text and logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ticker.logs import RedactingFormatter
from ticker.redact import MASK, Redactor, redact_url, secrets_in, secrets_of_urls

MAIL = "mailto://me:s3cretPassw0rd@example.com?to=a@example.com"
MAILS = "mailtos://user:app-password@gmail.com?to=me@example.com"
TG_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TGRAM = f"tgram://{TG_TOKEN}/-100123"
NTFY = "ntfy://ntfy.sh/my-private-topic"
NTFY_TOPIC_ONLY = "ntfy://my-private-topic"
DISCORD = "discord://1234567890/abcdefTOKENxyz"
DISCORD_HTTPS = "https://discord.com/api/webhooks/1234567890/abcdefTOKENxyz"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (MAIL, "mailto://me:***@example.com?to=a@example.com"),
        (MAILS, "mailtos://user:***@gmail.com?to=me@example.com"),
        (
            "mailtos://me:pw123456@smtp.example.com:587?from=me@example.com&to=you@example.com",
            "mailtos://me:***@smtp.example.com:587?from=me@example.com&to=you@example.com",
        ),
        # Recipients in the path, and lists of them, are addresses: shown (issue 15).
        (
            "mailtos://me:pw123456@gmail.com/a@example.com/b@example.org?cc=c@x.org,d@y.org",
            "mailtos://me:***@gmail.com/a@example.com/b@example.org?cc=c@x.org,d@y.org",
        ),
        # Only address keys: a token that looks like an address stays masked.
        ("json://example.com/hook?token=tok@example.com", "json://example.com/***?token=***"),
        ("mailto://me@example.com", "mailto://me@example.com"),
        (TGRAM, "tgram://***/***"),
        (NTFY, "ntfy://ntfy.sh/***"),
        (NTFY_TOPIC_ONLY, "ntfy://***"),
        ("dbus://", "dbus://"),
        (DISCORD, "discord://***/***"),
        (DISCORD_HTTPS, "https://discord.com/***"),
        ("json://localhost", "json://localhost"),
        ("json://10.0.0.1:8080/hook", "json://10.0.0.1:8080/***"),
        ("not a url at all", MASK),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [MAIL, MAILS, TGRAM, NTFY, NTFY_TOPIC_ONLY, DISCORD, DISCORD_HTTPS])
def test_redacted_url_holds_none_of_its_secrets(url: str) -> None:
    secrets = secrets_in(url)
    assert secrets
    shown = redact_url(url)
    assert MASK in shown
    for secret in secrets:
        assert secret not in shown


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        (MAIL, ["s3cretPassw0rd"]),  # the recipient address is not a secret
        (MAILS, ["app-password"]),
        ("mailtos://u:pw123456@gmail.com/a@example.com", ["pw123456"]),  # a recipient
        (TGRAM, [TG_TOKEN, "-100123"]),
        (NTFY, ["my-private-topic"]),
        (NTFY_TOPIC_ONLY, ["my-private-topic"]),
        ("dbus://", []),
        (DISCORD, ["1234567890", "abcdefTOKENxyz"]),
        (DISCORD_HTTPS, ["webhooks", "1234567890", "abcdefTOKENxyz"]),  # "api" is too short
        ("json://localhost/?token=tok12345", ["tok12345"]),
        ("mailto://me:p%40ssw0rd@example.com", ["p%40ssw0rd", "p@ssw0rd"]),
        ("tgram://ab/cd", []),  # too short to be worth masking
        ("a-bare-token", ["a-bare-token"]),
    ],
)
def test_secrets_in(url: str, secrets: list[str]) -> None:
    assert secrets_in(url) == secrets


def test_secrets_of_urls_collects_every_url() -> None:
    found = secrets_of_urls([MAIL, TGRAM, "dbus://"])
    assert found == ["s3cretPassw0rd", TG_TOKEN, "-100123"]


def test_scrub_masks_every_secret_and_leaves_the_rest() -> None:
    redactor = Redactor(secrets_of_urls([MAIL, TGRAM, NTFY, DISCORD]))
    text = (
        f"failed to send to {MAIL} and {TGRAM}; password s3cretPassw0rd; "
        "topic my-private-topic; webhook abcdefTOKENxyz; chat -100123"
    )
    scrubbed = redactor.scrub(text)
    for secret in ("s3cretPassw0rd", TG_TOKEN, "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"):
        assert secret not in scrubbed
    for secret in ("my-private-topic", "abcdefTOKENxyz", "-100123"):
        assert secret not in scrubbed
    assert scrubbed.startswith("failed to send to mailto://me:***@example.com?to=a@example.com")
    assert "topic ***; webhook ***; chat ***" in scrubbed


def test_scrub_masks_the_longest_secret_first() -> None:
    redactor = Redactor(["abcd", "abcdefgh"])
    assert redactor.scrub("x abcdefgh y abcd z") == "x *** y *** z"


def test_scrub_ignores_short_fragments_and_regex_characters() -> None:
    redactor = Redactor(["ab", "", "a.b*c+d"])
    assert redactor.scrub("ab abc a.b*c+d aXbbc") == "ab abc *** aXbbc"


def test_scrub_without_secrets_is_the_identity() -> None:
    text = "nothing s3cretPassw0rd to hide"
    assert Redactor().scrub(text) == text
    assert Redactor(["abc"]).scrub(text) == text


def test_update_replaces_the_secrets() -> None:
    redactor = Redactor(["old-secret"])
    redactor.update(["new-secret"])
    assert redactor.scrub("old-secret new-secret") == "old-secret ***"
    redactor.update([])
    assert redactor.scrub("old-secret new-secret") == "old-secret new-secret"


# --- in log lines ------------------------------------------------------------------------


@pytest.fixture
def redacted_log() -> Iterator[tuple[logging.Logger, Redactor, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redactor = Redactor()
    handler.setFormatter(RedactingFormatter(redactor, "%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("ticker.test_redact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, redactor, stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_log_record_with_a_token_in_its_arguments_is_masked(
    redacted_log: tuple[logging.Logger, Redactor, io.StringIO],
) -> None:
    logger, redactor, stream = redacted_log
    redactor.update(secrets_of_urls([TGRAM, MAIL]))

    logger.warning("delivery to %s failed: %s", TGRAM, "bad password s3cretPassw0rd")

    output = stream.getvalue()
    assert TG_TOKEN not in output
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in output
    assert "s3cretPassw0rd" not in output
    assert output == (
        "WARNING ticker.test_redact: delivery to tgram://***/*** failed: bad password ***\n"
    )


def test_log_record_with_a_token_in_its_message_is_masked(
    redacted_log: tuple[logging.Logger, Redactor, io.StringIO],
) -> None:
    logger, redactor, stream = redacted_log
    redactor.update(secrets_of_urls([NTFY, DISCORD]))

    logger.info(f"posting to {NTFY} and {DISCORD}")
    logger.info("100% done, nothing secret")

    assert stream.getvalue().splitlines() == [
        "INFO ticker.test_redact: posting to ntfy://ntfy.sh/*** and discord://***/***",
        "INFO ticker.test_redact: 100% done, nothing secret",
    ]


def test_a_token_in_a_logged_traceback_is_masked(
    redacted_log: tuple[logging.Logger, Redactor, io.StringIO],
) -> None:
    logger, redactor, stream = redacted_log
    redactor.update(["tok-12345"])
    try:
        raise ValueError("cannot reach https://api.example.org/bottok-12345/send")
    except ValueError:
        logger.exception("job failed")
    output = stream.getvalue()
    assert "Traceback" in output and "ValueError" in output
    assert "tok-12345" not in output
    assert "https://api.example.org/bot***/send" in output
