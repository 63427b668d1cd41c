"""One delivering process per database: an exclusive lock on `<database>.lock`.

`ticker run` holds it for its whole life; `ticker poll` holds it for its run when it can,
and otherwise records what it sees and leaves delivery to the holder. The lock is flock(2):
the kernel releases it when its holder exits, however it exits, so a lock is never stale.
It is only seen by processes on the same host: the database must be on a local file system.

The lock file (0600) says who holds it, one line of JSON: pid, host, since, command.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from ticker import dbfile
from ticker.errors import DatabaseInUse, DatabaseUnusable

POLL_WAIT = 30.0  # seconds `ticker run` waits for a `ticker poll` to end (a fetch's timeout is 20)
READ_TRIES = 20  # reads of the holder's note while it is being written, 10 ms apart


@dataclass(frozen=True)
class Holder:
    """Who holds the lock."""

    pid: int
    host: str
    since: float  # Unix seconds
    command: str  # "run" or "poll"

    def describe(self) -> str:
        """E.g. "ticker run (pid 1234 on host, since 2026-11-29 07:12 UTC)"."""
        when = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"ticker {self.command} (pid {self.pid} on {self.host}, since {when})"


UNKNOWN = "another ticker process"


def lock_path(database: Path) -> Path:
    """The lock file of `database`: beside it, named after it."""
    return Path(f"{database}.lock")


class InstanceLock:
    """The lock of one database, held from `acquire` until `release` (or the process's end)."""

    def __init__(self, database: Path, fd: int, holder: Holder) -> None:
        self.database = database
        self.holder = holder
        self._fd: int | None = fd

    @classmethod
    def acquire(
        cls,
        database: Path,
        command: str,
        *,
        wait_for_poll: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> InstanceLock:
        """Take the lock of `database` for `command`, or raise DatabaseInUse naming who has
        it. A `ticker poll` holding it is waited for up to `wait_for_poll` seconds (it ends
        by itself); a `ticker run` is not. DatabaseUnusable if the lock file cannot be made."""
        path = lock_path(database)
        fd = _open_lock_file(database, path)
        deadline, looks = clock() + wait_for_poll, 0
        while not _try_lock(fd):
            holder, looks = read_holder(database), looks + 1
            if holder is None and looks < READ_TRIES:
                continue  # let go between our try and our look: try again
            if holder is not None and holder.command == "poll" and clock() < deadline:
                sleep(0.1)
                continue
            os.close(fd)
            if holder is None:
                raise DatabaseInUse(database, UNKNOWN)
            raise DatabaseInUse(database, holder.describe(), holder.command)
        holder = Holder(os.getpid(), socket.gethostname(), time.time(), command)
        _write_note(fd, holder)
        return cls(database, fd, holder)

    def release(self) -> None:
        """Let another process take the lock (closing the file releases it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _open_lock_file(database: Path, path: Path) -> int:
    try:
        database.parent.mkdir(mode=dbfile.DIRECTORY_MODE, parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, dbfile.FILE_MODE)
    except OSError as exc:
        raise DatabaseUnusable(
            database, f"cannot make its lock file {path.name} ({exc.strerror})"
        ) from None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


def _write_note(fd: int, holder: Holder) -> None:
    note = (json.dumps(asdict(holder)) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, note, 0)


def read_holder(database: Path) -> Holder | None:
    """Who holds the lock of `database`, as its note says; None if nobody does (or the
    note cannot be read). Reading never takes the lock."""
    path = lock_path(database)
    for _ in range(READ_TRIES):
        if not is_locked(database):
            return None
        try:
            note = path.read_text(encoding="utf-8")
        except OSError:
            return None
        try:
            return Holder(**json.loads(note))
        except (ValueError, TypeError):
            time.sleep(0.01)  # the holder is writing its note right now
    return None


def is_locked(database: Path) -> bool:
    """True if a process holds the lock of `database` (tested with a shared lock, which an
    exclusive one refuses; nothing is created)."""
    try:
        fd = os.open(lock_path(database), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock, if it was taken
    return False
