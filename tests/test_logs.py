"""Log lines: timestamped in a terminal; under systemd (stderr is the journal, named by
$JOURNAL_STREAM) no timestamp and an sd-daemon `<N>` priority on every line, so that
`journalctl -p warning` filters them (issue 15, item 14)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from ticker.logs import priority, setup_logging

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
SECRET = "hunter2hunter2"


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[TextIO]:
    """A real file as stderr (the journal's stream is a socket; any file descriptor
    carries a device and an inode as it does)."""
    with (tmp_path / "stderr").open("w+", encoding="utf-8") as file:
        yield file
    logging.getLogger().handlers.clear()


def journal_of(stream: TextIO) -> str:
    st = os.fstat(stream.fileno())
    return f"{st.st_dev}:{st.st_ino}"


def log_some(stream: TextIO) -> list[str]:
    redactor = setup_logging(logging.DEBUG, [SECRET], stream=stream)
    assert redactor.scrub(SECRET) == "***"
    log = logging.getLogger("ticker.test")
    log.debug("looked")
    log.info("polled")
    log.warning("slow %s", SECRET)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    log.critical("database gone")
    stream.flush()
    stream.seek(0)
    return stream.read().splitlines()


def test_under_systemd_every_line_has_a_priority_and_no_timestamp(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOURNAL_STREAM", journal_of(stream))

    lines = log_some(stream)

    assert lines[:3] == [
        "<7>DEBUG ticker.test: looked",
        "<6>INFO ticker.test: polled",
        "<4>WARNING ticker.test: slow ***",
    ]
    assert lines[3] == "<3>ERROR ticker.test: failed"
    traceback = lines[4:-1]
    assert traceback and all(line.startswith("<3>") for line in traceback), traceback
    assert "<3>ValueError: boom" in traceback
    assert lines[-1] == "<2>CRITICAL ticker.test: database gone"
    assert not any(STAMP.match(re.sub(r"^<\d>", "", line)) for line in lines)


def test_in_a_terminal_lines_are_timestamped_without_priorities(
    stream: TextIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)

    lines = log_some(stream)

    assert STAMP.match(lines[0]) and lines[0].endswith("DEBUG   ticker.test: looked")
    assert not any(line.startswith("<") for line in lines)


def test_a_journal_stream_inherited_by_another_stderr_is_ignored(
    stream: TextIO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ticker status` typed in a shell started from a service inherits $JOURNAL_STREAM
    but writes to a terminal: systemd.exec(7) says to compare device and inode."""
    with (tmp_path / "journal").open("w") as journal:
        monkeypatch.setenv("JOURNAL_STREAM", journal_of(journal))
    lines = log_some(stream)
    assert STAMP.match(lines[0]) and not lines[0].startswith("<")


@pytest.mark.parametrize(
    ("level", "expected"),
    [(logging.DEBUG, 7), (logging.INFO, 6), (25, 6), (logging.WARNING, 4), (logging.ERROR, 3)],
)
def test_priority_of_each_level(level: int, expected: int) -> None:
    assert priority(level) == expected
