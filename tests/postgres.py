"""A real PostgreSQL server for the tests, started from the distribution's packages.

One server per test session (`PostgresServer.start`), in a temporary directory, listening on
a unix socket in that directory (and, when asked, on 127.0.0.1 at a free port); each test
gets a fresh database cloned from a template (`CREATE DATABASE ... TEMPLATE`, a few ms), so
tests never see each other's rows. The server is this process's child: `stop()` ends it
(fast shutdown), and the session fixture in conftest.py calls it at the end.

The binaries are found in $TICKER_PG_BIN (only there, when it is set), else in the newest
/usr/lib/postgresql/*/bin (Debian's `postgresql` package, which .ci/run installs), else on
PATH. Where they are missing, or psycopg is not installed, `unavailable()` says why and the
tests skip with it.

initdb and postgres refuse to run as root. When the tests run as root (CI does), the server
runs as the unprivileged user `nobody` (subprocess's `user=`, the same as `runuser -u
nobody`): the temporary directory is created for it (mode 0700, owned by nobody) outside
pytest's own tmp directory, which nobody may not enter. Root's client connects through the
socket anyway (root passes the directory's permission check). Authentication is `trust`,
on a socket no one else can reach; the server is tuned for speed, not durability (fsync,
full_page_writes and synchronous_commit off): it holds nothing worth keeping.

    server = PostgresServer.start()
    conninfo = server.create_database()   # "host=/tmp/... port=5432 user=postgres dbname=t1"
    ...
    server.stop()
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUPERUSER = "postgres"  # the role initdb creates (-U), whatever OS user runs the server
UNPRIVILEGED = "nobody"  # the OS user the server runs as when the tests run as root
START_TIMEOUT = 60.0  # seconds for the server to accept connections (a loaded CI machine)
TEMPLATE = "ticker_template"
SETTINGS = {
    "fsync": "off",  # a test server: nothing in it survives the session anyway
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


def bin_dir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None if none is found."""
    wanted = os.environ.get("TICKER_PG_BIN")
    if wanted:  # only there: TICKER_PG_BIN=/nonexistent shows the tests' skip
        candidates = [Path(wanted)]
    else:
        # Newest major version first: /usr/lib/postgresql/15/bin before .../13/bin.
        found = glob.glob("/usr/lib/postgresql/*/bin")
        candidates = sorted((Path(p) for p in found), key=_major, reverse=True)
        on_path = shutil.which("initdb")
        if on_path:
            candidates.append(Path(on_path).parent)
    for directory in candidates:
        if all((directory / name).is_file() for name in ("initdb", "postgres")):
            return directory
    return None


def _major(directory: Path) -> int:
    version = directory.parent.name
    return int(version) if version.isdigit() else 0


def unavailable() -> str | None:
    """Why a server cannot be started here (a skip reason), or None if it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]' or '.[postgres]')"
    if bin_dir() is None:
        return (
            "PostgreSQL's server binaries (initdb, postgres) were not found in $TICKER_PG_BIN, "
            "/usr/lib/postgresql/*/bin or PATH (apt-get install postgresql)"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(UNPRIVILEGED)
        except KeyError:
            return f"running as root and there is no user {UNPRIVILEGED!r} to run PostgreSQL as"
    return None


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root for the server (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(UNPRIVILEGED)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerUnavailable(RuntimeError):
    """This process may not run the server: it cannot hand the directory or the process to
    the unprivileged user (no CAP_SETUID or CAP_CHOWN in a container, say). A skip reason."""


@dataclass
class PostgresServer:
    """A running PostgreSQL server that this process started; `stop()` ends it."""

    root: Path  # the temporary directory: data/, the socket, the log
    port: int
    process: subprocess.Popen[bytes]
    tcp: bool
    started_in: float  # seconds from initdb to the first accepted connection
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls, tcp: bool = False) -> PostgresServer:
        """initdb a new cluster in a temporary directory and start its server; wait until it
        accepts connections. `tcp`: also listen on 127.0.0.1 (at `port`); by default only
        the unix socket in the directory. Raises ServerUnavailable where this process may not
        run it, RuntimeError (with the server's log) if it does not start."""
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        began = time.monotonic()
        port = free_port() if tcp else 5432  # the socket's name; private directory: no clash
        root = _private_directory()
        try:
            _initdb(root)
            process = _postgres(root, port, tcp)
        except BaseException as exc:
            shutil.rmtree(root, ignore_errors=True)
            if isinstance(exc, PermissionError):
                reason = f"cannot run PostgreSQL as {UNPRIVILEGED!r}: {exc}"
                raise ServerUnavailable(reason) from exc
            raise
        server = cls(root, port, process, tcp, started_in=0.0)
        try:
            server._wait_ready(began + START_TIMEOUT)
            server._admin(f"CREATE DATABASE {TEMPLATE}")
        except BaseException:
            server.stop()
            raise
        server.started_in = time.monotonic() - began
        return server

    def conninfo(self, dbname: str = "postgres", *, via_tcp: bool = False) -> str:
        """A libpq connection string to database `dbname` (the unix socket unless
        `via_tcp`, which needs a server started with tcp=True)."""
        host = "127.0.0.1" if via_tcp else str(self.root)
        return f"host={host} port={self.port} user={SUPERUSER} dbname={dbname}"

    def create_database(self, template: str = TEMPLATE) -> str:
        """A new empty database cloned from `template`; its conninfo."""
        name = f"t{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.conninfo(name)

    def drop_database(self, conninfo: str) -> None:
        """Drop the database `conninfo` names, ending its remaining connections."""
        name = conninfo.rpartition("dbname=")[2]
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def terminate(self, application_name: str) -> int:
        """End, from the server's side, every connection whose application_name is the one
        given (pg_terminate_backend: as an administrator or a failing network would); how
        many were ended."""
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (application_name,),
            ).fetchall()
        return sum(1 for (ended,) in rows if ended)

    def stop(self) -> None:
        """Stop the server (fast shutdown: connections ended, no checkpoint wait beyond the
        shutdown one) and remove its directory."""
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()  # SIGKILL; the directory goes next anyway
                self.process.wait(timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """The server's log so far (for a failure's message)."""
        try:
            return (self.root / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.conninfo(), autocommit=True) as admin:
            admin.execute(statement)  # type: ignore[arg-type]  # a fixed identifier, no input

    def _wait_ready(self, deadline: float) -> None:
        import psycopg

        while True:  # bounded by the deadline
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited at start:\n{self.log()}")
            try:
                psycopg.connect(self.conninfo(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.log()}") from None
                time.sleep(0.02)  # polling for readiness, not timing an assertion


def _private_directory() -> Path:
    """A new temporary directory the server's user owns (mode 0700): under /tmp, not under
    pytest's tmp directory (0700, root's) that `nobody` cannot enter; short, as a unix
    socket's path must be (at most 107 bytes)."""
    root = Path(tempfile.mkdtemp(prefix="ticker-pg-"))
    run_as = _run_as()
    try:
        if run_as:
            os.chown(root, run_as["user"], run_as["group"])
    except PermissionError as exc:
        root.rmdir()
        raise ServerUnavailable(f"cannot give a directory to {UNPRIVILEGED!r}: {exc}") from exc
    return root


def _initdb(root: Path) -> None:
    """A new cluster in root/data: trust authentication, C locale, UTF-8, no fsync."""
    command = [
        str(bin_dir() / "initdb"),  # type: ignore[operator]  # unavailable() checked it
        "-D",
        str(root / "data"),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",  # a throwaway cluster: saves seconds of fsync
    ]
    result = subprocess.run(command, capture_output=True, cwd=root, **_run_as())
    if result.returncode != 0:
        output = (result.stdout + result.stderr).decode(errors="replace")
        raise RuntimeError(f"initdb failed ({result.returncode}):\n{output}")


def _postgres(root: Path, port: int, tcp: bool) -> subprocess.Popen[bytes]:
    """The server process on root/data, its socket in root, its log in root/server.log."""
    settings = {
        **SETTINGS,
        "port": str(port),
        "unix_socket_directories": str(root),
        "listen_addresses": "127.0.0.1" if tcp else "",
    }
    options = list(itertools.chain.from_iterable(("-c", f"{k}={v}") for k, v in settings.items()))
    log = open(root / "server.log", "ab")  # noqa: SIM115  # the child keeps it open
    with contextlib.closing(log):
        return subprocess.Popen(
            [str(bin_dir() / "postgres"), "-D", str(root / "data"), *options],  # type: ignore[operator]
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            **_run_as(),
        )
