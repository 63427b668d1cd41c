"""A scheduler whose jobs keep their pace when the wall clock is stepped.

APScheduler 3 keeps each job's next run time as a wall-clock datetime and, at every wake-up,
runs the jobs whose time is at or before `datetime.now()`; only the wait between wake-ups is
measured on the event loop's monotonic clock. So a wall clock stepped back one hour holds
every job for that hour, and one stepped forward runs every job at once.

`SteadyScheduler` keeps the wall clock and the monotonic clock side by side: the difference
between them only changes when the wall clock is stepped (NTP slewing moves it by at most
0.5 ms a second). Before it looks for due jobs, and before the daemon computes a run time
(`at`), it compares that difference with the one it saw last; a change of more than
STEP_TOLERANCE is a step, and every job's next run time is moved by the same amount, so
each job stays due at the same monotonic moment. Why this and not a scheduler whose "now"
is steady: APScheduler reads `datetime.now()` directly in its base class and its executors
(the misfire check), which a subclass cannot replace without copying `_process_jobs` or
patching the library's modules; shifting the jobs keeps APScheduler's own arithmetic
consistent, with public calls only. Why here and not in a separate watcher task: the
scheduler's wake-up and the daemon's run-time computations are the only places that read
the wall clock for scheduling, so checking there leaves no window in which a stale and a
stepped time could be mixed, and costs nothing while the clock is steady.

CLOCK_MONOTONIC does not advance while the machine is suspended, so a resume looks like a
forward step: schedules go on where they stopped (a poll due 20 s after the suspend runs 20 s
after the resume), as they would with any monotonic timer.

`boot_clock` and `Moment` measure what must hold across a restart of the process (how old a
pending alert is): the monotonic clock starts again at each boot and means nothing to another
process, the wall clock can be stepped while ticker is stopped. CLOCK_BOOTTIME runs on
across process restarts, counts suspend (an alert held through a day of suspend is a day
old), and no step of the wall clock moves it; with the boot id it is comparable between
the processes of one boot, and only across a reboot does an age fall back to the wall clock.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

STEP_TOLERANCE = 1.0  # seconds the wall clock may move against the monotonic one unnoticed
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # Linux: a new random id at each boot
log = logging.getLogger(__name__)

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


class SteadyScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler (in UTC) whose jobs run at the same monotonic moments whatever
    happens to the wall clock: a step either way moves every job's next run time with it,
    and is logged once."""

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        **options: Any,
    ) -> None:
        super().__init__(timezone=UTC, **options)
        self._wall = wall
        self._monotonic = monotonic
        self._offset = wall() - monotonic()

    def at(self, delay: float) -> datetime:
        """The wall-clock time `delay` seconds from now, for a job's next run time; any step
        of the wall clock is taken into account first."""
        self.follow_clock()
        return datetime.fromtimestamp(self._wall() + delay, UTC)

    def follow_clock(self) -> float:
        """Move every job by how far the wall clock was stepped since the last look, and
        return that step in seconds (0.0 when the clock kept its pace)."""
        offset = self._wall() - self._monotonic()
        step, self._offset = offset - self._offset, offset
        if abs(step) <= STEP_TOLERANCE:
            return 0.0
        direction = "forward" if step > 0 else "back"
        log.warning("the wall clock stepped %s %.0f s; schedules unaffected", direction, abs(step))
        shift = timedelta(seconds=step)
        for job in self.get_jobs():
            if job.next_run_time is not None:  # None: a paused job
                job.modify(next_run_time=job.next_run_time + shift)
        return step

    def _process_jobs(self) -> float | None:
        # The one place APScheduler compares run times with the wall clock; called from
        # `wakeup`, on the event loop, like everything else here.
        self.follow_clock()
        wait: float | None = super()._process_jobs()
        return wait
