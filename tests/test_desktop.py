"""Desktop notifications (Apprise's dbus:// URL) through a private session bus and a
notification server that records what it receives. Skipped, with the reason, where
dbus-daemon or the D-Bus bindings (the `desktop` extra) are missing."""

from __future__ import annotations

import contextlib
import html
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ticker.config import Channel, load_config
from ticker.notify import AppriseSender, Message

BINDINGS = (
    "D-Bus bindings not installed: pip install 'ticker[desktop]' "
    "(needs libdbus-1-dev, libglib2.0-dev, pkg-config)"
)
if shutil.which("dbus-daemon") is None:
    pytest.skip("dbus-daemon is not on PATH (apt-get install dbus)", allow_module_level=True)
dbus = pytest.importorskip("dbus", reason=BINDINGS)
pytest.importorskip("dbus.mainloop.glib", reason=BINDINGS)
pytest.importorskip("jeepney", reason="jeepney not installed: pip install 'ticker[test]'")

from conftest import database_for  # noqa: E402
from dbus_notifications import NotificationServer, private_session_bus  # noqa: E402

# Markup, an entity-like ampersand, shell syntax and Arabic, all of which must arrive as text.
TITLE = "Al Mayadeen: غارة على الضاحية <b>عاجل</b> & more"
TEXT = "غارة على الضاحية الجنوبية <b>not bold</b> &amp; <i>x</i> & $(touch pwned) `id`"
LINK = "https://example.com/news/1?a=1&b=2"


@pytest.fixture(scope="module")
def bus_address() -> Iterator[str]:
    """One private session bus for the module: dbus-python keeps a single session-bus
    connection per process, made from the first address it sees, so every in-process send
    here must use the same bus. That connection is closed at the end so later tests start
    afresh."""
    with private_session_bus() as address:
        yield address
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
            with contextlib.suppress(dbus.exceptions.DBusException):
                dbus.SessionBus().close()


@pytest.fixture
def session_bus(bus_address: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The private bus, set as this process's session bus."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus_address)
    return bus_address


def desktop_sender() -> AppriseSender:
    return AppriseSender((Channel(name="desktop", urls=("dbus://",)),))


def test_site_markup_is_escaped_for_the_notification_server(
    session_bus: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    message = Message(title=TITLE, body=f"{TEXT}\n{LINK}")
    with NotificationServer(session_bus) as server:
        failure = desktop_sender().send("desktop", message)
        received = server.wait_for(1, timeout=5)
    assert failure is None
    assert len(received) == 1
    notification = received[0]
    assert notification["summary"] == TITLE  # the summary is never markup
    # Servers read the body as markup (<b>, <a>, &amp;), so ticker escapes the site's text;
    # Apprise re-joins lines with CRLF.
    assert notification["body"] == html.escape(f"{TEXT}\r\n{LINK}", quote=False)
    assert html.unescape(notification["body"]) == f"{TEXT}\r\n{LINK}"  # nothing lost
    assert notification["app_name"] == "Apprise"
    assert notification["actions"] == []
    assert "urgency" in notification["hints"]
    assert list(tmp_path.iterdir()) == []  # `$(touch pwned)` was not run by anything


@pytest.mark.e2e
def test_notify_test_reaches_the_desktop(session_bus: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[channel]]\nname = "desktop"\nurls = ["dbus://"]\n',
        encoding="utf-8",
    )
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": session_bus}
    env.pop("STATE_DIRECTORY", None)
    command = [sys.executable, "-m", "ticker", "--config", str(config), "notify-test", "desktop"]
    with NotificationServer(session_bus) as server:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
        )
        received = server.wait_for(1, timeout=5)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "desktop: sent" in done.stdout
    assert [n["summary"] for n in received] == ["ticker: test message to desktop"]
    assert "ticker can reach this channel" in received[0]["body"]


def test_no_notification_server_is_a_readable_failure_then_recovers(session_bus: str) -> None:
    sender = desktop_sender()
    failure = sender.send("desktop", Message(title="t", body="b"))
    assert failure is not None
    assert "DBus" in failure.reason
    assert "Traceback" not in failure.reason and "\n" not in failure.reason
    with NotificationServer(session_bus) as server:  # a desktop that starts after ticker
        assert sender.send("desktop", Message(title="later", body="b")) is None
        assert [n["summary"] for n in server.wait_for(1)] == ["later"]


def test_a_burst_longer_than_ten_lines_arrives_whole_in_several_notifications(
    session_bus: str, tmp_path: Path
) -> None:
    from conftest import Clock, database_for
    from pipeline import Pipeline

    path = tmp_path / "config.toml"
    path.write_text(
        f'[ticker]\ndatabase = "{database_for(tmp_path)}"\n'
        '[[source]]\nname = "src"\nurl = "https://example.org/"\nselector = "li"\n'
        '[[channel]]\nname = "desktop"\nurls = ["dbus://"]\n',
        encoding="utf-8",
    )
    pipeline = Pipeline(load_config(path), Clock())
    places = ["Tyre", "Sidon", "Nabatieh", "Bint Jbeil", "Khiam", "Marjayoun", "Naqoura", "Qana"]
    burst = [f"Our correspondent: a drone strike hit {place}" for place in places]
    with NotificationServer(session_bus) as server:
        pipeline.show(*burst)
        pipeline.drain()
        received = server.wait_for(2, timeout=5)
    bodies = [n["body"] for n in received]
    assert all(len(body.splitlines()) <= 10 for body in bodies)  # Apprise would cut the rest
    # Each title is the notification's first headline and how many follow it.
    assert [n["summary"] for n in received] == [
        f"Our correspondent: {body.splitlines()[0].removeprefix(chr(0x2022) + ' ')}"
        f" (+{len(body.splitlines()) - 1} more)"
        for body in bodies
    ]
    listed = sorted(line for body in bodies for line in body.splitlines())
    assert listed == sorted(f"\u2022 a drone strike hit {place}" for place in places)
    assert pipeline.store.pending_deliveries() == []
