"""The boot clock, and moments read on it beside the wall clock.

`boot_clock` and `Moment` measure what must hold across a restart of the process (how old a
pending alert is): the monotonic clock starts again at each boot and means nothing to another
process, the wall clock can be stepped while ticker is stopped. CLOCK_BOOTTIME runs on
across process restarts, counts suspend (an alert held through a day of suspend is a day
old), and no step of the wall clock moves it; with the boot id it is comparable between
the processes of one boot, and only across a reboot does an age fall back to the wall clock.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # Linux: a new random id at each boot

BootReading = tuple[str, float]  # (the boot's id, seconds since that boot, suspend included)


@functools.cache
def _boot_id() -> str | None:
    # Read once per process: it cannot change while the process lives.
    try:
        return BOOT_ID.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None  # not Linux, or /proc not mounted


def boot_clock() -> BootReading | None:
    """This boot's id and CLOCK_BOOTTIME: seconds since the machine booted, suspend
    included, never stepped; None where the system offers no such clock (not Linux).

    libfaketime (used by the tests and bench/chaos.py to step the wall clock) leaves
    CLOCK_BOOTTIME real when DONT_FAKE_MONOTONIC=1, as it does CLOCK_MONOTONIC (checked
    with libfaketime 0.9.10); without that variable it fakes both along with the wall
    clock, and a step then moves the boot clock too."""
    boot_id, clock_id = _boot_id(), getattr(time, "CLOCK_BOOTTIME", None)
    if boot_id is None or clock_id is None:
        return None
    try:
        return boot_id, time.clock_gettime(clock_id)
    except OSError:
        return None  # a kernel without CLOCK_BOOTTIME (before 2.6.39)


@dataclass(frozen=True)
class Moment:
    """One instant as read on the wall clock (stored, shown) and on the boot clock (None
    where there was none: another OS, or a row written by an older ticker)."""

    wall: float
    boot: BootReading | None = None

    def seconds_until(self, later: Moment) -> float:
        """Seconds from this moment to `later`: on the boot clock when both were read on
        the same boot, so a step of the wall clock between them does not count; else
        (another boot, a reading missing) on the wall clock, the only one left."""
        if self.boot is not None and later.boot is not None and self.boot[0] == later.boot[0]:
            return later.boot[1] - self.boot[1]
        return later.wall - self.wall
