"""The database file itself, apart from what is in it: whether it is a file ticker can use
(checked before anything is written to it), whether it is still the file that was opened
(checked while the daemon runs), and which SQLite errors mean that it went bad for good
rather than that it is busy for a moment.

Standard library only: `ticker tail` and `ticker status` check the file too.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from ticker.errors import DatabaseBroken, DatabaseMissing, DatabaseUnusable, StoreError

HEADER = b"SQLite format 3\x00"
HEADER_BYTES = 100  # SQLite's database header (https://www.sqlite.org/fileformat.html)
SIDE_FILES = ("-wal", "-shm", "-journal")  # what SQLite keeps beside a database it uses
FILE_MODE = 0o600  # the database, its WAL and SHM (SQLite gives them the database's mode)
DIRECTORY_MODE = 0o700
# SQLite result codes after which the file cannot be trusted: a damaged page, a file that is
# not a database (any more), an I/O error, a file that became read-only (a file system
# remounted read-only after errors). Locked, busy and full are not here: they pass.
FATAL_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_IOERR", "SQLITE_READONLY")
RECOVER = "see 'Recovering the database' in the README"


@dataclass(frozen=True)
class Identity:
    """Which file a path named when it was opened: a file deleted, or replaced by another
    one (a restore, a `mv`), has another identity or none."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Identity | None:
        """The identity of the file at `path` now; None if there is none."""
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_dev, st.st_ino)


def side_files(path: Path) -> list[Path]:
    """The -wal, -shm and -journal files beside `path` that exist."""
    return [Path(f"{path}{suffix}") for suffix in SIDE_FILES if Path(f"{path}{suffix}").exists()]


def inspect(path: Path, *, create: bool, newest: int | None = None) -> bool:
    """Check that the file at `path` can be used as ticker's database, without changing
    anything; True if there is no database yet and one may be created (`create`).

    Raises DatabaseMissing (nothing there and not `create`) or DatabaseUnusable, naming
    what is wrong: a directory, not a SQLite file, truncated, read-only, or an empty or
    missing file whose write-ahead log is still beside it (a database lost, not a new one),
    or a schema newer than `newest` (read from the header: SQLite is not opened, so no WAL
    or SHM file is made beside a file that is refused).
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        _refuse_orphaned_side_files(path, "missing")
        if not create:
            raise DatabaseMissing(path) from None
        _check_creatable(path)
        return True
    except OSError as exc:
        raise DatabaseUnusable(path, f"cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise DatabaseUnusable(path, "is a directory, not a database file")
    if not stat.S_ISREG(st.st_mode):
        raise DatabaseUnusable(path, "is not a regular file")
    if st.st_size == 0:
        _refuse_orphaned_side_files(path, "empty (0 bytes)")
        if not create:
            raise DatabaseMissing(path)
        _check_writable(path)
        return True
    _check_header(path, st.st_size, newest)
    if create:
        _check_writable(path)
    return False


def _refuse_orphaned_side_files(path: Path, what: str) -> None:
    sides = side_files(path)
    if sides:
        raise DatabaseUnusable(
            path,
            f"is {what} but {sides[0].name} is beside it: the database was deleted, "
            f"truncated or replaced, and a new one would lose what it held; {RECOVER}",
        )


def _check_creatable(path: Path) -> None:
    directory = path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent  # the nearest directory that is there gets the new ones
    if not directory.is_dir():
        raise DatabaseUnusable(path, f"cannot be created: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatabaseUnusable(path, f"cannot be created: {directory} is read-only")


def _check_writable(path: Path) -> None:
    # os.access sees a read-only mount and an immutable file even for root.
    if not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseUnusable(path, "is read-only (ticker must write to it)")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise DatabaseUnusable(
            path, f"is in a read-only directory ({path.parent}); SQLite writes its log beside it"
        )


def _check_header(path: Path, size: int, newest: int | None) -> None:
    """Refuse a file that is not a SQLite database, holds fewer pages than its header says
    (cut short by a copy or a full disk), or has a user_version above `newest`."""
    try:
        with path.open("rb") as file:
            header = file.read(HEADER_BYTES)
    except OSError as exc:
        raise DatabaseUnusable(path, f"cannot be read ({exc.strerror})") from None
    if not header.startswith(HEADER):
        raise DatabaseUnusable(path, "is not a SQLite database")
    if len(header) < HEADER_BYTES:
        raise DatabaseUnusable(path, f"is truncated ({size} bytes, less than a header)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counted = header[24:28] == header[92:96]  # else the page count is not kept (old SQLite)
    # While a WAL or journal holds pages, a checkpoint may be writing the file: its header
    # can run ahead of its size for a moment, so only a database at rest is measured.
    logs = [side for side in side_files(path) if not side.name.endswith("-shm")]
    busy = any(_size(side) > 0 for side in logs)
    if counted and pages and not busy and size < pages * page_size:
        raise DatabaseUnusable(
            path, f"is truncated ({size} bytes; its header says {pages * page_size})"
        )
    version = int.from_bytes(header[60:64], "big", signed=True)
    if newest is not None and not busy and version > newest:
        raise newer_schema(path, version, newest)


def newer_schema(path: object, version: int, newest: int) -> DatabaseUnusable:
    """The error for a database whose schema this ticker does not know yet."""
    return DatabaseUnusable(
        path, f"has schema {version}, newer than this ticker ({newest}); upgrade ticker"
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed in between: a checkpoint ended
        return 0


def check_schema(conn: sqlite3.Connection, path: Path, newest: int, tables: set[str]) -> int:
    """Check, reading only, that the database on `conn` is ticker's: its user_version is at
    most `newest`, and a versioned one has `tables`; an unversioned one is empty. Returns
    the version. Raises DatabaseUnusable."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        names = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
    except sqlite3.Error as exc:
        raise unusable(path, exc) from None
    if version > newest:
        raise newer_schema(path, version, newest)
    if version == 0 and names:
        shown = ", ".join(sorted(names)[:5])
        raise DatabaseUnusable(path, f"is a SQLite database but not ticker's (tables: {shown})")
    if version > 0 and not tables <= names:
        missing = ", ".join(sorted(tables - names))
        raise DatabaseUnusable(
            path, f"is not ticker's database (schema {version} without its tables {missing})"
        )
    return version


def error_name(exc: BaseException) -> str:
    """SQLite's name of the result code of `exc` ("SQLITE_CORRUPT"); "" if it has none."""
    return str(getattr(exc, "sqlite_errorname", "") or "")


def fatal_reason(exc: BaseException) -> str | None:
    """Why `exc` means the database went bad for good, in words; None if it is an error
    that passes (locked, busy, full) or not SQLite's."""
    if isinstance(exc, DatabaseBroken):
        return exc.problem
    if not isinstance(exc, sqlite3.Error):
        return None
    name = error_name(exc)
    if not name.startswith(FATAL_CODES):
        return None
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return f"is damaged ({exc}, {name})"
    if name.startswith("SQLITE_IOERR"):
        return f"cannot be read or written ({exc}, {name})"
    return f"became read-only ({exc}, {name})"


def unusable(path: Path, exc: sqlite3.Error) -> StoreError:
    """The error to raise for `exc`, raised by SQLite while opening or first reading `path`:
    a DatabaseUnusable if the file cannot be used as it is, else (locked, busy) a plain
    StoreError, as trying again later may work."""
    name = error_name(exc)
    if name.startswith("SQLITE_CANTOPEN"):
        return DatabaseUnusable(path, f"cannot be opened ({exc}); is its directory read-only?")
    if name.startswith("SQLITE_READONLY"):
        return DatabaseUnusable(path, f"is read-only ({exc})")
    reason = fatal_reason(exc)
    if reason is not None or not name:  # no code: not a result SQLite gave
        return DatabaseUnusable(path, reason or f"cannot be used ({exc})")
    return StoreError(path, f"cannot be opened now ({exc}); try again later")


def check_same_file(path: Path, opened: Identity | None) -> None:
    """Raise DatabaseBroken if the file at `path` is not the one opened as `opened`: deleted
    (what is written goes into a file nobody can open again), or replaced."""
    now = Identity.of(path)
    if now is None:
        raise DatabaseBroken(path, f"was deleted while ticker had it open; {RECOVER}")
    if opened is not None and now != opened:
        raise DatabaseBroken(
            path, f"was replaced by another file while ticker had it open; {RECOVER}"
        )


def create_private(path: Path) -> None:
    """Make the directories up to `path` (the last one 0700) and an empty `path` that only
    its owner may read and write (0600, whatever the umask), unless it is there already."""
    path.parent.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        os.chmod(path, FILE_MODE)  # an empty file taken as the new database
        return
    os.close(fd)
