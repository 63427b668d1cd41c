"""Chaos run: for N minutes a loopback page gains a line every 1-2 s while the run, at
random moments, SIGKILLs and restarts `ticker run`, starts a second `ticker run` and a
cron-style `ticker poll` on the same database, holds the database's write lock for 5-60 s,
fills its file system (a small tmpfs) and frees it, steps the daemon's wall clock back 1 h
or forward 25 h (libfaketime), and makes the SMTP server refuse for a while (451), refuse
some lines for good (554) and go slow. Then it stops faulting, lets the daemon drain, stops
it with SIGTERM and counts the e-mails of every line.

    python -m bench.chaos --minutes 10 --seed 1 [--json FILE] [--keep]

Every line carries a token (`W000123`), counted across e-mail subjects and bodies, so a
message listing several lines counts for each. A line is *lost* if it should have been
delivered and no e-mail carries it; a *duplicate* is an e-mail repeating a line already
received, and it is *accounted for* when a SIGKILL of a ticker process fell after the
line's previous e-mail and before that one could be marked sent (within 2 s, or while the
database was locked or full, until 2 s after it was writable again): the documented
at-least-once window, a crash between send and mark. One kill accounts for one e-mail.
Lines carrying the refusal marker are answered 554 by the server and expected never to
arrive ("refused for good").
Exit status 1 if a line was lost or a duplicate is unaccounted for.

Everything listens on 127.0.0.1 and every process the run starts is killed when it ends,
also on Ctrl-C. The tmpfs needs root (`mount`); without it, or without libfaketime
(`apt-get install faketime`), those faults are skipped and the report says so.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.rig import (
    ROOT,
    FakeClock,
    LivePage,
    MailSink,
    command_line,
    config_text,
    daemon_env,
    fill_disk,
    hold_write_lock,
    machine,
    message_text,
    mount_tmpfs,
    no_throttle_hooks,
    revision,
    unmount,
)

FAULTS = ("kill", "second", "poll", "lock", "disk", "clock", "smtp-451", "smtp-554", "smtp-slow")
HELD = {"lock", "disk", "clock", "smtp-451", "smtp-slow"}  # faults that last a while
MARKER = "EMBARGOED"  # the SMTP server refuses for good every message containing it
TOKEN = re.compile(r"\bW(\d{6})\b")
_WORD_LIST = (
    "army convoy border crossing hospital school market port airport bridge village valley "
    "ridge coast harbour station tower district camp field road tunnel factory warehouse "
    "ministry council embassy court prison clinic square garden"
)
WORDS = _WORD_LIST.split()
RESTART_DELAY = 2.0  # seconds before a daemon that exited by itself is started again
SECOND_GRACE = 5.0  # seconds a second `ticker run` has to refuse to start
POLL_TIMEOUT = 60.0  # a one-off `ticker poll` still running then is killed
STOP_TIMEOUT = 30.0  # SIGTERM, then SIGKILL
MARK_SLACK = 2.0  # seconds from an e-mail's arrival to its "sent" mark, on a loaded machine
MARK_DELAYERS = {"lock", "disk"}  # faults the mark may wait out (kept and retried)


@dataclass
class Kill:
    """A SIGKILL of a ticker process: when, and which one."""

    at: float
    what: str


@dataclass
class Ledger:
    """What the run did and saw, for the report."""

    counts: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)  # seconds each held fault lasted
    kills: list[Kill] = field(default_factory=list)
    timeline: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, kind
    skipped: dict[str, str] = field(default_factory=dict)  # fault -> why
    daemon_exits: Counter[int] = field(default_factory=Counter)  # exits it chose itself
    second_exits: Counter[int] = field(default_factory=Counter)
    poll_exits: Counter[int] = field(default_factory=Counter)
    said: dict[str, str] = field(default_factory=dict)  # first stderr line per process kind
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, start: float, seconds: float = 0.0) -> None:
        with self.lock:
            self.counts[kind] += 1
            self.held[kind] += seconds
            self.timeline.append((start, start + seconds, kind))

    def kill(self, what: str) -> None:
        with self.lock:
            self.kills.append(Kill(time.time(), what))

    def mark_deadline(self, arrived: float) -> float:
        """The latest moment an e-mail that arrived at `arrived` can still be waiting for
        its "sent" mark: a moment later, or, if the database could not be written then
        (locked, full), until a moment after it could again."""
        deadline = arrived + MARK_SLACK
        with self.lock:
            for start, end, kind in self.timeline:
                if kind in MARK_DELAYERS and start - MARK_SLACK <= arrived <= end:
                    deadline = max(deadline, end + MARK_SLACK)
        return deadline

    def active(self, at: float, slack: float = 2.0) -> set[str]:
        """The faults under way at `at` (give or take `slack` seconds)."""
        with self.lock:
            return {kind for s, e, kind in self.timeline if s - slack <= at <= max(e, s) + slack}


@dataclass
class Line:
    """A line the page showed."""

    number: int
    text: str
    shown_at: float
    refused: bool  # carries MARKER: expected never to arrive


class Chaos:
    """The run: the page, the SMTP sink, the daemon and its supervisor, the faults."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.rng = random.Random(args.seed)
        self.ledger = Ledger()
        self.seconds = args.minutes * 60
        self.cap = max(5.0, self.seconds / 4)  # no held fault takes more of a short run
        self.stop = threading.Event()  # ends held faults early
        self.finished = threading.Event()  # ends the supervisor
        self.producing = threading.Event()
        self.lines: list[Line] = []
        self.mark_next = 0
        self.dbdir = workdir / "db"
        self.mounted = False  # a tmpfs on dbdir, to unmount at the end
        self.database = self.dbdir / "ticker.db"
        self.config = workdir / "config.toml"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.env_extra = no_throttle_hooks(workdir / "hooks")
        self.clock: FakeClock | None = None
        self.daemon: subprocess.Popen[bytes] | None = None
        self.daemon_lock = threading.Lock()
        self.daemon_log: IO[bytes] = (workdir / "daemon.log").open("ab")
        self.threads: list[threading.Thread] = []
        self.active: set[str] = set()
        self.started = time.time()

    # --- set-up --------------------------------------------------------------------------

    def prepare(self, page: LivePage, sink: MailSink) -> None:
        """The database's file system, the clock, the config."""
        if self.args.no_tmpfs:
            self.dbdir.mkdir()
            self.ledger.skipped["disk"] = "--no-tmpfs"
        else:
            why = mount_tmpfs(self.dbdir, self.args.tmpfs_mb)
            if why:
                self.ledger.skipped["disk"] = why
                self.dbdir.mkdir(exist_ok=True)
            else:
                self.mounted = True
        clock = FakeClock(self.workdir / "faketime.rc")
        why = clock.missing()
        if why:
            self.ledger.skipped["clock"] = why
        else:
            self.clock = clock
            self.env_extra.update(clock.env())
        sink.refuse_marker = MARKER
        channel = ("mail", sink.url, "max_per_minute = 0\n")
        self.config.write_text(
            config_text(self.database, 1, [("wire", page.url)], [channel]), encoding="utf-8"
        )

    def spawn(self, *args: str, out: IO[bytes] | int) -> subprocess.Popen[bytes]:
        """A ticker process on the run's config, with the run's clock and hooks."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "ticker", "--config", str(self.config), *args],
            stdout=out,
            stderr=subprocess.STDOUT if out is not subprocess.PIPE else subprocess.PIPE,
            cwd=ROOT,
            env=daemon_env(self.env_extra),
        )
        self.processes.append(proc)
        return proc

    # --- the daemon ------------------------------------------------------------------------

    def start_daemon(self) -> None:
        self.daemon = self.spawn("run", out=self.daemon_log)

    def supervise(self) -> None:
        """Start the daemon again when it exits by itself (as systemd would, sooner)."""
        restart_at = 0.0
        while not self.finished.wait(0.2):
            with self.daemon_lock:
                if self.finished.is_set():
                    return
                daemon = self.daemon
                if daemon is not None and daemon.poll() is not None:
                    self.ledger.daemon_exits[int(daemon.returncode)] += 1
                    self.daemon = None
                    restart_at = time.monotonic() + RESTART_DELAY
                if self.daemon is None and time.monotonic() >= restart_at:
                    self.start_daemon()

    def kill_daemon(self) -> None:
        """SIGKILL the daemon and start it again at once."""
        with self.daemon_lock:
            if self.daemon is None or self.daemon.poll() is not None:
                return
            self.daemon.kill()
            self.ledger.kill("daemon")
            self.daemon.wait()
            self.ledger.note("kill", time.time())
            self.start_daemon()

    def stop_daemon(self) -> int | None:
        """SIGTERM (then SIGKILL after STOP_TIMEOUT); the exit status."""
        self.finished.set()
        with self.daemon_lock:
            daemon = self.daemon
            if daemon is None:
                return None
            daemon.terminate()
            try:
                return daemon.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                daemon.kill()
                self.ledger.kill("daemon (did not stop on SIGTERM)")
                return daemon.wait()

    def baselined(self) -> bool:
        """True once the daemon's first poll of the page is recorded."""
        if not self.database.exists():
            return False
        try:
            with closing_db(self.database) as conn:
                row = conn.execute("SELECT last_success FROM sources").fetchone()
        except sqlite3.Error:
            return False
        return row is not None and row[0] is not None

    # --- the page ------------------------------------------------------------------------

    def produce(self, page: LivePage) -> None:
        """A new line every 1-2 s while `producing` is set."""
        rng = random.Random(self.args.seed + 1)
        number = 0
        while not self.finished.wait(rng.uniform(1.0, 2.0)):
            if not self.producing.is_set():
                continue
            number += 1
            refused = self.mark_next > 0
            if refused:
                self.mark_next -= 1
            words = " ".join(rng.sample(WORDS, 6))
            text = f"Wire {number}: {words} ref W{number:06d}" + (f" {MARKER}" if refused else "")
            self.lines.append(Line(number, text, page.add(text), refused))

    # --- faults --------------------------------------------------------------------------

    def hold(self, low: float, high: float) -> float:
        return min(self.rng.uniform(low, high), self.cap)

    def in_background(self, kind: str, action: Callable[[], None]) -> None:
        def run() -> None:
            try:
                action()
            finally:
                with self.ledger.lock:
                    self.active.discard(kind)

        with self.ledger.lock:
            self.active.add(kind)
        thread = threading.Thread(target=run, name=kind, daemon=True)
        self.threads.append(thread)
        thread.start()

    def second_instance(self) -> None:
        """A second `ticker run` on the same database: refused (exits non-zero within
        SECOND_GRACE), or it runs, and is stopped after a few more seconds."""
        start = time.time()
        log = (self.workdir / "second.log").open("ab")
        proc = self.spawn("run", out=log)
        try:
            proc.wait(timeout=SECOND_GRACE)
        except subprocess.TimeoutExpired:
            self.stop.wait(self.rng.uniform(0, 10))
            stop_process(proc, self.ledger, "second instance")
            self.ledger.note("second ran", start, time.time() - start)
        else:
            kind = "second refused" if proc.returncode else "second exited 0"
            self.ledger.note(kind, start, time.time() - start)
        finally:
            log.close()
        self.ledger.second_exits[int(proc.returncode)] += 1
        said = last_words((self.workdir / "second.log").read_text("utf-8", errors="replace"))
        self.ledger.said.setdefault("second", said)

    def one_off_poll(self) -> None:
        """`ticker poll` on the same config while the daemon runs (a cron job)."""
        start = time.time()
        proc = self.spawn("poll", out=subprocess.PIPE)
        try:
            _out, err = proc.communicate(timeout=POLL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.ledger.kill("ticker poll")
            _out, err = proc.communicate()
        self.ledger.note("poll", start, time.time() - start)
        self.ledger.poll_exits[int(proc.returncode)] += 1
        said = last_words(err.decode("utf-8", "replace"))
        if said:
            self.ledger.said.setdefault("poll", said)

    def lock_database(self) -> None:
        start = time.time()
        held = hold_write_lock(self.database, self.hold(5, 60), self.stop)
        self.ledger.note("lock" if held else "lock not taken", start, held)

    def fill_disk(self) -> None:
        start = time.time()
        ballast = fill_disk(self.dbdir, self.stop)
        try:
            self.stop.wait(self.hold(5, 30))
        finally:
            ballast.unlink(missing_ok=True)
        self.ledger.note("disk", start, time.time() - start)

    def step_clock(self) -> None:
        assert self.clock is not None
        offset = self.rng.choice(["-3600", "+25h"])
        start = time.time()
        self.clock.step(offset)
        try:
            self.stop.wait(self.hold(10, 90))
        finally:
            self.clock.step("+0")
        kind = "clock back 1 h" if offset.startswith("-") else "clock forward 25 h"
        self.ledger.note(kind, start, time.time() - start)

    def smtp_refusing(self, sink: MailSink) -> None:
        start = time.time()
        sink.refusing = True
        try:
            self.stop.wait(self.hold(5, 45))
        finally:
            sink.refusing = False
        self.ledger.note("smtp 451", start, time.time() - start)

    def smtp_slow(self, sink: MailSink) -> None:
        start = time.time()
        sink.delay = self.rng.uniform(2, 8)
        try:
            self.stop.wait(self.hold(10, 60))
        finally:
            sink.delay = 0.0
        self.ledger.note("smtp slow", start, time.time() - start)

    def fault(self, kind: str, sink: MailSink) -> None:
        """Start one fault: at once (kill, a line refused for good), or in the background."""
        if kind == "kill":
            self.kill_daemon()
        elif kind == "smtp-554":
            self.mark_next += 1
            self.ledger.note("smtp 554 line", time.time())
        else:
            actions: dict[str, Callable[[], None]] = {
                "second": self.second_instance,
                "poll": self.one_off_poll,
                "lock": self.lock_database,
                "disk": self.fill_disk,
                "clock": self.step_clock,
                "smtp-451": lambda: self.smtp_refusing(sink),
                "smtp-slow": lambda: self.smtp_slow(sink),
            }
            self.in_background(kind, actions[kind])

    def unleash(self, sink: MailSink) -> None:
        """Faults at random moments until the run's time is up: kinds drawn from a shuffled
        bag (every kind once per round, kills twice), one of each kind at a time, at most
        `--overlap` lasting ones at once."""
        kinds = [k for k in self.args.faults if k not in self.ledger.skipped]
        deadline = time.monotonic() + self.seconds
        bag: list[str] = []
        while time.monotonic() < deadline:
            if not bag:
                bag = kinds + (["kill"] if "kill" in kinds else [])
                self.rng.shuffle(bag)
            pause = min(self.rng.uniform(0.5, 2 * self.args.gap), deadline - time.monotonic())
            time.sleep(max(0.0, pause))
            with self.ledger.lock:
                held_now = len(self.active & HELD)
                busy = set(self.active)
            full = held_now >= self.args.overlap
            ready = [k for k in bag if k not in busy and not (k in HELD and full)]
            if ready and time.monotonic() < deadline:
                bag.remove(ready[0])
                self.fault(ready[0], sink)

    def calm(self, sink: MailSink) -> None:
        """End every fault and put everything back."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=POLL_TIMEOUT + 30)
        sink.refusing, sink.delay = False, 0.0
        if self.clock is not None:
            self.clock.step("+0")
        (self.dbdir / "ballast").unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Kill whatever the run started that still runs; undo the mount."""
        with self.daemon_lock:  # the supervisor starts no daemon after this
            self.finished.set()
        self.stop.set()
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=10)
        if self.clock is not None:
            FakeClock.forget(self.started - 1)
        self.daemon_log.close()
        if self.mounted:
            unmount(self.dbdir)


# --- small helpers -------------------------------------------------------------------------


@contextmanager
def closing_db(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to `path` that waits at most 2 s for a lock."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    try:
        yield conn
    finally:
        conn.close()


def stop_process(proc: subprocess.Popen[bytes], ledger: Ledger, what: str) -> None:
    """SIGTERM, then SIGKILL (counted as a kill) after STOP_TIMEOUT."""
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        ledger.kill(what)
        proc.wait()


def last_words(text: str) -> str:
    """What a process said that matters most: its last message to the user (`ticker:
    ...`), else its last error or warning, else its last word on delivery, else its last
    line."""
    lines = text.strip().splitlines()
    for wanted in (
        lambda line: line.startswith("ticker: "),
        lambda line: any(w in line for w in (" ERROR ", " WARNING ", "Error")),
        lambda line: "deliver" in line,
        lambda line: True,
    ):
        found = [line for line in lines if wanted(line)]
        if found:
            return found[-1][:200]
    return ""


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Check `condition` every 0.25 s for at most `seconds`; its last value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


# --- counting ------------------------------------------------------------------------------


@dataclass
class Mail:
    """An e-mail the server accepted: when, and the line numbers it carries."""

    at: float
    numbers: frozenset[int]
    subject: str


def accepted(sink: MailSink) -> list[Mail]:
    return [
        Mail(at, frozenset(int(t) for t in TOKEN.findall(message_text(m))), str(m["Subject"]))
        for at, m in sink.messages()
    ]


def refused_numbers(sink: MailSink) -> Counter[int]:
    """How often each line was answered 554."""
    from bench.rig import parse_mail

    with sink.lock:
        refusals = list(sink.refusals)
    counts: Counter[int] = Counter()
    for _at, code, raw in refusals:
        if code == 554:
            counts.update(int(t) for t in set(TOKEN.findall(message_text(parse_mail(raw)))))
    return counts


def account(mails: list[Mail], kills: list[Kill], ledger: Ledger) -> dict[str, Any]:
    """Each e-mail repeating a line already received is matched to a distinct SIGKILL
    that fell after that line's previous e-mail and before it could have been marked sent
    (`Ledger.mark_deadline`), greedily, earliest kill first: the crash window. What is
    left unmatched is unaccounted for."""
    last_seen: dict[int, float] = {}
    free = sorted(kills, key=lambda k: k.at)
    accounted, unaccounted = [], []
    for mail in sorted(mails, key=lambda m: m.at):
        repeated = [n for n in mail.numbers if n in last_seen]
        if repeated:
            since = min(last_seen[n] for n in repeated)
            until = min(mail.at, ledger.mark_deadline(since))
            kill = next((k for k in free if since - 0.05 <= k.at <= until), None)
            entry = {
                "lines": sorted(repeated),
                "previous": since,
                "at": mail.at,
                "faults": sorted(ledger.active(since) | ledger.active(mail.at)),
            }
            if kill is not None:
                free.remove(kill)
                accounted.append({**entry, "kill": kill.what, "kill_after": kill.at - since})
            else:
                unaccounted.append(entry)
        for n in mail.numbers:
            last_seen[n] = mail.at
    return {"accounted": accounted, "unaccounted": unaccounted}


def fate(database: Path, number: int) -> str:
    """What the database says of line `number`: its delivery's state and last error."""
    try:
        with closing_db(database) as conn:
            row = conn.execute(
                "SELECT d.status, d.attempts, d.last_error FROM items i "
                "LEFT JOIN alerts a ON a.item_id = i.id "
                "LEFT JOIN deliveries d ON d.alert_id = a.id "
                "WHERE i.text LIKE ? LIMIT 1",
                (f"%W{number:06d}%",),
            ).fetchone()
    except sqlite3.Error as exc:
        return f"database unreadable: {exc}"
    if row is None:
        return "never recorded"
    status, attempts, error = row
    if status is None:
        return "recorded, no alert"
    return f"delivery {status} after {attempts} attempts" + (f": {error[:120]}" if error else "")


def outbox(database: Path) -> dict[str, Any]:
    """The deliveries by state at the end, and the error of the oldest one still waiting
    after a failed attempt (what a blocked channel waits behind)."""
    try:
        with closing_db(database) as conn:
            states = dict(
                conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
            )
            waiting = conn.execute(
                "SELECT attempts, last_error FROM deliveries WHERE status = 'pending' "
                "AND last_error IS NOT NULL ORDER BY id LIMIT 1"
            ).fetchone()
    except sqlite3.Error as exc:
        return {"error": str(exc)}
    result: dict[str, Any] = {"states": states}
    if waiting is not None:
        result["oldest_failing"] = f"{waiting[0]} attempts: {str(waiting[1])[:160]}"
    return result


def integrity(database: Path) -> str:
    try:
        with closing_db(database) as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.Error as exc:
        return f"unreadable: {exc}"


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    chaos = Chaos(args, workdir)
    with LivePage(shown=args.shown) as page, MailSink() as sink:
        try:
            chaos.prepare(page, sink)
            return chaos_run(chaos, page, sink)
        finally:
            chaos.cleanup()


def chaos_run(chaos: Chaos, page: LivePage, sink: MailSink) -> dict[str, Any]:
    args = chaos.args
    for number in range(5):
        page.add(f"Desk {number}: baseline line {number} of the chaos run")
    chaos.start_daemon()
    if not wait_for(chaos.baselined, 60):
        raise SystemExit(f"the daemon never polled the page; see {chaos.workdir}/daemon.log")
    for target in (chaos.supervise, lambda: chaos.produce(page)):
        threading.Thread(target=target, daemon=True).start()
    chaos.producing.set()
    began = time.time()
    chaos.unleash(sink)
    chaos.calm(sink)
    time.sleep(3)  # the last lines reach the page's top before it stops
    chaos.producing.clear()
    ran = time.time() - began
    expected = {line.number for line in chaos.lines if not line.refused}

    def drained() -> bool:
        got = {n for mail in accepted(sink) for n in mail.numbers}
        return expected <= got

    drain_start = time.time()
    wait_for(drained, args.drain)
    drain_seconds = time.time() - drain_start
    time.sleep(3)  # a late duplicate has its chance to show
    stop_status = chaos.stop_daemon()
    time.sleep(1)
    return tally(chaos, sink, ran, drain_seconds, stop_status)


def tally(
    chaos: Chaos, sink: MailSink, ran: float, drain_seconds: float, stop_status: int | None
) -> dict[str, Any]:
    mails = accepted(sink)
    per_line: Counter[int] = Counter(n for mail in mails for n in mail.numbers)
    refused = refused_numbers(sink)
    lines = chaos.lines
    marked = [line for line in lines if line.refused]
    lost = [line.number for line in lines if not line.refused and per_line[line.number] == 0]
    duplicates = account(mails, chaos.ledger.kills, chaos.ledger)
    ledger = chaos.ledger
    with sink.lock:
        answered = Counter(code for _at, code, _raw in sink.refusals)
    return {
        "command": command_line(),
        "revision": revision(),
        "machine": machine(),
        "seed": chaos.args.seed,
        "minutes": round(ran / 60, 2),
        "lines": len(lines),
        "emails": len(mails),
        "emails_without_line": [m.subject for m in mails if not m.numbers],
        "answered_451": answered[451],
        "answered_554": answered[554],
        "per_line": dict(sorted(Counter(per_line[line.number] for line in lines).items())),
        "lost": lost,
        "lost_fate": {n: fate(chaos.database, n) for n in lost[:200]},
        "duplicate_emails": len(duplicates["accounted"]) + len(duplicates["unaccounted"]),
        "duplicate_lines": sum(1 for line in lines if per_line[line.number] > 1),
        "accounted": duplicates["accounted"],
        "unaccounted": duplicates["unaccounted"],
        "refused_for_good": len(marked),
        "refused_delivered": [line.number for line in marked if per_line[line.number]],
        "refused_attempted": sum(1 for line in marked if refused[line.number]),
        "faults": dict(sorted(ledger.counts.items())),
        "fault_seconds": {k: round(v) for k, v in sorted(ledger.held.items()) if v},
        "kills": Counter(k.what for k in ledger.kills),
        "skipped": ledger.skipped,
        "daemon_exits": dict(ledger.daemon_exits),
        "second_exits": dict(ledger.second_exits),
        "poll_exits": dict(ledger.poll_exits),
        "said": ledger.said,
        "stop_status": stop_status,
        "drain_seconds": round(drain_seconds, 1),
        "integrity": integrity(chaos.database),
        "outbox": outbox(chaos.database),
        "started": chaos.started,
    }


def report(result: dict[str, Any]) -> str:
    """The run in a few lines, for people."""
    t0 = result["started"]
    faults, seconds, kills = result["faults"], result["fault_seconds"], result["kills"]
    out = [
        f"chaos run: {result['command']}",
        f"  at {result['revision']}, {result['machine']}",
        f"  {result['minutes']} min of faults, seed {result['seed']}",
        "",
        f"lines produced:      {result['lines']} ({result['refused_for_good']} marked to be "
        "refused for good)",
        f"e-mails accepted:    {result['emails']} ({len(result['emails_without_line'])} carried "
        f"no line: ticker's own alerts); answered 451: {result['answered_451']}, "
        f"554: {result['answered_554']}",
        "e-mails per line:    "
        + ", ".join(f"{n} e-mail(s): {c} lines" for n, c in result["per_line"].items()),
        f"LOST:                {len(result['lost'])}"
        + (f"  {result['lost'][:20]}" if result["lost"] else ""),
    ]
    fates = Counter(result["lost_fate"].values())
    for why, count in fates.most_common(10):
        out.append(f"    {count} line(s): {why}")
    out += [
        f"duplicates:          {result['duplicate_emails']} e-mails repeated a line "
        f"({result['duplicate_lines']} lines); {len(result['accounted'])} inside the crash "
        f"window, {len(result['unaccounted'])} UNACCOUNTED",
    ]
    for dup in result["accounted"][:10]:
        out.append(
            f"    lines {dup['lines']}: again at +{dup['at'] - t0:.1f} s, {dup['kill']} killed "
            f"{dup['kill_after']:.2f} s after the first e-mail"
        )
    for dup in result["unaccounted"][:10]:
        out.append(
            f"    lines {dup['lines']}: first at +{dup['previous'] - t0:.1f} s, again at "
            f"+{dup['at'] - t0:.1f} s, no kill between; faults then: {', '.join(dup['faults'])}"
        )
    if len(result["unaccounted"]) > 10:
        why = Counter(f for dup in result["unaccounted"] for f in dup["faults"])
        out.append(f"    ... faults around all unaccounted ones: {dict(why.most_common())}")
    out += [
        f"refused for good:    {result['refused_for_good']} lines, "
        f"{result['refused_attempted']} of them answered 554 at least once, "
        f"{len(result['refused_delivered'])} delivered anyway",
        "",
        "faults:",
        f"  SIGKILLs:          {sum(kills.values())} ({dict(kills)})",
        f"  second `ticker run`: {faults.get('second refused', 0)} refused, "
        f"{faults.get('second ran', 0)} ran, {faults.get('second exited 0', 0)} exited 0; "
        f"exit statuses {result['second_exits']}",
        f"  `ticker poll`:     {faults.get('poll', 0)}, exit statuses {result['poll_exits']}",
        f"  database locked:   {faults.get('lock', 0)} ({seconds.get('lock', 0)} s in all; "
        f"{faults.get('lock not taken', 0)} times the lock could not be taken)",
        f"  disk full:         {faults.get('disk', 0)} ({seconds.get('disk', 0)} s in all)",
        f"  clock stepped:     {faults.get('clock back 1 h', 0)} back 1 h, "
        f"{faults.get('clock forward 25 h', 0)} forward 25 h",
        f"  SMTP:              {faults.get('smtp 451', 0)} temporary refusals "
        f"({seconds.get('smtp 451', 0)} s), {faults.get('smtp slow', 0)} slow "
        f"spells ({seconds.get('smtp slow', 0)} s), "
        f"{faults.get('smtp 554 line', 0)} lines refused for good",
    ]
    for kind, why in result["skipped"].items():
        out.append(f"  skipped {kind}: {why}")
    for kind, said in result["said"].items():
        out.append(f"  {kind} said: {said}")
    out += [
        "",
        f"daemon exits on its own: {result['daemon_exits'] or 'none'}; "
        f"stopped with SIGTERM: exit {result['stop_status']}; drained in "
        f"{result['drain_seconds']} s",
        f"database integrity:  {result['integrity']}",
        f"outbox at the end:   {result['outbox'].get('states', result['outbox'])}",
    ]
    if "oldest_failing" in result["outbox"]:
        out.append(f"  oldest failing delivery: {result['outbox']['oldest_failing']}")
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5, help="how long faults go on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"which faults, comma-separated (default all: {','.join(FAULTS)})",
    )
    parser.add_argument("--gap", type=float, default=5, help="mean seconds between faults")
    parser.add_argument("--overlap", type=int, default=2, help="lasting faults at once, at most")
    parser.add_argument("--shown", type=int, default=150, help="lines the page shows")
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait for delivery")
    parser.add_argument("--tmpfs-mb", type=int, default=16, help="size of the database's tmpfs")
    parser.add_argument("--no-tmpfs", action="store_true", help="no tmpfs, no disk-full fault")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the result as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = set(args.faults) - set(FAULTS)
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):  # clean up on either, even in background
        signal.signal(signum, signal.default_int_handler)
    workdir = Path(tempfile.mkdtemp(prefix="ticker-chaos-"))
    try:
        result = run(args, workdir)
    except KeyboardInterrupt:
        print("interrupted: every process the run started is stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    failed = bool(result["lost"] or result["unaccounted"] or not result["lines"])
    print("RESULT: " + ("FAIL" if failed else "ok"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
