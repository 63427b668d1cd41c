"""`ticker run` with many sources: 500 loopback pages (~250 KB each, ETag/304, each gaining a
new line now and then) polled every 30 s, one json:// channel to a loopback HTTP sink taking
every alert. Measures the daemon's CPU time (/proc/PID/stat, user + system, all threads) as a
share of one core, and, from the page servers' request log, the interval between consecutive
polls of each source (a missed or late poll shows as a long interval). Optionally profiles the
daemon with py-spy (`pip install py-spy`) during the steady part of the run.

    .venv/bin/python -m bench.scale [--sources 500] [--duration 300] [--profile 120]

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
from pathlib import Path
from random import Random

from bench.rig import (
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
    parser.add_argument("--profile", type=float, default=0.0, help="seconds of py-spy record")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's raw stacks here")
    parser.add_argument("--log", type=Path, help="keep the daemon's log here")
    args = parser.parse_args()
    late = args.interval * 1.5
    start = time.time()
    schedule = change_schedule(
        args.sources, start + args.interval / 2, args.change_every, start + args.duration * 3
    )

    def version(page: int, count: int, now: float) -> int:
        return bisect.bisect_right(schedule[page], now)

    cpu: list[tuple[float, float, float]] = []  # (time, daemon CPU s, servers CPU s)
    profile_out: Path | None = None
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(
            args.sources, servers=args.servers, page_bytes=args.page_kb * 1000, policy=version
        )
        with site, HttpSink() as hook:
            sources = [(f"s{n}", site.url(n)) for n in range(args.sources)]
            channels = [("hook", hook.url("json", "j"), "")]
            config = config_text(Path(tmp) / "ticker.db", args.interval, sources, channels)
            with TickerRun(Path(tmp), config, args.log) as daemon:
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
                    daemon.check()
                    now = time.time()
                    cpu.append((now, daemon.cpu_seconds(), own_cpu()))
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
                cpu.append((time.time(), daemon.cpu_seconds(), own_cpu()))
                rss = daemon.status_kb("VmRSS")
                if profiler is not None:
                    try:
                        profiler.wait(timeout=args.profile + 60)
                    except subprocess.TimeoutExpired:
                        profiler.kill()
                        profiler.wait()
                status = daemon.stop()
                text = daemon.log_text()
            delivered = hook.count("j")
            with site.lock:
                log, connections = list(site.log), site.connections
        report(args, log, cpu, first, round_one, rss, status, delivered, text, late)
        print(
            f"TCP connections the page servers accepted: {connections}; "
            f"reset by the client: {site.errors()}"
        )
        if reached < args.sources:
            print(f"only {reached} of {args.sources} sources reached the server in the first round")
        if profile_out is not None and profile_out.exists():
            read_profile(profile_out)
            if args.profile_out:
                shutil.copy(profile_out, args.profile_out)
        elif args.profile:
            print("profile: py-spy not available or failed (pip install py-spy)")


def report(
    args: argparse.Namespace,
    log: list[tuple[float, int, int, int]],
    cpu: list[tuple[float, float, float]],
    first: float,
    round_one: float,
    rss: int,
    status: int,
    delivered: int,
    text: str,
    late: float,
) -> None:
    by_page: dict[int, list[float]] = collections.defaultdict(list)
    for at, page, _, _ in log:
        by_page[page].append(at)
    intervals = [b - a for t in by_page.values() for a, b in zip(t, t[1:], strict=False)]
    polls = [len(by_page.get(page, [])) for page in range(args.sources)]
    statuses = collections.Counter(code for _, _, code, _ in log)
    steady = [c for c in cpu if c[0] >= first + SETTLE]
    print(f"machine: {machine()}; ticker at {revision()}")
    print(f"command: {command_line()}")
    print(
        f"{args.sources} sources every {args.interval:g} s on {args.servers} loopback ports, "
        f"{args.page_kb} KB pages, a new line every {args.change_every:g} s per source on "
        f"average; {len(log)} polls in {args.duration:g} s; ticker exited {status}"
    )
    print(
        f"replies: {statuses[200]} x 200, {statuses[304]} x 304; "
        f"alerts delivered to the json sink: {delivered} messages"
    )
    print(f"first round (every source's first request): {round_one:.1f} s after the first poll")
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
        polls_in = sum(1 for at, *_ in log if steady[0][0] <= at < steady[-1][0])
        per_poll = (steady[-1][1] - steady[0][1]) / max(1, polls_in) * 1000
        print(
            f"daemon CPU, steady ({span:.0f} s from {SETTLE:g} s on): {daemon:.1f} % of one core "
            f"on average; per 5 s window: median {statistics.median(windows):.1f} %, "
            f"p95 {p95(windows):.1f} %, max {max(windows):.1f} %; "
            f"{per_poll:.2f} ms of CPU per poll ({polls_in} polls)"
        )
        print(f"page servers and sink (this process), steady: {servers:.1f} % of one core")
    print(f"daemon VmRSS at the end: {rss / 1024:.1f} MB")
    print_log_summary(text)


if __name__ == "__main__":
    main()
