"""Failure reasons and permanence (issue 12, findings 4 and 13): what Apprise logged during a
failed send, read into words; and any web service through Apprise's json:// on loopback."""

from __future__ import annotations

import json

import pytest
from servers import LoopbackHTTP, QuietHandler

from ticker.config import Channel
from ticker.notify import AppriseSender, Message
from ticker.reasons import Reason, classify, combine


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [("DEBUG", "SMTP Host: mx"), ("DEBUG", "Socket Exception: (553, b'5.7.1 no', 'a@b')")],
            Reason("sender refused (553 5.7.1 no)", True),
        ),
        (
            [("DEBUG", "Socket Exception: {'a@b': (450, b'4.2.0 greylisted')}")],
            Reason("recipient refused (450 4.2.0 greylisted)", False),
        ),
        (
            [("WARNING", "SMTP recipient a@b was refused: 550 b'5.1.1 unknown'")],
            Reason("recipient refused (550 5.1.1 unknown)", True),
        ),
        (
            [("DEBUG", "Socket Exception: (421, b'4.7.0 too busy')")],
            Reason("session refused (421 4.7.0 too busy)", False),
        ),
        (
            [("DEBUG", "Socket Exception: [Errno -2] Name or service not known")],
            Reason("host not found", False),
        ),
        (
            [("DEBUG", "Socket Exception: [SSL: CERTIFICATE_VERIFY_FAILED] nope (_ssl.c:1006)")],
            Reason("TLS failure: [SSL: CERTIFICATE_VERIFY_FAILED] nope", False),
        ),
        (
            [
                ("WARNING", "Failed to send X notification: Not Found, error=404."),
                ("DEBUG", "Response Details:\r\nb'<html>no</html>'"),
            ],
            Reason("Not Found (HTTP 404)", True),
        ),
        (
            [("WARNING", "Something odd happened"), ("DEBUG", "details")],
            Reason("Something odd happened", False),
        ),
        ([], Reason("the channel refused the message (no reason given)", False)),
    ],
    ids=[
        "sender",
        "rcpt-4xx",
        "rcpt-partial",
        "connect-421",
        "dns",
        "cert",
        "http-html",
        "other",
        "none",
    ],
)
def test_what_apprise_logged_becomes_a_reason(
    entries: list[tuple[str, str]], expected: Reason
) -> None:
    assert classify(entries) == expected


def test_a_channel_is_refused_for_good_when_any_of_its_services_is() -> None:
    reasons = [Reason("timeout"), Reason("message refused (554 no)", True)]
    assert combine(reasons) == Reason("timeout; message refused (554 no)", True)
    assert combine([Reason("timeout"), Reason("timeout")]) == Reason("timeout", False)


class Refusing(QuietHandler):
    """Answers POST /<status> with that status and a JSON body {"message": ...}."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = int(self.path.strip("/"))
        self.answer(status, "application/json", json.dumps({"message": f"no ({status})"}).encode())


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (404, True), (408, False), (429, False), (500, False), (503, False)],
)
def test_a_web_service_refusal_is_permanent_for_4xx_but_408_425_429(
    status: int, permanent: bool
) -> None:
    with LoopbackHTTP(Refusing) as server:
        url = server.base_url.replace("http://", "json://") + f"/{status}"
        failure = AppriseSender((Channel(name="hook", urls=(url,)),)).send(
            "hook", Message("title", "body")
        )
    assert failure is not None
    assert (failure.reason, failure.permanent) == (f"no ({status}) (HTTP {status})", permanent)
