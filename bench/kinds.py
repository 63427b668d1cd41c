"""CPU time of one poll cycle (fetch from loopback, parse, diff, store) for each source
kind, on documents of a realistic size: the ~250 KB html page of bench.poll_cycle, an RSS
feed and a JSON API answer of 50 items with article text, a JSON Feed of 50 items with
HTML content, a Telegram channel preview of 20 posts. Each is served by its own
`bench.pageserver` process, so only ticker's CPU time is counted.

    .venv/bin/python -m bench.kinds [--cycles 200]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import documents
from bench.poll_cycle import big_page, free_port, measure, summary, wait_for
from ticker.config import Source
from ticker.sources import kind_for

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_795_000_000.0
ITEMS = 50
POSTS = 20
ARTICLE = "The ministry said in a statement that rescue teams were still at work. " * 6


@dataclass(frozen=True)
class Case:
    """One kind's document, how it is served, and the source that reads it."""

    name: str
    kind: str
    content_type: str
    document: str
    options: dict[str, Any]
    lines: int


def line(number: int) -> str:
    return f"Source {number % 7}: Event number {number} reported in the south of the region"


def cases() -> list[Case]:
    """The documents measured, one per kind (two for json)."""
    newest = [(n, line(n), T0 - 60 * (ITEMS - n)) for n in range(ITEMS, 0, -1)]
    feed = [(f"guid-{n}", text, when) for n, text, when in newest]
    posts = [(n, line(n), T0 - 60 * (POSTS - n), False) for n in range(1, POSTS + 1)]
    return [
        Case("html", "html", documents.HTML_TYPE, big_page(), {"selector": ".breaking-news li"},
             10),
        Case("rss", "rss", documents.RSS_TYPE, documents.rss(feed, ARTICLE), {}, ITEMS),
        Case("json", "json", documents.JSON_TYPE, documents.api(newest, ARTICLE),
             dict(documents.API_KEYS), ITEMS),
        Case("json feed", "json", documents.JSON_FEED_TYPE, documents.json_feed(feed, ARTICLE),
             {}, ITEMS),
        Case("telegram", "telegram", documents.HTML_TYPE, documents.telegram("bench", posts), {},
             POSTS),
    ]  # fmt: skip


def source(case: Case, url: str) -> Source:
    return Source(name=case.name, url=url, kind=case.kind, options=case.options)


def parse_times(case: Case, runs: int) -> list[float]:
    """CPU seconds of `runs` parses of the case's document alone."""
    parse: Callable[..., list[Any]] = kind_for(case.kind).parse
    reader = source(case, "https://example.org/s/bench")
    samples = []
    for _ in range(runs):
        started = time.process_time()
        found = parse(case.document, reader)
        samples.append(time.process_time() - started)
        assert len(found) == case.lines, (case.name, len(found))
    return samples


def run_case(case: Case, cycles: int, tmp: Path) -> tuple[list[float], list[float]]:
    """Poll-cycle CPU samples of the case served fresh (200) and unchanged (304)."""
    path = tmp / f"{case.name.replace(' ', '-')}.doc"
    path.write_text(case.document, encoding="utf-8")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.pageserver", str(port), str(path), case.content_type],
        cwd=ROOT,
    )
    try:
        wait_for(port)
        # The path ends like a Telegram preview's (/s/NAME) and the pageserver serves any.
        fresh = source(case, f"http://127.0.0.1:{port}/s/bench")
        cached = source(case, f"http://127.0.0.1:{port}/etag")
        db = tmp / f"{path.stem}.db"
        full = asyncio.run(measure(fresh, db, cycles, expect_304=False))
        not_modified = asyncio.run(measure(cached, db, cycles, expect_304=True))
    finally:
        server.terminate()
        server.wait()
    return full, not_modified


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    print(f"cycles: {args.cycles}; CPU ms per poll (median, p90)")
    print(f"{'kind':<10} {'KB':>5} {'lines':>5}  {'200 reply':<28} {'304 reply':<28} parse alone")
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases():
            full, cached = run_case(case, args.cycles, Path(tmp))
            parsed = parse_times(case, args.cycles)
            size = len(case.document.encode()) / 1000
            print(
                f"{case.name:<10} {size:5.0f} {case.lines:5}  {summary(full):<28} "
                f"{summary(cached):<28} {summary(parsed)}"
            )


if __name__ == "__main__":
    main()
