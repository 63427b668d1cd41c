"""CPU time of one poll cycle (fetch from loopback, parse, diff, store) on a ~250 KB page
with a 10-line ticker. The page is served by a separate `python -m http.server` process, so
only ticker's own CPU time is counted (time.process_time of this process).

    .venv/bin/python -m bench.poll_cycle [--cycles 200] [--database URL | --postgres]

`--database postgresql://...` stores into that PostgreSQL database instead of a SQLite file
(its tables must be empty); `--postgres` starts a throwaway server for the run (tests/postgres.py,
the distribution's binaries). Only this process's CPU is counted: the server's is not.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ticker.config import Source, parse_config
from ticker.fetch import make_client
from ticker.poll import poll_source
from ticker.sources.html import parse
from ticker.store import Store

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "almayadeen_list.html"
TARGET_BYTES = 250_000
ARABIC = "\u0644\u0628\u0646\u0627\u0646 \u063a\u0632\u0629"  # "Lebanon Gaza"


def big_page() -> str:
    """The list fixture padded with article-like paragraphs to ~250 KB."""
    page = FIXTURE.read_text(encoding="utf-8")
    filler = (
        "<div class='card'><h3><a href='/news/x'>Related headline about the region</a></h3>"
        "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8 + "</p></div>\n"
    )
    count = (TARGET_BYTES - len(page)) // len(filler) + 1
    return page.replace("</main>", filler * count + "</main>")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("page server did not start")


async def measure(source: Source, db: Path | str, cycles: int, *, expect_304: bool) -> list[float]:
    """CPU seconds of each of `cycles` polls of `source` after a warm-up poll (the
    baseline), stored in `db` (a SQLite path or a PostgreSQL URL)."""
    config = parse_config({"ticker": {"database": str(db)}}, Path("bench"))
    store = Store.open(config.settings.database)
    samples = []
    async with make_client(config.settings) as client:
        await poll_source(config, source, client, store, time.time)
        for _ in range(cycles):
            started = time.process_time()
            outcome = await poll_source(config, source, client, store, time.time)
            samples.append(time.process_time() - started)
            assert outcome.error is None, outcome.error
            assert outcome.not_modified == expect_304
    store.close()
    return samples


def strip(url: str) -> Source:
    """The html source of the padded page at `url`."""
    return Source(name=url, url=url, options={"selector": ".breaking-news li"})


def summary(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples) * 1000:.2f} ms, "
        f"p90 {statistics.quantiles(samples, n=10)[-1] * 1000:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--database", help="a postgresql:// URL (default: a SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="start a throwaway server")
    args = parser.parse_args()
    server = None
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import postgres  # tests/postgres.py

        server = postgres.PostgresServer.start()
        from ticker.dburl import PostgresTarget

        args.database = str(PostgresTarget.from_conninfo(server.create_database()))
    try:
        run(args)
    finally:
        if server is not None:
            server.stop()


def run(args: argparse.Namespace) -> None:
    """The measurements, printed."""
    with tempfile.TemporaryDirectory() as tmp:
        page = big_page()
        (Path(tmp) / "index.html").write_text(page, encoding="utf-8")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.pageserver", str(port), str(Path(tmp) / "index.html")],
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            wait_for(port)
            base = f"http://127.0.0.1:{port}"
            db = args.database or str(Path(tmp) / "bench.db")
            full = asyncio.run(measure(strip(f"{base}/"), db, args.cycles, expect_304=False))
            cached = asyncio.run(measure(strip(f"{base}/etag"), db, args.cycles, expect_304=True))
        finally:
            server.terminate()
            server.wait()
    parse_ascii = parse_times(page, args.cycles)
    parse_arabic = parse_times(page.replace("Lorem ipsum", ARABIC), args.cycles)
    engine = "PostgreSQL" if args.database else "SQLite"
    print(
        f"page: {len(page.encode()) / 1000:.0f} KB, ticker: 10 lines, cycles: {args.cycles}, "
        f"database: {engine}"
    )
    print(f"poll cycle CPU, 200 reply: {summary(full)}")
    print(f"poll cycle CPU, 304 reply: {summary(cached)}")
    print(f"parse alone:               {summary(parse_ascii)}")
    print(f"parse alone, Arabic filler: {summary(parse_arabic)}")


def parse_times(page: str, runs: int) -> list[float]:
    """CPU seconds of `runs` parses of `page` (Arabic text makes Python store the page with
    two bytes per character, which changes the cost of every pass over it)."""
    source = Source(name="bench", url="https://english.almayadeen.net/")
    samples = []
    for _ in range(runs):
        started = time.process_time()
        assert len(parse(page, source)) == 10
        samples.append(time.process_time() - started)
    return samples


if __name__ == "__main__":
    main()
