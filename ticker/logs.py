"""Logging to stderr: one line per event, with every known secret masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from ticker.redact import Redactor

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: int, secrets: Iterable[str] = ()) -> Redactor:
    """Send log records to stderr through a Redactor; returns it so secrets can be updated."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter stays out unless it is a problem.
    for noisy in ("httpx", "httpcore", "apscheduler", "apprise", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return redactor
