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

Its own module, apart from ticker.clock's boot clock, so that only `ticker run` imports
APScheduler: `ticker poll`, `tail` and `status` never need it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

STEP_TOLERANCE = 1.0  # seconds the wall clock may move against the monotonic one unnoticed
log = logging.getLogger(__name__)


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
