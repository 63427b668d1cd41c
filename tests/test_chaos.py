"""The chaos run (bench/chaos.py) in a short form: one minute of SIGKILLs, second
instances, cron polls, database locks, a full disk (a tmpfs, where this machine lets us
mount one), clock steps (where libfaketime is installed) and a refusing and slow SMTP
server, while a page gains lines. CI checks that it runs, reports, and that no line is
lost; the figures (duplicates and their accounting, faults of each kind) come from long
runs by hand, in docs/RELIABILITY.md:

    python -m bench.chaos --minutes 30 --seed 1
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.e2e,
    # Its faults are a SQLite file's (the write lock held, a full tmpfs, a second instance
    # refused by the lock file); replicas on PostgreSQL: tests/test_failover.py.
    pytest.mark.sqlite_only("bench/chaos.py faults a SQLite file: its lock, a full tmpfs"),
]

ROOT = Path(__file__).resolve().parents[1]


def test_a_short_chaos_run_loses_no_line(tmp_path: Path) -> None:
    result_file = tmp_path / "chaos.json"
    command = ["--minutes", "1", "--seed", "3", "--gap", "3", "--drain", "90"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.chaos", *command, "--json", str(result_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(done.stdout)
    assert result_file.exists(), done.stderr[-3000:]
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert "RESULT:" in done.stdout and "LOST:" in done.stdout
    assert result["lines"] >= 20, "the page produced too few lines to mean anything"
    assert sum(result["faults"].values()) >= 5, "too few faults to mean anything"
    assert result["lost"] == [], done.stdout


def test_a_duplicate_is_accounted_for_only_by_a_kill_inside_the_send_to_mark_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # bench/ is not installed, only run from the tree
    from bench.chaos import Kill, Ledger, Mail, account

    ledger = Ledger()
    ledger.note("lock", 200.0, 30.0)  # the database locked from 200 s to 230 s
    mails = [
        Mail(100.0, frozenset({1}), ""),
        Mail(105.0, frozenset({1}), ""),  # killed 0.5 s after the first: the crash window
        Mail(110.0, frozenset({2}), ""),
        Mail(150.0, frozenset({2}), ""),  # killed 30 s after: marked long before
        Mail(210.0, frozenset({3}), ""),
        Mail(240.0, frozenset({3}), ""),  # killed while the mark waited for the lock
        Mail(300.0, frozenset({4, 5}), ""),
        Mail(301.0, frozenset({4, 5}), ""),  # one kill, one e-mail: accounted once
        Mail(302.0, frozenset({4}), ""),
    ]
    kills = [Kill(100.5, "daemon"), Kill(140.0, "daemon"), Kill(225.0, "daemon")]
    kills.append(Kill(300.2, "daemon"))
    result = account(mails, kills, ledger)
    assert [d["lines"] for d in result["accounted"]] == [[1], [3], [4, 5]]
    assert [d["lines"] for d in result["unaccounted"]] == [[2], [4]]
