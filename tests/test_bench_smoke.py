"""Every benchmark script runs, in a short form, and reports its figures: the scripts are
kept working by CI, while the figures themselves come from full runs by hand (BENCHMARKS.md;
machines here are too noisy for timed assertions)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["html", "rss", "json", "json feed", "telegram"]
DAEMON_OK = [r"ticker exited 0", r"'errors': 0, 'failed polls': 0"]
RUNS = [
    ("poll_cycle --cycles 20", [r"200 reply: median \d", r"304 reply: median \d"]),
    ("kinds --cycles 5", [rf"\n{kind}\s+\d+\s+\d+\s+median \d" for kind in KINDS]),
    ("tail_startup --alerts 2000 --runs 3", [r"ticker tail -n 20: median \d+ ms"]),
    ("cron --runs 1 --urlwatch /nonexistent", [r"ticker poll\s+CPU median\s+\d", "urlwatch: not"]),
    ("outbox_plan --alerts 50 --runs 3", [r"telegram 50 alerts, allowance 20: median \d"]),
    ("drain_backlog --pending 0 10 --sources 5 --runs 5", [r"\n\s+10\s+[\d.]+ ms"]),
    ("dedupe_index --sizes 1000 --queries 50", [r"\n\s+1000\s.*ms"]),
    ("dedupe_index --across --sizes 1000 --queries 50", [r"\n\s+1000\s.*ms.* \d+/\d+/\d+/\d+\n"]),
    ("dedupe_methods", [r"ticker \(ratio \+ proper-noun guard\)\s+1\.000"]),
    ("metrics --alerts 2000 --scrapes 5", [r"/metrics: median [\d.]+ ms"]),
    ("leases --sources 300 --rounds 3", [r"acquire, steady state .*median|PostgreSQL unavailable"]),
    (
        "web --alerts 2000 --clients 5 --runs 3 --rounds 2",
        [r"GET / .*median", r"fan-out .* 5 live clients"],
    ),
    (
        "memory --sources 3 --polls 20 --warmup 5 --sample-every 1",
        [*DAEMON_OK, r"end\s+\d+\s+[\d.]+ MiB"],
    ),
    (
        "latency --lines 2 --gap 2 --burst 0",
        [*DAEMON_OK, r"e-mail received: median \d+ ms", r"e-mails received: 2"],
    ),
    (
        "scale --sources 20 --interval 2 --duration 10 --servers 2 --page-kb 20",
        [*DAEMON_OK, r"interval between polls of a source: median", r"daemon CPU"],
    ),
]


@pytest.mark.parametrize(("command", "expected"), RUNS, ids=[c.split()[0] for c, _ in RUNS])
def test_benchmark_runs_and_reports(command: str, expected: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{command.split()[0]}", *command.split()[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for pattern in expected:
        assert re.search(pattern, result.stdout), (pattern, result.stdout)
