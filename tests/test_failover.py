"""Replicas end to end (issue 17): three `ticker run` processes with one config on a real
PostgreSQL (tests/postgres.py), six loopback pages that gain a line every second, two e-mail
channels to aiosmtpd. The failover test SIGKILLs one replica in the middle of a burst and
SIGSTOPs another for longer than its lease; the partition test cuts one replica off the
database, then lets it back. Every line must arrive once on each channel; a duplicate is
allowed only inside the documented crash window (a message the SMTP server accepted before
its sender could mark it sent), and each one is accounted for: who sent each copy (the
sink maps the SMTP client's socket to its process) and when.

Each replica reaches the database through its own loopback relay (servers.DbProxy), so one
replica can be cut off while the others go on; the replicas' configs differ only in that
relay's port. Every wait is bounded; every process is ended in `finally`. Run with `-s` for
the figures (takeover times, duplicates and why).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from servers import DbProxy, SmtpSink, WireSite

pytestmark = pytest.mark.e2e
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the test extra)")

LEASE = 3  # seconds: [ticker] lease_seconds; the others take a dead replica's share after it
PAGES = 6  # sources: two per replica
CHANNELS = ("desk", "wire")
DEADLINE = 60.0  # seconds: the bound of every wait for something that must happen
HOLD = 2.0  # seconds the SMTP sink holds its answer to QUIT: the crash window, widened
WIRE = re.compile(r"Wire (\d+):")


# --- the replicas --------------------------------------------------------------------------


def config_text(database: str, site: WireSite, smtp: SmtpSink, channels: Sequence[str]) -> str:
    """The replicas' config: `database` (a postgresql:// URL), the site's pages as sources
    polled every second, one e-mail channel per name (to NAME@example.com), unthrottled."""
    text = (
        f'[ticker]\ndatabase = "{database}"\ninterval = 1\nlease_seconds = {LEASE}\n'
        'user_agent = "ticker-failover-test"\n'
    )
    for page in range(PAGES):
        text += (
            f'\n[[source]]\nname = "wire-{page}"\nurl = "{site.url(page)}"\n'
            'selector = ".breaking-news li"\njitter = 0\n'
        )
    for name in channels:
        url = f"mailto://127.0.0.1:{smtp.port}?from=ticker@example.com&to={name}@example.com"
        text += f'\n[[channel]]\nname = "{name}"\nurls = ["{url}"]\nmax_per_minute = 0\n'
    return text


@dataclass
class Replica:
    """One `ticker run` subprocess, its log in its own directory, its database relay."""

    number: int
    workdir: Path
    proxy: DbProxy
    process: subprocess.Popen[bytes] | None = None
    paused: bool = False
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.workdir / "config.toml"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in UNSET}
        self._log = (self.workdir / "ticker.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ticker", "--config", str(self.config), "run"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, number: int) -> float:
        """Send signal `number`; the time it was sent."""
        assert self.process is not None
        self.process.send_signal(number)
        self.paused = {signal.SIGSTOP: True, signal.SIGCONT: False}.get(number, self.paused)
        return time.time()

    def stop(self) -> int:
        """SIGTERM and wait (20 s at most: then SIGKILL and fail); the exit status."""
        assert self.process is not None
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.end()
            pytest.fail(f"replica {self.number} did not stop on SIGTERM:\n{self.log()}")

    def end(self) -> None:
        """Whatever state it is in, gone (the `finally` of every test)."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return (self.workdir / "ticker.log").read_text(encoding="utf-8", errors="replace")


UNSET = {"STATE_DIRECTORY", "NOTIFY_SOCKET", "WATCHDOG_USEC", "TICKER_CONFIG"}


@dataclass
class Cluster:
    """The replicas, the site, the sink and a view of the leases, for one test."""

    replicas: list[Replica]
    site: WireSite
    smtp: SmtpSink
    conninfo: str  # the test's own way to the database (not through a relay)

    def by_pid(self, pid: int | None) -> Replica | None:
        return next((r for r in self.replicas if r.pid == pid), None)

    def holders(self) -> dict[str, int]:
        """Lease (source or `channel:NAME`) -> pid of the live replica holding it, from the
        database (ticker.leases); empty while the tables do not exist yet."""
        from ticker import leases

        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                names = {r.name: r.pid for r in leases.replicas(conn) if r.live}
                held = leases.holders(conn)
        except psycopg.errors.UndefinedTable:
            return {}
        return {lease: names[owner] for lease, owner in held.items() if owner in names}

    def wait(self, condition: Callable[[], bool], what: str, seconds: float = DEADLINE) -> None:
        """Until `condition`; fails (with the logs) after `seconds`, or if a replica that
        should run has exited."""
        deadline = time.monotonic() + seconds
        while not condition():
            for replica in self.replicas:
                status = replica.process.poll() if replica.process is not None else None
                if status is not None and status != -signal.SIGKILL:  # the test's own kill
                    pytest.fail(f"replica {replica.number} exited:\n{replica.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.logs()}")
            time.sleep(0.05)  # polling a condition, not timing an assertion

    def logs(self) -> str:
        return "\n".join(f"--- replica {r.number} (pid {r.pid})\n{r.log()}" for r in self.replicas)

    def arrivals(self) -> dict[tuple[str, int], list[tuple[float, int | None]]]:
        """(channel, line number) -> every copy received: (time, pid of the sender)."""
        copies: dict[tuple[str, int], list[tuple[float, int | None]]] = defaultdict(list)
        for (at, pid), message in zip(
            list(self.smtp.arrivals), list(self.smtp.messages), strict=False
        ):
            channel = str(message["To"]).split("@")[0]
            part = message.get_body(preferencelist=("plain", "html"))
            text = f"{message['Subject']}\n{part.get_content() if part else ''}"
            for number in sorted({int(n) for n in WIRE.findall(text)}):
                copies[(channel, number)].append((at, pid))
        return copies

    def delivered(self, channels: Sequence[str]) -> bool:
        """Every line produced so far has arrived on every channel."""
        copies = self.arrivals()
        return all(
            (channel, number) in copies
            for number in range(len(self.site.produced()))
            for channel in channels
        )

    def first_poll_after(self, pages: Sequence[int], since: float, not_by: int) -> float | None:
        """When the last of `pages` was first polled after `since` by another replica than
        `not_by` (None: one was not)."""
        firsts = []
        for page in pages:
            times = [at for at, _, pid in self.site.requests(page, since) if pid != not_by]
            if not times:
                return None
            firsts.append(min(times))
        return max(firsts)


@contextmanager
def cluster(
    tmp_path: Path, postgres_server: Any, postgres_db: str, channels: Sequence[str], count: int = 3
) -> Iterator[Cluster]:
    """`count` replicas started on one database, each through its own relay; everything
    stopped (killed if need be) on the way out."""
    dbname = postgres_db.rpartition("dbname=")[2]
    socket_path = f"{postgres_server.root}/.s.PGSQL.{postgres_server.port}"
    with ExitStack() as stack:
        site = stack.enter_context(WireSite(PAGES))
        smtp = stack.enter_context(SmtpSink())
        replicas = []
        for number in range(count):
            proxy = stack.enter_context(DbProxy(socket_path))
            workdir = tmp_path / f"replica{number}"
            workdir.mkdir()
            url = f"postgresql://postgres@127.0.0.1:{proxy.port}/{dbname}"
            (workdir / "config.toml").write_text(
                config_text(url, site, smtp, channels), encoding="utf-8"
            )
            replicas.append(Replica(number, workdir, proxy))
        try:
            for replica in replicas:
                replica.start()
            pids = [replica.pid for replica in replicas]
            site.clients = pids
            smtp.senders = pids
            yield Cluster(replicas, site, smtp, postgres_db)
        finally:
            for replica in replicas:
                replica.end()


def settle(c: Cluster, channels: Sequence[str]) -> None:
    """Wait until the leases are spread (two sources each, the channels on distinct
    replicas) and every page has its baseline."""

    def spread() -> bool:
        held = c.holders()
        sources = [pid for lease, pid in held.items() if not lease.startswith("channel:")]
        holders = [held.get(f"channel:{name}") for name in channels]
        counts = [sources.count(r.pid) for r in c.replicas]
        polled = all(len(c.site.requests(page)) >= 3 for page in range(PAGES))
        share = PAGES // len(c.replicas)
        return (
            counts == [share] * len(c.replicas)
            and None not in holders
            and len(set(holders)) == len(holders)
            and polled
        )

    c.wait(spread, "the leases to spread over the replicas and every page's baseline")


def pages_of(c: Cluster, pid: int) -> list[int]:
    """The pages whose sources replica `pid` holds now."""
    return sorted(
        int(lease.split("-")[1])
        for lease, holder in c.holders().items()
        if holder == pid and lease.startswith("wire-")
    )


def ticker_json(config: Path, *command: str) -> Any:
    """`ticker COMMAND --json` through one replica's config: its records (one per line for
    tail, one object for status)."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    result = subprocess.run(
        [sys.executable, "-m", "ticker", "--config", str(config), *command, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if command[0] == "tail":
        return [json.loads(line) for line in result.stdout.splitlines()]
    return json.loads(result.stdout)


@dataclass(frozen=True)
class Event:
    """A replica taken out at `at` (killed, stopped or cut off): a copy it sent before
    `at` that another replica sent again after it is the crash window's duplicate."""

    what: str
    pid: int
    at: float


def account(
    copies: dict[tuple[str, int], list[tuple[float, int | None]]], events: Sequence[Event]
) -> tuple[list[str], list[str]]:
    """Explain every duplicate by an event: (explained, unexplained), one line each."""
    explained, unexplained = [], []
    for (channel, number), sent in sorted(copies.items()):
        if len(sent) < 2:
            continue
        sent = sorted(sent)
        first_at, first_by = sent[0]
        event = next(
            (
                e
                for e in events
                if first_by == e.pid
                and first_at <= e.at
                and all(by != e.pid and at > e.at for at, by in sent[1:])
            ),
            None,
        )
        line = (
            f"{channel} / Wire {number}: {len(sent)} copies, first by pid {first_by} at "
            f"{first_at:.2f}, then by {[by for _, by in sent[1:]]} at "
            f"{[round(at, 2) for at, _ in sent[1:]]}"
        )
        if event is not None and len(sent) == 2:
            explained.append(
                f"{line}: accepted {event.at - first_at:.2f} s before {event.what} of pid "
                f"{event.pid}, which could not mark it sent; sent again by the new holder"
            )
        else:
            unexplained.append(line)
    return explained, unexplained


def check_exactly_once(
    c: Cluster, channels: Sequence[str], events: Sequence[Event]
) -> tuple[list[str], dict[tuple[str, int], list[tuple[float, int | None]]]]:
    """Every line arrived on every channel; duplicates only those `events` explain (at
    most one per event and channel); the accounted duplicates."""
    copies = c.arrivals()
    produced = c.site.produced()
    missing = [
        (channel, number)
        for number in range(len(produced))
        for channel in channels
        if (channel, number) not in copies
    ]
    assert not missing, f"lost lines: {missing}\n{c.logs()}"
    explained, unexplained = account(copies, events)
    assert not unexplained, "duplicates outside the crash window:\n" + "\n".join(unexplained)
    assert len(explained) <= len(events) * len(channels), explained
    return explained, copies


# --- the tests -------------------------------------------------------------------------------


def test_failover_kill_and_stop_lose_nothing_and_send_once(
    tmp_path: Path, postgres_server: Any, postgres_db: str
) -> None:
    with cluster(tmp_path, postgres_server, postgres_db, CHANNELS) as c:
        settle(c, CHANNELS)
        site, smtp = c.site, c.smtp
        site.produce(every=1.0)
        c.wait(lambda: len(site.produced()) >= 4 and c.delivered(CHANNELS), "the first lines")

        # SIGKILL the holder of `desk` while the sink holds its QUIT in a burst: the message
        # is accepted, and its sender dies before it can mark it sent.
        held = c.holders()
        killed = c.by_pid(held["channel:desk"])
        stopped = c.by_pid(held["channel:wire"])
        assert killed is not None and stopped is not None and killed is not stopped
        survivor = next(r for r in c.replicas if r not in (killed, stopped))
        killed_pages = pages_of(c, killed.pid)
        smtp.quit_delay = HOLD
        burst_at = time.time()
        site.burst()
        c.wait(
            lambda: any(at >= burst_at and pid == killed.pid for at, pid in smtp.quits),
            "the burst's first e-mail from the replica to kill",
        )
        kill_at = killed.signal(signal.SIGKILL)
        smtp.quit_delay = 0.0
        c.wait(
            lambda: c.first_poll_after(killed_pages, kill_at, killed.pid) is not None,
            "the killed replica's sources polled by another",
        )
        c.wait(
            lambda: any(
                at > kill_at and by != killed.pid
                for (channel, _), sent in c.arrivals().items()
                if channel == "desk"
                for at, by in sent
            ),
            "an e-mail on the killed replica's channel from another",
        )
        took_sources = c.first_poll_after(killed_pages, kill_at, killed.pid)
        desk_after = [
            at
            for (channel, _), sent in c.arrivals().items()
            if channel == "desk"
            for at, by in sent
            if at > kill_at and by != killed.pid
        ]

        # SIGSTOP the holder of `wire` in the middle of the next burst, for longer than
        # its lease (three leases), then SIGCONT: it must not send what another sent.
        stopped_pages = pages_of(c, stopped.pid)
        smtp.quit_delay = HOLD
        burst_at = time.time()
        site.burst()
        c.wait(
            lambda: any(at >= burst_at and pid == stopped.pid for at, pid in smtp.quits),
            "the burst's first e-mail from the replica to stop",
        )
        stop_at = stopped.signal(signal.SIGSTOP)
        smtp.quit_delay = 0.0
        c.wait(
            lambda: c.first_poll_after(stopped_pages, stop_at, stopped.pid) is not None,
            "the stopped replica's sources polled by another",
        )
        c.wait(lambda: time.time() > stop_at + 3 * LEASE, "three leases to pass")
        stopped_took = c.first_poll_after(stopped_pages, stop_at, stopped.pid)
        wire_after = [
            at
            for (channel, _), sent in c.arrivals().items()
            if channel == "wire"
            for at, by in sent
            if at > stop_at and by != stopped.pid
        ]
        resume_at = stopped.signal(signal.SIGCONT)
        c.wait(lambda: time.time() > resume_at + 4, "four more lines")
        site.pause()
        c.wait(lambda: c.delivered(CHANNELS), "every line on every channel")
        # Room for a wrong late copy (the resumed replica finishing a batch) to show up.
        c.wait(
            lambda: time.time() > resume_at + 3 * LEASE and c.holders().get("channel:wire"),
            "the channels held again after the resume",
        )
        status = ticker_json(survivor.config, "status")
        statuses = {r.number: r.stop() for r in (stopped, survivor)}
        logs = c.logs()
        table = ticker_json(survivor.config, "tail", "-n", "1000")  # its relay is still there

    events = [Event("SIGKILL", killed.pid, kill_at), Event("SIGSTOP", stopped.pid, stop_at)]
    explained, copies = check_exactly_once(c, CHANNELS, events)
    late = [
        (key, sent)
        for key, sent in copies.items()
        if any(by == stopped.pid and at > resume_at for at, by in sent)
        and min(sent)[1] != stopped.pid
    ]
    assert not late, f"the resumed replica sent what another had sent: {late}"
    assert all(status == 0 for status in statuses.values()), (statuses, logs)
    assert "Traceback" not in logs, logs
    texts = [a["text"] for a in table if WIRE.match(a["text"])]
    assert sorted(texts) == sorted(site.produced()), "each line one alert"
    assert all(
        a["deliveries"] == {n: "sent" for n in CHANNELS} for a in table if a["text"] in texts
    )
    live = {r["pid"] for r in status["replicas"] if r["live"]}
    assert live == {stopped.pid, survivor.pid}, status["replicas"]  # `ticker status` sees it
    assert killed.pid in {r["pid"] for r in status["replicas"]}

    assert took_sources is not None and desk_after and stopped_took is not None and wire_after
    print(
        f"\nfailover: {len(site.produced())} lines x {len(CHANNELS)} channels, "
        f"{len(smtp.messages)} e-mails, lease {LEASE} s, polls every 1 s"
    )
    print(
        f"  SIGKILL of the `desk` holder (pid {killed.pid}, pages {killed_pages}): its sources "
        f"polled by another after {took_sources - kill_at:.2f} s, its channel sending again "
        f"after {min(desk_after) - kill_at:.2f} s"
    )
    print(
        f"  SIGSTOP of the `wire` holder (pid {stopped.pid}, pages {stopped_pages}) for "
        f"{resume_at - stop_at:.1f} s: its sources polled by another after "
        f"{stopped_took - stop_at:.2f} s, its channel sending again after "
        f"{min(wire_after) - stop_at:.2f} s"
    )
    print(f"  duplicates: {len(explained)}, each in the crash window:")
    for line in explained:
        print(f"    {line}")


def test_partition_stops_a_replica_and_it_rejoins(
    tmp_path: Path, postgres_server: Any, postgres_db: str
) -> None:
    channels = ("desk",)
    with cluster(tmp_path, postgres_server, postgres_db, channels) as c:
        settle(c, channels)
        site, smtp = c.site, c.smtp
        site.produce(every=1.0)
        c.wait(lambda: len(site.produced()) >= 3 and c.delivered(channels), "the first lines")
        cut = c.by_pid(c.holders()["channel:desk"])  # it polls and it sends
        assert cut is not None
        cut_pages = pages_of(c, cut.pid)
        cut_at = time.time()
        cut.proxy.cut()
        c.wait(
            lambda: c.first_poll_after(cut_pages, cut_at, cut.pid) is not None,
            "the cut-off replica's sources polled by another",
        )
        c.wait(lambda: time.time() > cut_at + 3 * LEASE, "three leases to pass")
        took = c.first_poll_after(cut_pages, cut_at, cut.pid)
        heal_at = time.time()
        cut.proxy.heal()
        c.wait(lambda: cut.pid in c.holders().values(), "the replica to hold leases again")
        back = time.time()
        c.wait(
            lambda: any(pid == cut.pid for _, _, pid in site.requests(since=back)),
            "the replica to poll again",
        )
        c.wait(lambda: time.time() > back + 3, "three more lines")
        site.pause()
        c.wait(lambda: c.delivered(channels), "every line")
        statuses = [r.stop() for r in c.replicas]
        logs = c.logs()
        log = cut.log()

    quiet_from = cut_at + LEASE  # its leases ran out: from here on it must do nothing
    polled = [r for r in site.requests(since=quiet_from) if r[2] == cut.pid and r[0] < heal_at]
    assert not polled, f"the cut-off replica polled: {polled}"
    copies = c.arrivals()
    sent = [
        (key, at)
        for key, copies_of in copies.items()
        for at, by in copies_of
        if by == cut.pid and quiet_from < at < heal_at
    ]
    assert not sent, f"the cut-off replica sent: {sent}"
    explained, _ = check_exactly_once(c, channels, [Event("the cut", cut.pid, cut_at)])
    assert statuses == [0] * len(statuses), logs
    assert "Traceback" not in logs, logs
    said = [line for line in log.splitlines() if " ERROR " in line and "cannot be reached" in line]
    dbname = postgres_db.rpartition("dbname=")[2]
    assert said and dbname in said[0], log  # it said why it stopped, naming the database
    assert took is not None
    print(
        f"\npartition: pid {cut.pid} (pages {cut_pages}, channel desk) cut off for "
        f"{heal_at - cut_at:.1f} s: its sources polled by another after {took - cut_at:.2f} s; "
        f"leases again {back - heal_at:.2f} s after the heal; {len(site.produced())} lines, "
        f"{len(smtp.messages)} e-mails, duplicates {len(explained)}: {explained}"
    )


def test_the_store_reconnects_after_its_connection_was_ended(
    postgres_server: Any, postgres_db: str
) -> None:
    # Found by the partition test: a replica cut off from the database never rejoined,
    # because the store's own connection (its rejoin probe) stayed dead for good.
    from ticker.dburl import PostgresTarget
    from ticker.errors import DatabaseUnreachable
    from ticker.store import Store

    store = Store.open(PostgresTarget.from_conninfo(postgres_db))
    try:
        assert store.pending_count() == 0
        assert postgres_server.terminate("ticker") == 1  # the store's connection
        assert store.pending_count() == 0  # a read outside a transaction goes again
        postgres_server.terminate("ticker")
        with store.transaction() as conn:  # so does a transaction's BEGIN
            conn.execute("SELECT 1")
        with pytest.raises(DatabaseUnreachable), store.transaction() as conn:
            conn.execute("SELECT 1")
            postgres_server.terminate("ticker")
            conn.execute("SELECT 2")  # never half a transaction on a new connection
        assert store.pending_count() == 0
    finally:
        store.close()


def test_polls_due_together_ask_for_their_lease_when_their_turn_comes(tmp_path: Path) -> None:
    # bench.scale, 3 replicas sharing 3,000 sources: the first to start held them all for a
    # moment and queued their first polls; those it then gave away were still polled when
    # their turn came, beside their new holders (1,840 sources polled twice).
    from conftest import source_config
    from servers import PageServer
    from test_replicas_daemon import FakeCoordination, run_with_daemon

    from ticker.daemon import Daemon
    from ticker.fetch import FETCH_SLOTS

    with PageServer(["<ul><li>Storm reaches the coast</li></ul>"]) as site:
        tables = [
            {"name": f"s{n}", "url": site.url, "selector": "li", "interval": 60}
            for n in range(3 * FETCH_SLOTS)
        ]
        config = source_config(tmp_path, *tables)
        coord = FakeCoordination(held=[t["name"] for t in tables])

        async def body(daemon: Daemon, *_: Any) -> None:
            import asyncio

            polls = [daemon.poll(source, deliver=False) for source in config.sources]
            started = [asyncio.ensure_future(poll) for poll in polls]
            await asyncio.sleep(0)  # every poll started: the first FETCH_SLOTS fetching
            coord.held = {t["name"] for t in tables[:FETCH_SLOTS]}  # the rest given away
            await asyncio.gather(*started)

        run_with_daemon(config, coord, body)
        assert site.requests == FETCH_SLOTS
