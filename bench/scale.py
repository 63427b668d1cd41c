"""`ticker run` with many sources: 500 loopback pages (~250 KB each, ETag/304, each gaining a
new line now and then) polled every 30 s, one json:// channel to a loopback HTTP sink taking
every alert. Measures the daemon's CPU time (/proc/PID/stat, user + system, all threads) as a
share of one core, and, from the page servers' request log, the interval between consecutive
polls of each source (a missed or late poll shows as a long interval). Optionally profiles the
daemon with py-spy (`pip install py-spy`) during the steady part of the run.

    .venv/bin/python -m bench.scale [--sources 500] [--duration 300] [--profile 120]

Replicas (issue 17): `--replicas N` runs N `ticker run` processes with one config whose
database is a PostgreSQL server the benchmark starts (tests/postgres.py, on 127.0.0.1) and
stops; they share the sources through leases. Then "daemon CPU" is the sum over the
replicas, the PostgreSQL server's CPU (the postmaster and its backends, /proc) and its load
(pg_stat_database: transactions and rows per second) are reported too, and so are polls
of one source closer together than half the interval (two replicas polling it: a lease
moved between them).

    .venv/bin/python -m bench.scale --replicas 3 --sources 3000 --servers 1 --page-kb 20 \
        --duration 180

The page servers and the sink run in this process (threads), so their CPU time is this
process's own (getrusage), reported separately from the daemon's.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from random import Random

from bench.rig import (
    CLK_TCK,
    HttpSink,
    Site,
    TickerRun,
    command_line,
    config_text,
    machine,
    p95,
    print_log_summary,
    revision,
    spread,
    wait_until,
)

SETTLE = 20.0  # seconds after the first request before the steady window starts
BUCKETS = [  # innermost matching frame of a sample names where the time went
    # py-spy sees Python frames only: selectolax's and sqlite3's C code counts in the caller.
    ("parse (ticker/sources, selectolax)", ("ticker/sources", "sources/html.py", "selectolax")),
    ("store: SQL (ticker/store.py, sqlite3)", ("ticker/store.py", "sqlite3", "sqlite_utils")),
    ("HTTP client (httpx, httpcore, h11)", ("httpx", "httpcore", "h11", "anyio")),
    ("APScheduler", ("apscheduler",)),
    ("Apprise", ("apprise", "requests", "urllib3")),
    ("dedupe (rapidfuzz, ticker.dedupe)", ("rapidfuzz", "ticker/dedupe")),
    ("ticker (other)", ("ticker/",)),
    ("asyncio event loop", ("asyncio", "selectors")),
]


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def change_schedule(pages: int, start: float, mean: float, horizon: float) -> list[list[float]]:
    """Per page, the times its ticker gains a line: a Poisson process of mean gap `mean`,
    from `start` to `horizon`."""
    times: list[list[float]] = []
    for page in range(pages):
        rng, at, mine = Random(page), start, []
        while mean > 0 and len(mine) < 10_000:
            at += rng.expovariate(1 / mean)
            if at > horizon:
                break
            mine.append(at)
        times.append(mine)
    return times


def frame_area(frame: str) -> str | None:
    for area, needles in BUCKETS:
        if any(needle in frame for needle in needles):
            return area
    return None


def read_profile(path: Path) -> None:
    """Print where the sampled CPU time went: by area, and the top functions."""
    samples = 0
    areas: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    ticker_incl: collections.Counter[str] = collections.Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        area = next((a for f in reversed(frames) if (a := frame_area(f))), "other (Python, C)")
        areas[area] += count
        leaves[frames[-1].split(" (")[0] + " (" + _file(frames[-1]) + ")"] += count
        for name in {f.split(" (")[0] + " (" + _file(f) + ")" for f in frames if "ticker/" in f}:
            ticker_incl[name] += count
    if not samples:
        print("profile: no samples")
        return
    print(f"profile: {samples} samples of the daemon's busy threads")
    print("  by area (innermost frame of a known library):")
    for area, count in areas.most_common():
        print(f"    {100 * count / samples:5.1f} %  {area}")
    print("  top functions, self time:")
    for name, count in leaves.most_common(10):
        print(f"    {100 * count / samples:5.1f} %  {name}")
    print("  ticker functions, inclusive:")
    for name, count in ticker_incl.most_common(12):
        print(f"    {100 * count / samples:5.1f} %  {name}")


def _file(frame: str) -> str:
    inside = frame.rpartition(" (")[2].rstrip(")")
    path = inside.rsplit(":", 1)[0]
    parts = Path(path).parts
    for anchor in ("site-packages", "python3.11"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1 :])
    return "/".join(parts[-2:])


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Database:
    """The PostgreSQL server replicas share (tests/postgres.py), on 127.0.0.1: started by
    the benchmark, stopped at its end; its CPU and its load counters."""

    def __init__(self) -> None:
        from tests.postgres import PostgresServer

        self.server = PostgresServer.start(tcp=True)
        self.conninfo = self.server.create_database()
        self.name = self.conninfo.rpartition("dbname=")[2]
        self.url = f"postgresql://postgres@127.0.0.1:{self.server.port}/{self.name}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the postmaster, of its children it has reaped (backends
        that ended), and of its live children (/proc)."""
        pid = self.server.process.pid
        fields = _stat_fields(pid)
        total = sum(int(fields[n]) for n in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                child = _stat_fields(int(entry.name))
                if child and int(child[1]) == pid:  # ppid
                    total += int(child[11]) + int(child[12])
        return total / CLK_TCK

    def counters(self) -> dict[str, int]:
        """This database's pg_stat_database counters (transactions, rows)."""
        import psycopg

        names = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched",
                 "tup_inserted", "tup_updated", "tup_deleted")  # fmt: skip
        with psycopg.connect(self.server.conninfo(), autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                f"SELECT {', '.join(names)} FROM pg_stat_database WHERE datname = %s",
                (self.name,),
            ).fetchone()
        return dict(zip(names, (int(v) for v in row or ()), strict=False))

    def sources_held(self) -> list[int]:
        """Sources each live replica holds (ticker.leases), oldest replica first."""
        import psycopg

        from ticker import leases

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            return [r.sources_held for r in leases.replicas(conn) if r.live]

    def stop(self) -> None:
        self.server.stop()


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name (field 3 on: state, ppid, ...), or []."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat[stat.rindex(")") + 2 :].split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of polling")
    parser.add_argument("--servers", type=int, default=4, help="ports (origins) serving pages")
    parser.add_argument("--page-kb", type=int, default=250)
    parser.add_argument(
        "--change-every", type=float, default=600.0, help="mean seconds between new lines"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=0,
        help="N `ticker run` sharing a PostgreSQL database (0: one daemon on SQLite)",
    )
    parser.add_argument("--profile", type=float, default=0.0, help="seconds of py-spy record")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's raw stacks here")
    parser.add_argument("--log", type=Path, help="keep the daemon's log here (.N per replica)")
    args = parser.parse_args()
    late = args.interval * 1.5
    start = time.time()
    schedule = change_schedule(
        args.sources, start + args.interval / 2, args.change_every, start + args.duration * 3
    )

    def version(page: int, count: int, now: float) -> int:
        return bisect.bisect_right(schedule[page], now)

    # (time, daemons' CPU s, servers' CPU s, PostgreSQL's CPU s)
    cpu: list[tuple[float, float, float, float]] = []
    load: list[tuple[float, dict[str, int]]] = []  # (time, pg_stat_database counters)
    profile_out: Path | None = None
    database = Database() if args.replicas else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            site = Site(
                args.sources, servers=args.servers, page_bytes=args.page_kb * 1000, policy=version
            )
            with site, HttpSink() as hook, ExitStack() as stack:
                sources = [(f"s{n}", site.url(n)) for n in range(args.sources)]
                channels = [("hook", hook.url("json", "j"), "")]
                where: Path | str = database.url if database else Path(tmp) / "ticker.db"
                config = config_text(where, args.interval, sources, channels)
                daemons = []
                for n in range(max(1, args.replicas)):
                    workdir = Path(tmp) / f"r{n}"
                    workdir.mkdir()
                    keep = args.log.with_name(f"{args.log.name}.{n}") if args.log else None
                    if args.log and not args.replicas:
                        keep = args.log
                    daemons.append(stack.enter_context(TickerRun(workdir, config, keep)))
                daemon = daemons[0]

                def sample() -> None:
                    pg = database.cpu_seconds() if database else 0.0
                    cpu.append((time.time(), sum(d.cpu_seconds() for d in daemons), own_cpu(), pg))
                    if database:
                        load.append((time.time(), database.counters()))

                wait_until(lambda: site.total_requests() > 0, 60, "the first poll")
                first = time.time()
                round_deadline = time.monotonic() + args.interval * 2 + 60
                while not all(site.requests) and time.monotonic() < round_deadline:
                    time.sleep(0.05)
                round_one = time.time() - first
                reached = sum(1 for count in site.requests if count)
                profiler = None
                end = first + args.duration
                while time.time() < end:
                    for each in daemons:
                        each.check()
                    sample()
                    now = time.time()
                    spy = py_spy()
                    if args.profile and profiler is None and now >= first + SETTLE and spy:
                        profile_out = Path(tmp) / "profile.txt"
                        profiler = subprocess.Popen(
                            [spy, "record", "--pid", str(daemon.pid), "--duration",
                             str(int(args.profile)), "--rate", "100", "--format", "raw",
                             "--nonblocking", "--output", str(profile_out)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )  # fmt: skip
                    time.sleep(min(5.0, max(0.0, end - time.time())))
                sample()
                rss = [d.status_kb("VmRSS") for d in daemons]
                held = database.sources_held() if database else []
                if profiler is not None:
                    try:
                        profiler.wait(timeout=args.profile + 60)
                    except subprocess.TimeoutExpired:
                        profiler.kill()
                        profiler.wait()
                statuses = [d.stop() for d in daemons]
                text = "\n".join(d.log_text() for d in daemons)
                delivered = hook.count("j")
                with site.lock:
                    log, connections = list(site.log), site.connections
            run = Run(log, cpu, load, first, round_one, rss, statuses, delivered, text, late)
            report(args, run)
            if database:
                report_replicas(args, run, held)
            print(
                f"TCP connections the page servers accepted: {connections}; "
                f"reset by the client: {site.errors()}"
            )
            if reached < args.sources:
                print(
                    f"only {reached} of {args.sources} sources reached the server in the first "
                    "round"
                )
            if profile_out is not None and profile_out.exists():
                read_profile(profile_out)
                if args.profile_out:
                    shutil.copy(profile_out, args.profile_out)
            elif args.profile:
                print("profile: py-spy not available or failed (pip install py-spy)")
    finally:
        if database:
            database.stop()


@dataclass
class Run:
    """What one run measured."""

    log: list[tuple[float, int, int, int]]  # the site's (time, page, status, version)
    cpu: list[tuple[float, float, float, float]]
    load: list[tuple[float, dict[str, int]]]
    first: float  # the first request
    round_one: float  # seconds until every source was asked once
    rss: list[int]  # kB, per daemon, at the end
    statuses: list[int]
    delivered: int
    text: str  # the daemons' logs
    late: float  # an interval longer than this is a missed poll

    def steady(self) -> list[tuple[float, float, float, float]]:
        return [c for c in self.cpu if c[0] >= self.first + SETTLE]

    def polls_between(self, start: float, end: float) -> int:
        return sum(1 for at, *_ in self.log if start <= at < end)


def report(args: argparse.Namespace, run: Run) -> None:
    log, cpu, first, late = run.log, run.cpu, run.first, run.late
    by_page: dict[int, list[float]] = collections.defaultdict(list)
    for at, page, _, _ in log:
        by_page[page].append(at)
    intervals = [b - a for t in by_page.values() for a, b in zip(t, t[1:], strict=False)]
    polls = [len(by_page.get(page, [])) for page in range(args.sources)]
    statuses = collections.Counter(code for _, _, code, _ in log)
    steady = run.steady()
    exits = run.statuses[0] if len(run.statuses) == 1 else run.statuses  # "ticker exited 0"
    daemons = f"{args.replicas} replicas" if args.replicas > 1 else "ticker"
    print(f"machine: {machine()}; ticker at {revision()}")
    print(f"command: {command_line()}")
    print(
        f"{args.sources} sources every {args.interval:g} s on {args.servers} loopback ports, "
        f"{args.page_kb} KB pages, a new line every {args.change_every:g} s per source on "
        f"average; {len(log)} polls in {args.duration:g} s; {daemons} exited {exits}"
    )
    print(
        f"replies: {statuses[200]} x 200, {statuses[304]} x 304; "
        f"alerts delivered to the json sink: {run.delivered} messages"
    )
    print(f"first round (every source's first request): {run.round_one:.1f} s after the first poll")
    print(
        f"polls per source: min {min(polls)}, median {statistics.median(polls):g}, max {max(polls)}"
    )
    print(f"interval between polls of a source: {spread(intervals)}")
    seconds = collections.Counter(int(at - first) for at, *_ in log if at >= first + SETTLE)
    per_second = [seconds.get(n, 0) for n in range(int(SETTLE), int(args.duration))]
    if per_second:
        print(
            f"polls started per second after {SETTLE:g} s: median "
            f"{statistics.median(per_second):g}, p95 {p95(per_second):g}, max {max(per_second)} "
            f"(an even spread would be {args.sources / args.interval:.1f})"
        )
    print(f"intervals > {late:g} s: {sum(i > late for i in intervals)} of {len(intervals)}")
    # A missed poll once every source has had its first one (the first round is the
    # start-up's: thousands of first polls, each recording a baseline, queue behind each
    # other, and an interval that began in it may be long).
    settled = first + run.round_one
    after = [
        b - a for t in by_page.values() for a, b in zip(t, t[1:], strict=False) if a >= settled
    ]
    print(
        f"missed polls after the first round (intervals > {late:g} s): "
        f"{sum(i > late for i in after)} of {len(after)}"
    )
    last = max((at for at, *_ in log), default=first)
    silent = [p for p in range(args.sources) if not by_page.get(p) or by_page[p][-1] < last - late]
    print(f"sources not polled in the last {late:g} s of the run: {len(silent)}")
    if len(cpu) >= 2:
        span = cpu[-1][0] - cpu[0][0]
        print(
            f"daemon CPU, whole run ({span:.0f} s from the first round on): "
            f"{100 * (cpu[-1][1] - cpu[0][1]) / span:.1f} % of one core"
        )
    if len(steady) >= 2:
        span = steady[-1][0] - steady[0][0]
        pairs = zip(steady, steady[1:], strict=False)
        windows = [100 * (b[1] - a[1]) / (b[0] - a[0]) for a, b in pairs if b[0] > a[0]]
        daemon = 100 * (steady[-1][1] - steady[0][1]) / span
        servers = 100 * (steady[-1][2] - steady[0][2]) / span
        polls_in = run.polls_between(steady[0][0], steady[-1][0])
        per_poll = (steady[-1][1] - steady[0][1]) / max(1, polls_in) * 1000
        print(
            f"daemon CPU, steady ({span:.0f} s from {SETTLE:g} s on): {daemon:.1f} % of one core "
            f"on average; per 5 s window: median {statistics.median(windows):.1f} %, "
            f"p95 {p95(windows):.1f} %, max {max(windows):.1f} %; "
            f"{per_poll:.2f} ms of CPU per poll ({polls_in} polls, {polls_in / span:.1f} a second)"
        )
        print(f"page servers and sink (this process), steady: {servers:.1f} % of one core")
    print(f"daemon VmRSS at the end: {', '.join(f'{kb / 1024:.1f}' for kb in run.rss)} MB")
    print_log_summary(run.text)


def report_replicas(args: argparse.Namespace, run: Run, held: list[int]) -> None:
    """The replicas' share of the work, PostgreSQL's CPU and load, and double polls."""
    by_page: dict[int, list[float]] = collections.defaultdict(list)
    for at, page, _, _ in run.log:
        by_page[page].append(at)
    close = [
        (page, b - a)
        for page, times in by_page.items()
        for a, b in zip(times, times[1:], strict=False)
        if b - a < args.interval / 2
    ]
    print(f"sources held by the live replicas at the end: {held}")
    print(
        f"polls of one source less than {args.interval / 2:g} s apart (two replicas): "
        f"{len(close)} ({len({page for page, _ in close})} sources)"
    )
    steady = run.steady()
    if len(steady) < 2:
        return
    span = steady[-1][0] - steady[0][0]
    polls_in = max(1, run.polls_between(steady[0][0], steady[-1][0]))
    pg = steady[-1][3] - steady[0][3]
    replicas = steady[-1][1] - steady[0][1]
    print(
        f"PostgreSQL CPU, steady: {100 * pg / span:.1f} % of one core, {pg / polls_in * 1000:.2f}"
        f" ms per poll; replicas + PostgreSQL: {(pg + replicas) / polls_in * 1000:.2f} ms per poll"
    )
    loads = [(at, c) for at, c in run.load if at >= steady[0][0]]
    if len(loads) >= 2:
        (t0, c0), (t1, c1) = loads[0], loads[-1]
        rates = {name: (c1[name] - c0[name]) / (t1 - t0) for name in c0}
        written = sum(c1[n] - c0[n] for n in ("tup_inserted", "tup_updated", "tup_deleted"))
        print(
            "database load, steady, per second: "
            + ", ".join(f"{name} {rate:.0f}" for name, rate in rates.items())
            + f"; per poll: {(c1['xact_commit'] - c0['xact_commit']) / polls_in:.1f} commits, "
            f"{written / polls_in:.1f} rows written"
        )


if __name__ == "__main__":
    main()
