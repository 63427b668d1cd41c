"""Resident memory of `ticker run` over a long run: 3 sources polled every second from
loopback pages (~250 KB, ETag/304) whose ticker gains a line every few polls, and 3 channels
that receive every alert: e-mail to a local aiosmtpd sink, json:// and form:// to a local
HTTP sink. VmRSS of the daemon (/proc/PID/status) is sampled as it goes; the figures are RSS at
start, after warm-up and at the end, and the slope after warm-up in MiB per 1,000 polls
(/proc reports kB, which are KiB; figures are MiB, as ps, top and systemd's MemoryMax= count).

    .venv/bin/python -m bench.memory [--polls 10000] [--sources 3] [--change-every 8]
        [--python PATH]

`--python` runs the daemon with another interpreter, such as that of an environment made
by the README's first command (ticker's runtime dependencies only): the test tools in
.venv change what some libraries import (httpx imports pygments when it is installed).

The scheduler's shortest interval is 1 s, so a run takes about polls / sources seconds
(10,000 polls of 3 sources: ~57 min). For a quicker run ask for fewer polls, or more sources
(`--sources 10 --polls 10000`: ~17 min). The e-mail channel takes the first source only:
Apprise waits 5.5 s between two e-mails to one server, so more than one alert every 5.5 s
would pile up in the outbox by design (see bench.latency).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.rig import (
    HttpSink,
    MailSink,
    Site,
    TickerRun,
    command_line,
    config_text,
    machine,
    print_log_summary,
    revision,
    wait_until,
)

INTERVAL = 1.0  # the scheduler's minimum
POLL_PERIOD = 1.1  # seconds between two polls of one source: interval, jitter, the poll


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=10_000, help="total polls of all sources")
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--change-every", type=int, default=8, help="polls per new line")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds")
    parser.add_argument(
        "--warmup", type=int, default=0, help="polls before the slope (default: 10%%, >= 300)"
    )
    parser.add_argument("--log", type=Path, help="keep the daemon's log here")
    parser.add_argument(
        "--python",
        default="",
        help="run the daemon with this interpreter, e.g. that of an environment with only "
        "ticker's runtime dependencies (default: this one)",
    )
    args = parser.parse_args()
    warmup = args.warmup or max(300, args.polls // 10)
    every = args.change_every
    expected = args.polls / args.sources * POLL_PERIOD
    samples: list[tuple[float, int, int]] = []  # (seconds since start, polls, VmRSS kB)
    parts: list[tuple[int, int]] = []  # (RssAnon, RssFile) kB of each sample
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(args.sources, policy=lambda page, count, now: count // every)
        with site, MailSink() as mail, HttpSink() as hooks:
            sources = [(f"s{n}", site.url(n)) for n in range(args.sources)]
            channels = [
                ("mail", mail.url, 'sources = ["s0"]'),
                ("json", hooks.url("json", "json"), ""),
                ("form", hooks.url("form", "form"), ""),
            ]
            config = config_text(Path(tmp) / "ticker.db", INTERVAL, sources, channels)
            with TickerRun(Path(tmp), config, args.log, args.python) as daemon:
                started = time.monotonic()
                wait_until(lambda: site.total_requests() >= args.sources, 30, "the first polls")
                deadline = started + expected * 2 + 120
                while True:
                    daemon.check()
                    polls = site.total_requests()
                    samples.append((time.monotonic() - started, polls, daemon.status_kb("VmRSS")))
                    parts.append((daemon.status_kb("RssAnon"), daemon.status_kb("RssFile")))
                    if polls >= args.polls or time.monotonic() > deadline:
                        break
                    time.sleep(args.sample_every)
                hwm = daemon.status_kb("VmHWM")
                elapsed = time.monotonic() - started
                status = daemon.stop()
                log_text = daemon.log_text()
            delivered = (mail.count(), hooks.count("json"), hooks.count("form"))
    polls = samples[-1][1]
    after = [s for s in samples if s[1] >= warmup]
    mb = [(p / 1000, kb / 1024) for _, p, kb in after]
    first_tenth = [kb for _, _, kb in after[: max(1, len(after) // 10)]]
    last_tenth = [kb for _, _, kb in after[-max(1, len(after) // 10) :]]
    print(f"machine: {machine()}; ticker at {revision()}")
    print(f"command: {command_line()}")
    print(f"daemon interpreter: {args.python or sys.executable}")
    print(
        f"{args.sources} sources every {INTERVAL:g} s, a new line every {every} polls; "
        f"3 channels (mail: s0 only, json, form); {polls} polls in {elapsed / 60:.1f} min; "
        f"ticker exited {status}"
    )
    print(f"deliveries received: mail {delivered[0]}, json {delivered[1]}, form {delivered[2]}")
    print_log_summary(log_text)
    trusted = [line for line in log_text.splitlines() if "https: trusting" in line]
    print(f"daemon's TLS trust store: {trusted[0].split('https: ')[-1] if trusted else '?'}")
    steps = [b[0] - a[0] for a, b in zip(samples, samples[1:], strict=False)]
    stalls = [step for step in steps if step > 2 * args.sample_every + 1]
    if stalls:
        print(f"sampling stalled {len(stalls)} times (longest {max(stalls):.1f} s): a busy machine")
    print("point          polls   VmRSS     RssAnon   RssFile")
    points = [("start", 0), ("after warm-up", len(samples) - len(after)), ("end", -1)]
    for label, index in points if after else [points[0], points[2]]:
        (_, at, rss), (anon, mapped) = samples[index], parts[index]
        print(
            f"{label:<13} {at:>6}  {rss / 1024:5.1f} MiB  {anon / 1024:5.1f} MiB  "
            f"{mapped / 1024:5.1f} MiB"
        )
    print(f"VmHWM (peak VmRSS) {hwm / 1024:.1f} MiB")
    if len(mb) >= 3:
        print(
            f"after warm-up: median of first tenth of samples "
            f"{statistics.median(first_tenth) / 1024:.1f} MiB, of last tenth "
            f"{statistics.median(last_tenth) / 1024:.1f} MiB; least-squares slope "
            f"{slope(mb):+.3f} MiB per 1,000 polls ({len(mb)} samples)"
        )


if __name__ == "__main__":
    main()
