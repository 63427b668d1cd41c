"""Logging to stderr: one line per event, with every known secret masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from ticker.redact import Redactor

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then masks every known secret in the result."""

    def __init__(self, redactor: Redactor, fmt: str = FORMAT) -> None:
        super().__init__(fmt, datefmt="%Y-%m-%d %H:%M:%S")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.scrub(super().format(record))


def _quiet_apprise(record: logging.LogRecord) -> bool:
    # ticker reads Apprise's log per send down to DEBUG (ticker.notify enables it, as the
    # server's answer is logged there); only its warnings and errors belong in ticker's log.
    return not (record.name.startswith("apprise") and record.levelno < logging.WARNING)


def setup_logging(level: int, secrets: Iterable[str] = ()) -> Redactor:
    """Send log records to stderr through a Redactor; returns it so secrets can be updated."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor))
    handler.addFilter(_quiet_apprise)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays out unless it is a problem.
    for noisy in ("httpx", "httpcore", "apscheduler", "apprise", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return redactor
