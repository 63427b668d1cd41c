"""Crash safety: `ticker run` is killed with SIGKILL at random moments (during a fetch, a
database write, a delivery) while a loopback site keeps producing new lines, and
restarted. Every new line must reach the SMTP server at least once; duplicates only from
the documented at-least-once window (a message accepted but not yet marked sent), at most
one per kill; the database passes `PRAGMA integrity_check` after every kill.

CI runs a short version; `TICKER_CRASH_KILLS=200 .venv/bin/pytest tests/test_crash.py -s`
runs a long one by hand.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import baselined, database_for
from servers import LoopbackHTTP, QuietHandler, SmtpSink, ticker_page

pytestmark = pytest.mark.e2e

KILLS = int(os.environ.get("TICKER_CRASH_KILLS", "6"))
_WORD_LIST = (
    "army convoy border crossing hospital school market port airport bridge village valley "
    "ridge coast harbour station tower district camp field road tunnel factory warehouse "
    "ministry council embassy court prison clinic mosque church square garden"
)
WORDS = _WORD_LIST.split()
# Apprise pauses 5.5 s between two e-mails to one server; the crash test sends hundreds, so
# the daemon under test runs with that pause lifted (nothing else is changed).
NO_THROTTLE = (
    "import apprise.plugins.email\napprise.plugins.email.NotifyEmail.request_rate_per_sec = 0\n"
)


class ProducingSite(LoopbackHTTP):
    """A ticker that gains a new line every `every` seconds once started; the page shows
    the newest `shown` lines, so a line stays visible far longer than a restart takes."""

    def __init__(self, every: float = 0.3, shown: int = 60) -> None:
        self.lines = [f"Desk {i}: baseline line number {i}" for i in range(5)]
        self.lock = threading.Lock()
        self.producing = threading.Event()
        self.stopped = threading.Event()
        self.every, self.shown = every, shown
        self.rng = random.Random(1)
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    page = ticker_page(list(reversed(site.lines[-site.shown :])))
                self.answer(200, "text/html; charset=utf-8", page.encode("utf-8"))

        super().__init__(Handler)
        self.url = f"{self.base_url}/"
        self.producer = threading.Thread(target=self._produce, daemon=True)

    def _produce(self) -> None:
        n = 0
        while not self.stopped.wait(self.every):
            if self.producing.is_set():
                words = " ".join(self.rng.sample(WORDS, 6))
                with self.lock:
                    self.lines.append(f"Wire {n}: {words}")
                n += 1

    @property
    def produced(self) -> list[int]:
        with self.lock:
            return [int(line.split(":")[0].split()[1]) for line in self.lines if "Wire" in line]

    def __enter__(self) -> ProducingSite:
        super().__enter__()
        self.producer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.producer.join(timeout=2)
        super().__exit__(*exc)


def start(config: Path, hooks: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hooks), *sys.path])}
    env.pop("STATE_DIRECTORY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ticker", "--config", str(config), "-q", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def integrity(db: Any) -> str:
    """SQLite's own check of the file; "ok" on PostgreSQL (whose consistency after a
    killed client is the server's, not the file's: pg_amcheck is its tool)."""
    if not isinstance(db, Path):
        return "ok"
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def received(smtp: SmtpSink) -> Counter[int]:
    numbers: Counter[int] = Counter()
    for message in list(smtp.messages):
        match = re.search(r"Wire (\d+)", str(message["Subject"]))
        if match:
            numbers[int(match[1])] += 1
    return numbers


def wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_sigkill_at_random_moments_loses_no_line(tmp_path: Path) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(NO_THROTTLE, encoding="utf-8")
    rng = random.Random(int(os.environ.get("TICKER_CRASH_SEED", "7")))
    db = database_for(tmp_path, "ticker.db")
    with ProducingSite() as site, SmtpSink() as smtp:
        smtp.delay = 0.05  # a delivery takes a moment, so some kills land inside one
        config = tmp_path / "config.toml"
        config.write_text(
            f'[ticker]\ndatabase = "{db}"\ninterval = 1\n'
            f'[[source]]\nname = "src"\nurl = "{site.url}"\nselector = ".breaking-news li"\n'
            f'jitter = 0\n[[channel]]\nname = "mail"\nurls = ["{smtp.url}"]\n'
            "max_per_minute = 0\n",
            encoding="utf-8",
        )
        daemon = start(config, hooks)
        assert wait(lambda: baselined(db), 30), "the first poll never happened"
        site.producing.set()
        checks = []
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.5))
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
            checks.append(integrity(db))
            daemon = start(config, hooks)
        time.sleep(1.0)
        site.producing.clear()
        produced = site.produced
        try:
            complete = wait(lambda: set(produced) <= set(received(smtp)), 60)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=20)
        counts = received(smtp)
    assert checks == ["ok"] * KILLS
    assert len(produced) >= KILLS, "the site produced too few lines to mean anything"
    missing = sorted(set(produced) - set(counts))
    assert complete and not missing, f"lost lines: {missing}"
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\ncrash test: {KILLS} kills, {len(produced)} new lines, all delivered; "
        f"{duplicates} delivered twice (at-least-once window)"
    )
    assert duplicates <= KILLS
    assert integrity(db) == "ok"
