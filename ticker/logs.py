"""Logging to stderr: one line per event, with every known secret masked.

In a terminal a line is `2026-11-29 07:12:03 WARNING ticker.poll: ...`. When stderr is the
journal (systemd sets $JOURNAL_STREAM to its device:inode) the journal stamps each entry
itself, so a line carries no time but an sd-daemon priority prefix, `<4>WARNING ...`,
which journald stores as the entry's priority: `journalctl -p warning` then filters.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import TextIO

from ticker.redact import Redactor

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"
# sd-daemon(3) / syslog(3) priorities: the journal reads "<N>" at the start of a line.
PRIORITIES = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
NOISY = ("httpx", "httpcore", "apscheduler", "apprise", "asyncio")


class RedactingFormatter(logging.Formatter):
    """Formats a record, traceback included, then masks every known secret in the result."""

    def __init__(self, redactor: Redactor, fmt: str = FORMAT) -> None:
        super().__init__(fmt, datefmt="%Y-%m-%d %H:%M:%S")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.scrub(super().format(record))


class JournalFormatter(RedactingFormatter):
    """A redacted line without a time, each of its lines (a traceback's too) prefixed by
    the record's priority, so no line of an error lands in the journal as info."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(redactor, JOURNAL_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def priority(level: int) -> int:
    """The syslog priority of a logging level (a custom level: that of the next standard
    level below it, e.g. 25 -> 6, info)."""
    standard = [known for known in sorted(PRIORITIES) if known <= level]
    return PRIORITIES[standard[-1]] if standard else PRIORITIES[logging.DEBUG]


def is_journal(stream: TextIO) -> bool:
    """True if `stream` is the journal: $JOURNAL_STREAM names its device and inode
    (systemd.exec(7)). Compared, not just present: a command started from a service's
    shell inherits the variable but writes to a terminal."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    device, colon, inode = expected.partition(":")
    if not colon:
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False  # no file descriptor (a test's buffer): not the journal
    return f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


def _quiet_apprise(record: logging.LogRecord) -> bool:
    # ticker reads Apprise's log per send down to DEBUG (ticker.notify enables it, as the
    # server's answer is logged there); only its warnings and errors belong in ticker's log.
    return not (record.name.startswith("apprise") and record.levelno < logging.WARNING)


def set_level(level: int) -> None:
    """Log at `level` from now on (a -v or -q given after the command changes it)."""
    logging.getLogger().setLevel(level)
    # Third-party chatter stays out unless it is a problem.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def setup_logging(
    level: int, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> Redactor:
    """Send log records to `stream` (stderr) through a Redactor, in the journal's format
    if it is the journal; returns the Redactor so secrets can be updated."""
    stream = stream if stream is not None else sys.stderr
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream)
    journal = is_journal(stream)
    handler.setFormatter(JournalFormatter(redactor) if journal else RedactingFormatter(redactor))
    handler.addFilter(_quiet_apprise)
    logging.getLogger().handlers[:] = [handler]
    set_level(level)
    return redactor
