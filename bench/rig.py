"""Loopback pieces shared by the daemon benchmarks (bench.memory, bench.scale, bench.latency),
not a benchmark itself: a site serving many ~250 KB ticker pages with ETag/304 and a request
log, an SMTP sink (aiosmtpd) and an HTTP sink (for json:// and form://) that note when each
message arrives, `ticker run` as a subprocess with its /proc counters, and the machine line.

Everything listens on 127.0.0.1 only and is started and stopped by the benchmark.
"""

from __future__ import annotations

import asyncio
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
from contextlib import suppress
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
    # TCP_NODELAY, as real web servers set on kept-alive connections: without it, a body
    # written after its headers waits for the client's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True

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
    """An aiosmtpd server on loopback keeping (arrival time, raw message) of every e-mail.

    It can misbehave on demand: `delay` seconds before each answer to DATA (a slow server),
    `refusing` answers 451 to every message (a temporary refusal), and a message whose
    subject or text contains `refuse_marker` is answered 554 (refused for good). Refused
    messages are kept in `refusals` as (time, code, raw message)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrivals: list[tuple[float, bytes]] = []
        self.refusals: list[tuple[float, int, bytes]] = []
        self.delay = 0.0
        self.refusing = False
        self.refuse_marker: str | None = None
        self.lock = threading.Lock()
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
                if sink.delay:
                    await asyncio.sleep(sink.delay)
                raw = envelope.content  # type: ignore[attr-defined]
                return sink.answer(raw)

        self.controller = Controller(Handler(), hostname=LOOPBACK, port=self.port)

    def answer(self, raw: bytes) -> str:
        """Keep `raw` as an arrival or a refusal, and the SMTP answer to give."""
        now = time.time()
        code = 0
        if self.refusing:
            code = 451
        elif self.refuse_marker and self.refuse_marker in message_text(parse_mail(raw)):
            code = 554
        with self.lock:
            if code:
                self.refusals.append((now, code, raw))
            else:
                self.arrivals.append((now, raw))
        if code == 451:
            return "451 4.3.0 try again later"
        if code == 554:
            return "554 5.7.1 message refused by policy"
        return "250 OK"

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
        return [(at, parse_mail(raw)) for at, raw in arrivals]

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def parse_mail(raw: bytes) -> EmailMessage:
    """An e-mail as received, parsed (headers decoded)."""
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return str(part.get_content()) if part is not None else ""


def message_text(message: EmailMessage) -> str:
    """What a reader sees of an e-mail: its subject, a newline, its plain-text body."""
    return f"{message['Subject'] or ''}\n{plain_body(message)}"


class _Served:
    """A loopback HTTP server on a thread of its own, serving from `with` to its end."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = _Server((LOOPBACK, 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class HttpSink(_Served):
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

        self._serve(Handler)

    def url(self, scheme: str, path: str) -> str:
        """An Apprise URL (`json`, `form`, ...) posting to `/path` of this sink."""
        return f"{scheme}://{LOOPBACK}:{self.httpd.server_address[1]}/{path}"

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, p, _ in self.arrivals if p == f"/{path}")


# --- the daemon --------------------------------------------------------------------------


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)


def config_text(
    database: Path | str,  # a file, or a postgresql:// URL (bench.scale --replicas)
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


def daemon_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a ticker process under test gets: this one without DAEMON_UNSET,
    plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in DAEMON_UNSET}
    return {**env, **(extra or {})}


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
        env = daemon_env()
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


# --- faults (bench.chaos) ----------------------------------------------------------------

# Apprise pauses 5.5 s between two e-mails to one server; a daemon that must send hundreds
# runs with that pause lifted (nothing else changed), as in tests/test_crash.py.
NO_THROTTLE = (
    "import apprise.plugins.email\napprise.plugins.email.NotifyEmail.request_rate_per_sec = 0\n"
)


def no_throttle_hooks(directory: Path) -> dict[str, str]:
    """Write a sitecustomize.py lifting Apprise's e-mail pause into `directory`; the
    environment that makes a ticker process load it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(NO_THROTTLE, encoding="utf-8")
    return {"PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)])}


class LivePage(_Served):
    """A ticker page on loopback that lines are added to (`add`); it shows the newest
    `shown` of them, newest first, in the Al Mayadeen preset's markup, with no ETag (every
    poll reads the whole page)."""

    def __init__(self, shown: int = 150) -> None:
        self.lines: list[str] = []
        self.shown = shown
        self.lock = threading.Lock()
        page = self

        class Handler(_Quiet):
            def do_GET(self) -> None:  # noqa: N802
                with page.lock:
                    newest = list(reversed(page.lines[-page.shown :]))
                self.answer(200, {"Content-Type": "text/html; charset=utf-8"}, page_html(newest, 0))

        self._serve(Handler)
        self.url = f"http://{LOOPBACK}:{self.httpd.server_address[1]}/"

    def add(self, line: str) -> float:
        """Put `line` on top of the ticker; the time it appeared."""
        with self.lock:
            self.lines.append(line)
            return time.time()


def mount_tmpfs(mountpoint: Path, size_mb: int) -> str | None:
    """Mount a `size_mb` MB tmpfs on `mountpoint` (created); None if it is mounted, else
    why not (not root, mount refused in this container...)."""
    mountpoint.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(mountpoint)],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"mount failed: {exc}"
    if done.returncode != 0:
        return f"mount refused: {done.stderr.strip() or done.returncode}"
    return None


def unmount(mountpoint: Path) -> None:
    """Unmount `mountpoint` (lazily if something still holds it open)."""
    for args in (["umount", str(mountpoint)], ["umount", "-l", str(mountpoint)]):
        try:
            if subprocess.run(args, capture_output=True, timeout=10).returncode == 0:
                return
        except (OSError, subprocess.TimeoutExpired):
            continue


def fill_disk(directory: Path, stop: threading.Event) -> Path:
    """Write `directory`/ballast until the file system is full (ENOSPC), down to the last
    block; the ballast, for the caller to delete. Stops early when `stop` is set."""
    ballast = directory / "ballast"
    chunk = 1 << 20
    with ballast.open("wb", buffering=0) as out:
        while chunk >= 512 and not stop.is_set():
            try:
                out.write(b"\0" * chunk)
            except OSError:
                chunk //= 16  # ENOSPC: fill what is left with smaller writes
    return ballast


def hold_write_lock(database: Path, seconds: float, stop: threading.Event) -> float:
    """Hold SQLite's write lock on `database` (`BEGIN IMMEDIATE`, waiting up to 30 s for
    it) for `seconds`, or until `stop` is set; how long it was held (0: never taken)."""
    import sqlite3

    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error:
        conn.close()
        return 0.0
    taken = time.monotonic()
    try:
        stop.wait(seconds)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    return time.monotonic() - taken


LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


class FakeClock:
    """A wall clock that can be stepped for the ticker processes started with `env`:
    libfaketime preloaded, its offset read from a file at every call (FAKETIME_NO_CACHE),
    the monotonic clock left real. `step("-3600")`, `step("+25h")`, `step("+0")`."""

    def __init__(self, offset_file: Path, library: Path = LIBFAKETIME) -> None:
        self.offset_file, self.library = offset_file, library
        self.offset = "+0"
        self.step(self.offset)

    def missing(self) -> str | None:
        """Why the clock cannot be stepped here (None: it can)."""
        if not self.library.exists():
            return f"{self.library} not found (apt-get install faketime)"
        return None

    def env(self) -> dict[str, str]:
        """The variables that give a process this clock."""
        return {
            "LD_PRELOAD": str(self.library),
            "FAKETIME_TIMESTAMP_FILE": str(self.offset_file),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "DONT_FAKE_MONOTONIC": "1",  # the name older libfaketime releases read
            "NO_FAKE_STAT": "1",  # file times stay real
        }

    def step(self, offset: str) -> None:
        """Set the offset from the real clock ("+0", "-3600", "+25h"), atomically: a
        process never reads a half-written file."""
        self.offset = offset
        scratch = self.offset_file.with_suffix(".new")
        scratch.write_text(offset + "\n", encoding="ascii")
        scratch.replace(self.offset_file)

    @staticmethod
    def forget(since: float) -> None:
        """Remove the shared memory libfaketime leaves behind (for killed processes, and
        for children that the processes it was preloaded into started) since `since`,
        of processes that are gone: stale, and in the way of a new process of that pid."""
        for path in Path("/dev/shm").glob("*faketime_s*_*"):
            pid = path.name.rsplit("_", 1)[-1]
            with suppress(OSError, ValueError):
                if path.stat().st_mtime >= since and not Path("/proc", str(int(pid))).exists():
                    path.unlink()
