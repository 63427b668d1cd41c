"""ticker.malloc: with the limit, threads share two malloc arenas instead of one each."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ticker.malloc import ARENAS, limit_arenas

THREADS = 8
# Eight threads allocate at once (2 KB objects: glibc's malloc, not CPython's small-object
# allocator), then glibc's malloc_info reports one <heap> per arena in use.
PROGRAM = textwrap.dedent(
    f"""
    import ctypes, sys, threading
    from ticker.malloc import limit_arenas
    if sys.argv[1] == "limit":
        assert limit_arenas()
    barrier = threading.Barrier({THREADS})
    def work():
        barrier.wait()
        kept = [bytes(2000) + bytes([i % 256]) for i in range(2000)]
        barrier.wait()
    threads = [threading.Thread(target=work) for _ in range({THREADS})]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    libc = ctypes.CDLL(None)
    libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    stdout = ctypes.c_void_p.in_dll(libc, "stdout")
    libc.malloc_info(0, stdout)
    libc.fflush(stdout)
    """
)


def arenas_used(mode: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.count("<heap nr=")


@pytest.mark.skipif(not limit_arenas(), reason="not glibc: mallopt is not available")
def test_threads_share_the_limited_arenas() -> None:
    assert arenas_used("default") > ARENAS  # one per thread, up to glibc's own limit
    assert arenas_used("limit") <= ARENAS
