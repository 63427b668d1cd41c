"""Fewer malloc arenas for the daemon.

glibc gives each thread that allocates its own arena (up to 8 per core) and keeps the
memory freed in it for that arena. ticker's threads (Apprise sends, name lookups) allocate
little and briefly, and CPython allocates under its global lock anyway, so extra arenas buy
no speed, only resident memory: limiting them to two saved ~1.5 MB of `ticker run`
(BENCHMARKS.md, memory). Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Ask glibc for at most `count` malloc arenas; True if it agreed. Call it before the
    process starts threads."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # not glibc (musl has mallopt, but ignores it)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, count))
