"""Loopback pieces shared by the daemon benchmarks (bench.memory, bench.scale, bench.latency),
not a benchmark itself: a site serving many ~250 KB ticker pages with ETag/304 and a request
log, an SMTP sink (aiosmtpd) and an HTTP sink (for json:// and form://) that note when each
message arrives, `ticker run` as a subprocess with its /proc counters, and the machine line.

Everything listens on 127.0.0.1 only and is started and stopped by the benchmark.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from random import Random
from typing import IO, Self

from bench.dedupe_index import synthetic_line

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
TICKER_LINES = 10  # lines on each page's ticker
FILLER = (
    "<div class='card'><h3><a href='/news/x'>Related headline about the region</a></h3>"
    "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8 + "</p></div>\n"
)


# --- reporting ---------------------------------------------------------------------------


def machine() -> str:
    """`nproc` cores, the CPU model and the Python version, for the figures' machine line."""
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    cores = len(os.sched_getaffinity(0))
    return f"{cores} cores ({model}), Python {platform.python_version()}"


def revision() -> str:
    """The commit of the tree ticker runs from, and whether ticker/ differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "ticker"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.split()[1::2]
    except OSError:
        return "unknown revision"
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def command_line() -> str:
    """How this benchmark was started, as `python -m bench.NAME ARGS`."""
    module = Path(sys.argv[0]).stem
    return " ".join(["python -m", f"bench.{module}", *sys.argv[1:]])


def p95(values: Sequence[float]) -> float:
    """The 95th percentile (the largest value of fewer than 20)."""
    if len(values) < 20:
        return max(values)
    return statistics.quantiles(values, n=20)[-1]


def spread(values: Sequence[float], unit: str = "s", scale: float = 1.0, digits: int = 2) -> str:
    """`median X, p95 Y, max Z` of `values` (times `scale`, in `unit`)."""
    if not values:
        return "no samples"
    med, high, top = statistics.median(values), p95(values), max(values)
    return (
        f"median {med * scale:.{digits}f} {unit}, p95 {high * scale:.{digits}f} {unit}, "
        f"max {top * scale:.{digits}f} {unit} (n={len(values)})"
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` every 50 ms; SystemExit naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


# --- pages -------------------------------------------------------------------------------


def line_text(page: int, number: int) -> str:
    """Line `number` of page `page`'s ticker: ticker-like, the same in every run."""
    return synthetic_line(Random(f"{page}/{number}"), number * 1000 + page)


def ticker_lines(page: int, version: int) -> list[str]:
    """The ticker of `page` at `version`, newest first: version v shows lines v, v-1, ...,
    so each new version adds one line on top and scrolls the oldest off."""
    return [line_text(page, n) for n in range(version, version - TICKER_LINES, -1)]


def page_html(lines: Sequence[str], size: int) -> bytes:
    """A page of about `size` bytes with `lines` in the Al Mayadeen preset's markup
    (`.breaking-news li`), padded with article-like cards."""
    items = "".join(
        f'<li><a href="/news/{zlib.crc32(text.encode())}">{html.escape(text)}</a></li>'
        for text in lines
    )
    head = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>bench</title></head><body>"
        f"<div class='breaking-news'><span>BREAKING</span><ul>{items}</ul></div><main>"
    )
    tail = "</main></body></html>"
    count = max(0, (size - len(head) - len(tail)) // len(FILLER) + 1)
    return (head + FILLER * count + tail).encode("utf-8")


VersionPolicy = Callable[[int, int, float], int]  # (page, requests so far, now) -> version


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops SYNs when 20 connections open at once
    daemon_threads = True
    errors = 0  # connections that ended in an exception (a client gave up: reset)

    def handle_error(self, request: object, client_address: object) -> None:
        self.errors += 1  # counted, not printed: a client timing out resets its connection


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Site:
    """Ticker pages at `/s/0` ... `/s/N-1`, spread over `servers` loopback ports (each port
    is one origin to ticker's HTTP client). Each page has a version (by `policy`, or set by
    hand with `set_version`); a 200 carries the ETag of its version, and a matching
    If-None-Match is answered 304. `log` keeps (time, page, status, version) per request."""

    def __init__(
        self,
        pages: int,
        *,
        servers: int = 1,
        page_bytes: int = 250_000,
        policy: VersionPolicy | None = None,
    ) -> None:
        self.pages, self.page_bytes, self.policy = pages, page_bytes, policy
        self.manual = [0] * pages
        self.requests = [0] * pages
        self.log: list[tuple[float, int, int, int]] = []
        self.connections = 0  # TCP connections accepted (fewer than requests: keep-alive)
        self.lock = threading.Lock()
        self._bodies: dict[int, tuple[int, bytes]] = {}  # page -> (version, body)
        site = self

        class Handler(_Quiet):
            def setup(self) -> None:
                super().setup()
                with site.lock:
                    site.connections += 1

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                status, headers, body = site.serve(self.path, self.headers.get("If-None-Match"))
                self.answer(status, headers, body)

        self.httpds = [_Server((LOOPBACK, 0), Handler) for _ in range(servers)]
        self.threads = [threading.Thread(target=h.serve_forever, daemon=True) for h in self.httpds]

    def url(self, page: int) -> str:
        """The address of page `page`."""
        port = self.httpds[page % len(self.httpds)].server_address[1]
        return f"http://{LOOPBACK}:{port}/s/{page}"

    def set_version(self, page: int, version: int) -> float:
        """Switch `page` to `version` now; returns the time of the switch."""
        with self.lock:
            self.manual[page] = version
            return time.time()

    def errors(self) -> int:
        """Connections that ended in an exception (reset by a client that gave up)."""
        return sum(httpd.errors for httpd in self.httpds)

    def total_requests(self) -> int:
        with self.lock:
            return sum(self.requests)

    def _body(self, page: int, version: int) -> bytes:
        cached = self._bodies.get(page)
        if cached is not None and cached[0] == version:
            return cached[1]
        body = page_html(ticker_lines(page, version), self.page_bytes)
        self._bodies[page] = (version, body)
        return body

    def serve(self, path: str, if_none_match: str | None) -> tuple[int, dict[str, str], bytes]:
        prefix, _, number = path.partition("/s/")
        if prefix or not number.isdigit() or int(number) >= self.pages:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        page = int(number)
        with self.lock:
            now = time.time()
            count = self.requests[page]
            self.requests[page] += 1
            version = self.policy(page, count, now) if self.policy else self.manual[page]
            etag = f'"p{page}-v{version}"'
            status = 304 if if_none_match == etag else 200
            self.log.append((now, page, status, version))
            body = self._body(page, version) if status == 200 else b""
        headers = {"ETag": etag}
        if status == 200:
            headers["Content-Type"] = "text/html; charset=utf-8"
        return status, headers, body

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for httpd in self.httpds:
            httpd.shutdown()
            httpd.server_close()


# --- sinks -------------------------------------------------------------------------------


class MailSink:
    """An aiosmtpd server on loopback keeping (arrival time, raw message) of every e-mail."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[tuple[float, bytes]] = []
        self.lock = threading.Lock()
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
                arrived = time.time()
                with sink.lock:
                    sink.arrivals.append((arrived, envelope.content))  # type: ignore[attr-defined]
                return "250 OK"

        self.controller = Controller(Handler(), hostname=LOOPBACK, port=self.port)

    @property
    def url(self) -> str:
        """The Apprise URL that delivers to this sink."""
        return f"mailto://{LOOPBACK}:{self.port}?from=ticker@example.com&to=reader@example.com"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def messages(self) -> list[tuple[float, EmailMessage]]:
        """(arrival time, parsed message) of every e-mail, in arrival order."""
        with self.lock:
            arrivals = list(self.arrivals)
        return [
            (at, email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[misc]
            for at, raw in arrivals
        ]

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


class HttpSink:
    """A loopback HTTP server answering every POST 200, keeping (arrival time, path, body):
    the receiving end of Apprise's json:// and form:// URLs."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, bytes]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(_Quiet):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with sink.lock:
                    sink.arrivals.append((time.time(), self.path, body))
                self.answer(200, {"Content-Type": "application/json"}, b"{}")

        self.httpd = _Server((LOOPBACK, 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, scheme: str, path: str) -> str:
        """An Apprise URL (`json`, `form`, ...) posting to `/path` of this sink."""
        return f"{scheme}://{LOOPBACK}:{self.httpd.server_address[1]}/{path}"

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, p, _ in self.arrivals if p == f"/{path}")

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the daemon --------------------------------------------------------------------------


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)


def config_text(
    database: Path,
    interval: float,
    sources: Sequence[tuple[str, str]],
    channels: Sequence[tuple[str, str, str]],
) -> str:
    """A config.toml: `sources` as (name, url) with the benchmark pages' selector,
    `channels` as (name, Apprise URL, extra TOML lines)."""
    parts = [f"[ticker]\ndatabase = {toml_string(str(database))}\ninterval = {interval}\n"]
    for name, url in sources:
        parts.append(
            f"[[source]]\nname = {toml_string(name)}\nurl = {toml_string(url)}\n"
            'selector = ".breaking-news li"\n'
        )
    for name, url, extra in channels:
        parts.append(f"[[channel]]\nname = {toml_string(name)}\nurls = [{toml_string(url)}]\n")
        if extra:
            parts.append(extra.rstrip() + "\n")
    return "\n".join(parts)


# What the daemon does not inherit from the shell that runs a benchmark: systemd's variables
# and the config path, and, as a systemd service does not see a login shell's variables,
# SSL_CERT_FILE/SSL_CERT_DIR (with SSL_CERT_FILE set, the whole CA bundle is loaded up
# front, ~1-2 MB; see ticker.trust).
DAEMON_UNSET = frozenset(
    {
        "STATE_DIRECTORY",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "TICKER_CONFIG",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    }
)


class TickerRun:
    """`python -m ticker --config WORKDIR/config.toml run` as a subprocess, its log in
    WORKDIR/ticker.log; its resident memory and CPU time read from /proc. `python` is this
    interpreter unless another is named; ticker itself always comes from this checkout."""

    def __init__(
        self, workdir: Path, config: str, keep_log: Path | None = None, python: str = ""
    ) -> None:
        self.keep_log = keep_log  # where to copy the log when the daemon stops
        self.python = python or sys.executable  # another environment's, to measure it
        self.config_path = workdir / "config.toml"
        self.config_path.write_text(config, encoding="utf-8")
        self.log_path = workdir / "ticker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def status_kb(self, field: str) -> int:
        """A `kB` field of /proc/PID/status (VmRSS, VmHWM, RssAnon...)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process, all its threads (/proc/PID/stat)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def check(self) -> None:
        """SystemExit with the end of the log if the daemon is gone."""
        if not self.alive():
            tail = "\n".join(self.log_text().splitlines()[-20:])
            raise SystemExit(f"ticker run exited early:\n{tail}")

    def __enter__(self) -> Self:
        env = {k: v for k, v in os.environ.items() if k not in DAEMON_UNSET}
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [self.python, "-m", "ticker", "--config", str(self.config_path), "run"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=env,
        )
        return self

    def stop(self) -> int:
        """SIGTERM, then wait (20 s at most, then SIGKILL); the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
            if self.keep_log is not None:
                self.keep_log.write_bytes(self.log_path.read_bytes())
        return int(self.process.returncode)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def log_counts(text: str) -> dict[str, int]:
    """Warnings, errors and APScheduler's skipped runs (a poll job still busy when its
    next run came) in a daemon log."""
    lines = text.splitlines()
    return {
        "warnings": sum(" WARNING " in line for line in lines),
        "errors": sum(" ERROR " in line for line in lines),
        "failed polls": sum(": poll failed: " in line or "still failing" in line for line in lines),
        "skipped runs": sum("maximum number of running instances" in line for line in lines),
    }


def log_examples(text: str, limit: int = 3) -> list[str]:
    """Up to `limit` distinct warning or error messages of a daemon log, times left out."""
    seen: dict[str, None] = {}
    for line in text.splitlines():
        if " WARNING " in line or " ERROR " in line:
            message = line.split(" ", 2)[-1].strip()
            seen.setdefault(message[:160], None)
    return list(seen)[:limit]


def print_log_summary(text: str) -> None:
    """The daemon log's counts and a few of its warnings, as every benchmark prints them."""
    print(f"daemon log: {log_counts(text)}")
    for example in log_examples(text):
        print(f"  e.g. {example}")
