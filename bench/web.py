"""`ticker serve` under load: request time of `/` and `/api/alerts` against a database of N
alerts, fan-out latency of one new alert to C live clients (server-sent events), and the
server's resident memory.

    .venv/bin/python -m bench.web [--alerts 1000000] [--clients 100] [--runs 30]
        [--database /tmp/web-1m.db]  # kept, so a second run skips the 2-minute build

The server runs as a subprocess on loopback; times are measured by this process around each
request (loopback adds well under a millisecond). Fan-out latency is from the moment the new
alert is committed to the moment each client has read its event; it includes the wait for
the live loop's next look at the database (every 0.5 s), so it spreads over 0 to 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from random import Random

import httpx

from bench.rig import p95
from bench.tail_startup import fill
from ticker.lines import Line
from ticker.store import Store

START_TIMEOUT = 60.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid` (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "ticker", "-q", "--config", str(config), "serve"]
    server = subprocess.Popen([*command, "--listen", f"127.0.0.1:{port}"])
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("ticker serve did not start")


def timed_gets(client: httpx.Client, path: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return samples


async def live_client(
    port: int, connected: asyncio.Event, counter: list[int], total: int, rounds: int
) -> list[float]:
    """One event-stream client on a raw socket: when each of `rounds` alert events came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    await writer.drain()
    buffered = b""
    while b"retry:" not in buffered:
        buffered += await reader.read(65536)
    counter[0] += 1
    if counter[0] == total:
        connected.set()
    arrivals: list[float] = []
    while len(arrivals) < rounds:
        chunk = await reader.read(65536)
        arrivals += [time.perf_counter()] * chunk.count(b"event: alert")
    writer.close()
    return arrivals


async def fan_out(
    port: int, clients: int, db: Path, rounds: int
) -> tuple[list[float], list[float]]:
    """For `rounds` new alerts, one at a time at random moments: the seconds from each
    commit to its arrival at each client, and per alert the spread from the first client
    to the last (the fan-out itself, without the wait for the loop's next look)."""
    connected, counter = asyncio.Event(), [0]
    tasks = [
        asyncio.create_task(live_client(port, connected, counter, clients, rounds))
        for _ in range(clients)
    ]
    await asyncio.wait_for(connected.wait(), START_TIMEOUT)
    store = Store.open(db)
    rng, committed = Random(16), []
    for number in range(rounds):
        await asyncio.sleep(0.6 + rng.random() * 0.5)  # the last one has arrived everywhere
        page = [Line.from_text(f"Breaking: line {number} for the fan-out at {time.time():.0f}")]
        store.record_poll("bench", "https://example.org/", page, time.time(), ["mail"])
        committed.append(time.perf_counter())  # record_poll returns once committed
    store.close()
    arrivals = await asyncio.wait_for(asyncio.gather(*tasks), START_TIMEOUT)
    latencies = [got[n] - committed[n] for got in arrivals for n in range(rounds)]
    spreads = [
        max(got[n] for got in arrivals) - min(got[n] for got in arrivals) for n in range(rounds)
    ]
    return latencies, spreads


def ms(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples) * 1000:.1f} ms, p95 {p95(samples) * 1000:.1f} ms, "
        f"max {max(samples) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=10, help="new alerts fanned out")
    parser.add_argument("--database", type=Path, help="kept and reused (built if missing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, config = args.database or Path(tmp) / "ticker.db", Path(tmp) / "config.toml"
        config.write_text(f'[ticker]\ndatabase = "{db}"\n', encoding="utf-8")
        started = time.perf_counter()
        if not db.exists():
            fill(db, args.alerts)
        built = time.perf_counter() - started
        print(f"alerts in the database: {args.alerts} (built in {built:.0f} s)")
        port = free_port()
        server = start_server(config, port)
        try:
            idle = rss_mib(server.pid)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                timed_gets(client, "/", 2)  # warm: the chart, SQLite's cache
                page = timed_gets(client, "/", args.runs)
                api = timed_gets(client, "/api/alerts?limit=100", args.runs)
                after = timed_gets(client, f"/api/alerts?after={args.alerts - 100}", args.runs)
                feed = timed_gets(client, "/feed.atom", args.runs)
            latencies, spreads = asyncio.run(fan_out(port, args.clients, db, args.rounds))
            loaded = rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"GET / (200 alerts, status, chart): {ms(page)}")
    print(f"GET /api/alerts?limit=100: {ms(api)}")
    print(f"GET /api/alerts?after=N-100: {ms(after)}")
    print(f"GET /feed.atom: {ms(feed)}")
    print(f"fan-out of one alert to {args.clients} live clients: {ms(latencies)}")
    print(f"  first to last client of one alert: {ms(spreads)} ({args.rounds} alerts)")
    print(f"ticker serve RSS: {idle:.1f} MiB idle, {loaded:.1f} MiB after the runs")


if __name__ == "__main__":
    main()
