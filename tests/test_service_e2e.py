"""`ticker run` as systemd runs it: sd_notify messages on a Unix datagram socket set as
NOTIFY_SOCKET by the test, SIGHUP reloads with a valid and an invalid config, and SIGTERM
in the middle of a delivery. Real servers on loopback; every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import database_for
from servers import PageServer, SmtpSink, ticker_page
from test_e2e import stop_daemon, tail_json, wait_until

pytestmark = pytest.mark.e2e


def config_text(tmp_path: Path, sources: dict[str, str], mail_url: str | None = None) -> str:
    text = f'[ticker]\ndatabase = "{database_for(tmp_path, "ticker.db")}"\ninterval = 1\n'
    for name, url in sources.items():
        text += f'[[source]]\nname = "{name}"\nurl = "{url}"\nselector = ".breaking-news li"\n'
    if mail_url:
        text += f'[[channel]]\nname = "mail"\nurls = ["{mail_url}"]\n'
    return text


def start(config: Path, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ, **env}
    environment.pop("STATE_DIRECTORY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ticker", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )


class NotifySocket:
    """The service manager's end of sd_notify: a datagram socket collecting messages."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def collect(self) -> list[str]:
        """Read what has arrived so far (waits at most 0.2 s)."""
        try:
            while True:
                self.messages.append(self.sock.recv(4096).decode())
        except TimeoutError:
            pass
        return self.messages

    def fields(self) -> list[str]:
        return [field for message in self.collect() for field in message.split("\n")]

    def close(self) -> None:
        self.sock.close()


def test_sd_notify_ready_status_watchdog_and_stopping(tmp_path: Path) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    with PageServer([ticker_page(["Hamas: a line"])]) as site:
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"site": site.url}), encoding="utf-8")
        daemon = start(config, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="1000000")
        try:
            wait_until(lambda: notify.fields().count("WATCHDOG=1") >= 3, daemon)
            fields = notify.fields()
            assert "READY=1" in fields
            statuses = [f for f in fields if f.startswith("STATUS=")]
            assert statuses and "sources OK" in statuses[-1] and "pending" in statuses[-1]
        finally:
            output = stop_daemon(daemon)
        assert "STOPPING=1" in notify.fields(), output
        assert "systemd watchdog: pinging every 0.5 s" in output
    notify.close()


def test_outside_systemd_there_is_no_notify_traffic(tmp_path: Path) -> None:
    with PageServer([ticker_page(["Hamas: a line"])]) as site:
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"site": site.url}), encoding="utf-8")
        daemon = start(config, NOTIFY_SOCKET="")
        wait_until(lambda: site.requests >= 2, daemon)
        output = stop_daemon(daemon)
    assert "watchdog" not in output and "Traceback" not in output


def test_sighup_reload_keeps_a_good_config_and_takes_a_new_one(tmp_path: Path) -> None:
    first = [ticker_page(["Hamas: old line"])]
    second_pages = [ticker_page(["Israeli media: old"])] * 3 + [
        ticker_page(["Israeli media: a new story after the reload", "Israeli media: old"])
    ]
    with (
        PageServer(first) as site_a,
        PageServer(second_pages) as site_b,
        SmtpSink() as smtp,
    ):
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"a": site_a.url}, smtp.url), encoding="utf-8")
        daemon = start(config)
        try:
            wait_until(lambda: site_a.requests >= 2, daemon)
            # An invalid config: the daemon says why and goes on with the old one.
            config.write_text("[ticker\ninterval = 1\n", encoding="utf-8")
            daemon.send_signal(signal.SIGHUP)
            requests = site_a.requests
            wait_until(lambda: site_a.requests >= requests + 2, daemon)
            assert site_b.requests == 0
            # A valid one with a second source: it is polled and its new line delivered.
            config.write_text(
                config_text(tmp_path, {"a": site_a.url, "b": site_b.url}, smtp.url),
                encoding="utf-8",
            )
            daemon.send_signal(signal.SIGHUP)
            wait_until(lambda: len(smtp.messages) >= 1, daemon)
        finally:
            output = stop_daemon(daemon)
    assert "reload failed, still running on the previous config" in output
    assert "invalid TOML" in output
    assert "config reloaded: 2 source(s), 1 channel(s)" in output
    assert [str(m["Subject"]) for m in smtp.messages] == [
        "b: Israeli media: a new story after the reload"
    ]


def test_a_reload_retries_pending_deliveries_at_once(tmp_path: Path) -> None:
    pages = [ticker_page(["Hamas: old"]), ticker_page(["Hamas: new line", "Hamas: old"])]
    with PageServer(pages) as site, SmtpSink() as smtp:
        smtp.refusing = True
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"a": site.url}, smtp.url), encoding="utf-8")
        daemon = start(config)
        try:
            wait_until(lambda: smtp.refused >= 1, daemon)
            smtp.refusing = False  # the user fixed the channel, then reloads
            daemon.send_signal(signal.SIGHUP)
            wait_until(lambda: len(smtp.messages) == 1, daemon)
        finally:
            stop_daemon(daemon)
    assert [a["deliveries"] for a in tail_json(config)] == [{"mail": "sent"}]


def test_sigterm_during_a_delivery_loses_nothing(tmp_path: Path) -> None:
    pages = [ticker_page(["Hamas: old"]), ticker_page(["Hamas: new line", "Hamas: old"])]
    with PageServer(pages) as site, SmtpSink() as smtp:
        smtp.delay = 3.0  # a slow server: the delivery is in flight when SIGTERM comes
        config = tmp_path / "config.toml"
        config.write_text(config_text(tmp_path, {"a": site.url}, smtp.url), encoding="utf-8")
        daemon = start(config)
        wait_until(smtp.receiving.is_set, daemon)
        started = time.monotonic()
        output = stop_daemon(daemon)  # SIGTERM, expects exit status 0
        stopped_after = time.monotonic() - started
    assert len(smtp.messages) == 1, output
    assert [a["deliveries"] for a in tail_json(config)] == [{"mail": "sent"}]
    assert "waiting up to 10 s" in output
    assert stopped_after < 15
