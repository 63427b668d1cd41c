"""The PostgreSQL test harness itself (tests/postgres.py): a database per test, a server that
does not run as root, that listens on loopback when asked, and that leaves nothing behind."""

from __future__ import annotations

import os
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import postgres
import pytest

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (the test extra)")


def test_each_test_gets_an_empty_database(postgres_db: str) -> None:
    with psycopg.connect(postgres_db) as conn:
        conn.execute("CREATE TABLE left_behind (n INTEGER)")
        tables = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (1,)  # this one only: the other tests' tables are in their databases


def test_the_server_is_not_root_and_its_directory_is_private(postgres_server: Any) -> None:
    data = Path(postgres_server.root) / "data"
    assert data.stat().st_uid != 0 or os.geteuid() != 0
    assert Path(postgres_server.root).stat().st_mode & 0o077 == 0
    with psycopg.connect(postgres_server.conninfo()) as conn:
        assert conn.execute("SELECT current_setting('data_directory')").fetchone() == (str(data),)


def test_a_server_on_loopback_stops_and_leaves_nothing() -> None:
    reason = postgres.unavailable()
    if reason:
        pytest.skip(reason)
    server = postgres.PostgresServer.start(tcp=True)
    try:
        with psycopg.connect(server.conninfo(via_tcp=True)) as conn:
            assert conn.info.host == "127.0.0.1"
            assert conn.execute("SELECT inet_server_addr()").fetchone()[0].compressed == "127.0.0.1"
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert not server.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.conninfo(via_tcp=True), connect_timeout=2)


def test_no_right_to_drop_root_is_a_skip_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    # In a container without CAP_SETUID/CAP_CHOWN, handing the server to `nobody` fails.
    if postgres.unavailable():
        pytest.skip(postgres.unavailable() or "")

    def refused(*args: Any, **kwargs: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(postgres, "_initdb", refused)
    made: list[Path] = []
    monkeypatch.setattr(
        postgres, "_private_directory", lambda: made.append(Path(mkdtemp())) or made[0]
    )
    with pytest.raises(postgres.ServerUnavailable, match="Operation not permitted"):
        postgres.PostgresServer.start()
    assert made and not made[0].exists()  # its directory is gone too
