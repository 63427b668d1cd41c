"""`ticker serve` and `ticker run` with [web] in_run as real processes on loopback: they
answer, stop cleanly on SIGTERM, and an address in use is one line, not a traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import database_for
from web_site import Site, web_config

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path, web: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n{web}', encoding="utf-8")
    return config


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ticker", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def answers(url: str, process: subprocess.Popen[str]) -> httpx.Response:
    """The first answer of `url` while `process` runs (bounded by START_TIMEOUT)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return httpx.get(url, timeout=5)
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url}: {process.stderr.read() if process.stderr else ''}")


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Path]:
    site = Site(web_config(tmp_path))
    site.fill()
    site.close()
    yield database_for(tmp_path)


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path, database: Path) -> None:
    port = free_port()
    server = start(write_config(tmp_path), "serve", "--listen", f"127.0.0.1:{port}")
    try:
        response = answers(f"http://127.0.0.1:{port}/api/alerts", server)
        assert response.status_code == 200 and len(response.json()["alerts"]) == 6
        rebound = httpx.get(f"http://127.0.0.1:{port}/", headers={"host": "rebound.example"})
        assert rebound.status_code == 421  # no token: loopback names only
    finally:
        assert stop(server) == 0


def test_run_serves_the_page_itself_with_web_in_run(tmp_path: Path, database: Path) -> None:
    port = free_port()
    web = f'[web]\nlisten = "127.0.0.1:{port}"\nin_run = true\n'
    daemon = start(write_config(tmp_path, web), "run")
    try:
        response = answers(f"http://127.0.0.1:{port}/", daemon)
        assert response.status_code == 200 and 'id="alerts"' in response.text
    finally:
        code = stop(daemon)
    assert code == 0, daemon.stderr.read() if daemon.stderr else ""


def test_an_address_in_use_is_one_line(tmp_path: Path, database: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = start(write_config(tmp_path), "serve", "--listen", f"127.0.0.1:{port}")
        _out, err = server.communicate(timeout=60)
    assert server.returncode == 1
    assert err.strip().splitlines() == [
        f"ticker: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_small_answers_are_not_held_for_the_clients_ack() -> None:
    """Nagle's algorithm on the server's socket held every small answer's body until the
    client's delayed ACK: 40 ms per request and per live event."""
    from ticker.web.serve import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    try:
        client = socket.create_connection(sock.getsockname(), timeout=5)
        accepted, _ = sock.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_sigterm_ends_live_streams_cleanly(tmp_path: Path, database: Path) -> None:
    """Live streams never end by themselves: the server ends them before it stops, so a
    reader sees the stream's end (not a connection cut after the shutdown grace)."""
    port = free_port()
    server = start(write_config(tmp_path), "serve", "--listen", f"127.0.0.1:{port}")
    try:
        answers(f"http://127.0.0.1:{port}/api/status", server)
        with httpx.stream("GET", f"http://127.0.0.1:{port}/events", timeout=30) as stream:
            chunks = stream.iter_bytes()
            assert next(chunks).startswith(b"retry:")
            server.send_signal(signal.SIGTERM)
            rest = b"".join(chunks)  # raises RemoteProtocolError if the stream was cut
        assert b"event:" not in rest
    finally:
        assert stop(server) == 0
