"""Delivery latency of `ticker run`: from the moment a new line appears on a loopback page
(the page server switches to the new version at a recorded time) to the moment a local
aiosmtpd server receives the e-mail, with the source polled every second (the minimum).

Spaced lines: each new line comes at least `--gap` seconds after the previous one (plus a
random 0-1 s, so it falls anywhere in the poll cycle) and 5.6 s after the previous e-mail
arrived, so Apprise's wait between two e-mails to one server (5.5 s,
NotifyBase.request_rate_per_sec) never applies. Each latency is split into detection (the
switch to the first poll that got the new page) and delivery (that poll to the e-mail).

Then a burst: `--burst` lines `--burst-gap` seconds apart, faster than Apprise lets e-mails
out, to show what that wait adds.

    .venv/bin/python -m bench.latency [--lines 40] [--gap 7] [--burst 6] [--burst-gap 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.rig import (
    MailSink,
    Site,
    TickerRun,
    command_line,
    config_text,
    line_text,
    machine,
    plain_body,
    print_log_summary,
    revision,
    spread,
    wait_until,
)

THROTTLE = 5.5  # seconds: Apprise's NotifyBase.request_rate_per_sec, e-mail's default


def arrival_of(mail: MailSink, text: str, after: float) -> float | None:
    """When the first e-mail received after `after` whose body carries `text` arrived."""
    body = text.split(": ", 1)[-1]
    for at, message in mail.messages():
        if at >= after and body in plain_body(message):
            return at
    return None


def first_poll_of(site: Site, version: int) -> float | None:
    """When the page was first served at `version` (a 200 reply)."""
    with site.lock:
        return next((at for at, _, code, v in site.log if v == version and code == 200), None)


def poll_gaps(site: Site, since: float, until: float) -> list[float]:
    with site.lock:
        times = [at for at, *_ in site.log if since <= at <= until]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=40, help="spaced new lines")
    parser.add_argument("--gap", type=float, default=7.0, help="seconds between spaced lines")
    parser.add_argument("--burst", type=int, default=6, help="lines in the burst (0: none)")
    parser.add_argument("--burst-gap", type=float, default=2.0, help="seconds between them")
    parser.add_argument("--log", type=Path, help="keep the daemon's log here")
    args = parser.parse_args()
    rng = random.Random(1)
    spaced: list[tuple[float, float, float]] = []  # (switch, first poll, arrival)
    burst: list[tuple[float, float | None, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        site = Site(1)
        with site, MailSink() as mail:
            config = config_text(
                Path(tmp) / "ticker.db", 1, [("s0", site.url(0))], [("mail", mail.url, "")]
            )
            with TickerRun(Path(tmp), config, args.log) as daemon:
                wait_until(lambda: site.total_requests() >= 3, 60, "the first polls")
                version, last_arrival, last_switch = 0, 0.0, time.time()
                for _ in range(args.lines):
                    daemon.check()
                    due = max(last_switch + args.gap, last_arrival + THROTTLE + 0.1)
                    time.sleep(max(0.0, due - time.time()) + rng.uniform(0, 1))
                    version += 1
                    switch = site.set_version(0, version)
                    text = line_text(0, version)
                    wait_until(lambda: mail.count() > len(spaced), 60, f"the e-mail of {text!r}")
                    arrived = arrival_of(mail, text, switch)
                    polled = first_poll_of(site, version)
                    if arrived is None or polled is None:
                        raise SystemExit(f"no e-mail or poll matched {text!r}")
                    spaced.append((switch, polled, arrived))
                    last_arrival, last_switch = arrived, switch
                time.sleep(THROTTLE + 1)  # the burst starts with Apprise's wait expired
                burst_start = time.time()
                for n in range(args.burst):
                    if n:
                        time.sleep(args.burst_gap)
                    version += 1
                    burst.append((site.set_version(0, version), None, None))
                texts = [line_text(0, v) for v in range(version - args.burst + 1, version + 1)]
                deadline = time.monotonic() + args.burst * (THROTTLE + 2) + 60
                while time.monotonic() < deadline:
                    found = [arrival_of(mail, t, burst_start) for t in texts]
                    if all(found):
                        break
                    time.sleep(0.2)
                burst_end = time.time()
                burst = [
                    (switch, first_poll_of(site, version - args.burst + 1 + n), found[n])
                    for n, (switch, _, _) in enumerate(burst)
                ]
                gaps = poll_gaps(site, burst_start, burst_end)
                baseline_gaps = poll_gaps(site, spaced[0][0], spaced[-1][2])
                status = daemon.stop()
                text = daemon.log_text()
            emails = mail.count()
    total = [arrived - switch for switch, _, arrived in spaced]
    detect = [polled - switch for switch, polled, _ in spaced]
    deliver = [arrived - polled for _, polled, arrived in spaced]
    print(f"machine: {machine()}; ticker at {revision()}")
    print(f"command: {command_line()}")
    print(f"1 source polled every 1 s (250 KB page), 1 e-mail channel; ticker exited {status}")
    print(f"spaced lines ({len(spaced)}, >= {args.gap:g} s apart):")
    print(f"  new line on the page -> e-mail received: {spread(total, 'ms', 1000, 0)}")
    print(f"  detection (line -> first poll that got it): {spread(detect, 'ms', 1000, 0)}")
    print(f"  delivery (that poll -> e-mail received): {spread(deliver, 'ms', 1000, 0)}")
    print(f"  interval between polls meanwhile: {spread(baseline_gaps, 'ms', 1000, 0)}")
    if burst:
        base = statistics.median(total)
        print(f"burst ({args.burst} lines {args.burst_gap:g} s apart), per line:")
        for n, (switch, polled, arrived) in enumerate(burst):
            seen = f"polled after {polled - switch:.2f} s" if polled else "never polled alone"
            if arrived is None:
                print(f"  line {n + 1}: {seen}; no e-mail within the deadline")
                continue
            latency = arrived - switch
            print(
                f"  line {n + 1}: {seen}, e-mail after {latency:.2f} s "
                f"(+{latency - base:.2f} s over the spaced median)"
            )
        print(f"  interval between polls during the burst: {spread(gaps, 'ms', 1000, 0)}")
    print(f"e-mails received: {emails}")
    print_log_summary(text)


if __name__ == "__main__":
    main()
