"""Per-source leases on PostgreSQL (ticker.leases): what `acquire` and `renew` cost with
3,000 sources and 3 replicas, each on its own connection, against a real server that the
benchmark starts itself (tests/postgres.py: the distribution's PostgreSQL, a temporary
directory, a unix socket) and stops.

Reported: the server's start (initdb to first connection), a fresh database from the
template, the first acquire (adds every source's row), rounds until the spread is even, then
per call: acquire in the steady state (heartbeat, renew, nothing to take), renew, and the
acquire by which two survivors take a dead replica's 1,000 sources. Time is the benchmark's
own clock for the leases (no sleeping); wall time per call is measured.

    .venv/bin/python -m bench.leases [--sources 3000] [--replicas 3] [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.rig import machine, revision
from tests.postgres import PostgresServer, ServerUnavailable, unavailable

T0 = 1_764_000_000.0
TTL = 30.0


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call, and what it returned."""
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p90 {p90 * 1000:.2f} ms"


def run(server: PostgresServer, sources_count: int, replica_count: int, rounds: int) -> None:
    from ticker import leases

    seconds, conninfo = timed(server.create_database)
    print(f"fresh database from the template: {seconds * 1000:.1f} ms")
    conns = [leases.connect(conninfo, f"bench-{n}") for n in range(replica_count)]
    leases.migrate(conns[0])
    sources = [f"source-{i:05d}" for i in range(sources_count)]
    replicas = [leases.Replica(f"r{n}", "bench", n, T0) for n in range(replica_count)]
    pairs = list(zip(replicas, conns, strict=True))
    now = T0

    seconds, held = timed(lambda: leases.acquire(conns[0], replicas[0], sources, TTL, now=now))
    print(f"first acquire, {sources_count} rows added: {seconds * 1000:.1f} ms ({len(held)} held)")
    spread_rounds, counts = 0, [len(held)]
    while spread_rounds < 10:  # bounded: converges in two rounds
        spread_rounds += 1
        now += 1
        counts = [len(leases.acquire(c, me, sources, TTL, now=now)) for me, c in pairs]
        if max(counts) <= leases.fair_share(sources_count, replica_count) and sum(counts) == len(
            sources
        ):
            break
    print(f"even spread after {spread_rounds} rounds of acquire: {counts}")

    acquire_times, renew_times = [], []
    for _ in range(rounds):
        now += 1
        for me, conn in pairs:
            acquire_times.append(timed(lambda: leases.acquire(conn, me, sources, TTL, now=now))[0])  # noqa: B023
            renew_times.append(timed(lambda: leases.renew(conn, me, TTL, now=now))[0])  # noqa: B023
    print(
        f"acquire, steady state ({sources_count} sources, {replica_count} replicas): "
        f"{summary(acquire_times)}"
    )
    print(f"renew ({sources_count // replica_count} leases held): {summary(renew_times)}")

    if replica_count > 1:
        # Replica 0 stops; the others renew just before its leases run out, then take them.
        now += TTL - 1
        for me, conn in pairs[1:]:
            leases.renew(conn, me, TTL, now=now)
        now += 2
        takes = [timed(lambda: leases.acquire(c, me, sources, TTL, now=now)) for me, c in pairs[1:]]  # noqa: B023
        print(
            f"takeover of a dead replica's sources: {summary([s for s, _ in takes])},"
            f" now holding {[len(held) for _, held in takes]}"
        )
    for conn in conns:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=3000)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    print(f"{machine()}, {revision()}")
    reason = unavailable()
    if reason:
        print(f"PostgreSQL unavailable: {reason}")
        return
    try:
        server = PostgresServer.start()
    except ServerUnavailable as exc:
        print(f"PostgreSQL unavailable: {exc}")
        return
    try:
        print(f"server start (initdb, postgres, first connection): {server.started_in:.2f} s")
        run(server, args.sources, args.replicas, args.rounds)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
