"""`ticker db backup`: a consistent copy of the database into a new file, 0600, that
appears whole or not at all (written beside it under a temporary name, then linked or
renamed into place)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ticker.store import Store


class BackupExists(FileExistsError):
    """The backup's target is there already (and was not to be replaced)."""


def write_backup(store: Store, target: Path, *, replace: bool = False) -> int:
    """Write a backup of `store` to `target`; returns its size in bytes. Raises
    BackupExists if `target` exists and not `replace`, OSError if it cannot be written,
    one of store.DATABASE_ERRORS if the database cannot be read, DatabaseMaintenanceElsewhere
    for a PostgreSQL database (pg_dump's job)."""
    if target.exists() and not replace:
        raise BackupExists(target)
    # mkstemp makes the file 0600, whatever the umask.
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        store.backup_to(partial)
        _fsync(partial)
        if replace:
            os.replace(partial, target)
        else:
            os.link(partial, target)  # fails if `target` appeared meanwhile: never overwritten
    except FileExistsError:
        raise BackupExists(target) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return target.stat().st_size


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
