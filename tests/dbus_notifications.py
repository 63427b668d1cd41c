"""A private D-Bus session bus and a notification server that records what it is sent, for
tests of desktop notifications. Both are context managers; everything they start stops when
the `with` block ends, and every wait in here is bounded.

The server is written with jeepney (pure Python), so it does not depend on the D-Bus bindings
that the code under test uses.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageFlag,
    MessageType,
    new_error,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import DBusNameFlags, message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
NOTIFY_SIGNATURE = "susssasa{sv}i"
PRIMARY_OWNER = 1  # RequestName's answer when the name is now ours
CLOSED_BY_CALL = 3  # NotificationClosed reason: closed by a call to CloseNotification

# A session bus with the usual open policy but no service directories, so nothing on this
# machine (a real notification daemon's .service file) can be activated on it.
_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={directory}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

_INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="{INTERFACE}">
    <method name="Notify">
      <arg name="app_name" type="s" direction="in"/>
      <arg name="replaces_id" type="u" direction="in"/>
      <arg name="app_icon" type="s" direction="in"/>
      <arg name="summary" type="s" direction="in"/>
      <arg name="body" type="s" direction="in"/>
      <arg name="actions" type="as" direction="in"/>
      <arg name="hints" type="a{{sv}}" direction="in"/>
      <arg name="expire_timeout" type="i" direction="in"/>
      <arg name="id" type="u" direction="out"/>
    </method>
    <method name="GetCapabilities">
      <arg name="capabilities" type="as" direction="out"/>
    </method>
    <method name="GetServerInformation">
      <arg name="name" type="s" direction="out"/>
      <arg name="vendor" type="s" direction="out"/>
      <arg name="version" type="s" direction="out"/>
      <arg name="spec_version" type="s" direction="out"/>
    </method>
    <method name="CloseNotification">
      <arg name="id" type="u" direction="in"/>
    </method>
    <signal name="NotificationClosed">
      <arg name="id" type="u"/>
      <arg name="reason" type="u"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg name="xml" type="s" direction="out"/>
    </method>
  </interface>
</node>
"""


@contextlib.contextmanager
def private_session_bus(timeout: float = 5.0) -> Iterator[str]:
    """Run a dbus-daemon for the `with` block and give its address (for
    DBUS_SESSION_BUS_ADDRESS). It is killed, and its socket removed, when the block ends.
    Raises RuntimeError if the daemon does not give an address within `timeout` seconds."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        raise RuntimeError("dbus-daemon is not on PATH")
    with tempfile.TemporaryDirectory(prefix="ticker-dbus-") as directory:
        config = Path(directory) / "session.conf"
        config.write_text(_BUS_CONFIG.format(directory=directory), encoding="utf-8")
        command = [daemon, f"--config-file={config}", "--nofork", "--print-address=1"]
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
            try:
                yield _read_address(process, errors, timeout)
            finally:
                _stop(process, timeout)


def _read_address(process: subprocess.Popen[str], errors: Any, timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    address = process.stdout.readline().strip() if ready else ""
    if not address:
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip()
        raise RuntimeError(f"dbus-daemon gave no address within {timeout}s: {said}")
    return address


def _stop(process: subprocess.Popen[str], timeout: float) -> None:
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
    if process.stdout is not None:
        process.stdout.close()


class NotificationServer:
    """Owns org.freedesktop.Notifications on the bus at `address` while running, answers the
    Desktop Notifications methods from a background thread and records each Notify in
    `received` (dicts: app_name, replaces_id, app_icon, summary, body, actions, hints: the
    hint names, expire_timeout, id). Unknown methods, and Notify with another signature,
    get a D-Bus error reply. Use it as a context manager."""

    def __init__(self, address: str, *, capabilities: tuple[str, ...] = ("body",)) -> None:
        self.address = address
        self.capabilities = list(capabilities)
        self.received: list[dict[str, Any]] = []
        self.closed: list[int] = []
        self.calls: list[str] = []  # every method called on us, "interface.member"
        self._next_id = 1
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._connection: DBusConnection | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> NotificationServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, timeout: float = 5.0) -> None:
        """Connect, take the name (RuntimeError if someone else has it) and start answering."""
        connection = open_dbus_connection(bus=self.address, auth_timeout=timeout)
        request = message_bus.RequestName(BUS_NAME, DBusNameFlags.do_not_queue)
        reply = connection.send_and_get_reply(request, timeout=timeout)
        if not _granted(reply):
            connection.close()
            raise RuntimeError(f"could not own {BUS_NAME}: {reply.body}")
        self._connection = connection
        self._thread = threading.Thread(target=self._serve, name="notification-server")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop answering, give the name back and disconnect; returns within about
        2 * `timeout` seconds whatever the bus does."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._thread is None or not self._thread.is_alive():
            with contextlib.suppress(OSError, TimeoutError):
                connection.send_and_get_reply(message_bus.ReleaseName(BUS_NAME), timeout=timeout)
        connection.close()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until at least `count` notifications have arrived (or `timeout` seconds have
        passed) and return what has arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count and time.monotonic() < deadline:
                self._changed.wait(max(deadline - time.monotonic(), 0.0))
            return list(self.received)

    def _serve(self, poll: float = 0.1) -> None:
        assert self._connection is not None
        while not self._stopping.is_set():
            try:
                message = self._connection.receive(timeout=poll)
            except TimeoutError:
                continue
            except OSError:  # the bus went away
                return
            if message.header.message_type is MessageType.method_call:
                self._answer(message)

    def _answer(self, call: Message) -> None:
        fields = call.header.fields
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        self.calls.append(f"{interface}.{member}")
        reply = self._reply(call, interface, member)
        if self._connection is None or call.header.flags & MessageFlag.no_reply_expected:
            return
        self._connection.send(reply)

    def _reply(self, call: Message, interface: str | None, member: str) -> Message:
        path = call.header.fields.get(HeaderFields.path)
        if path != OBJECT_PATH:
            return _error(call, "org.freedesktop.DBus.Error.UnknownObject", f"no object {path}")
        if interface in (None, "org.freedesktop.DBus.Introspectable") and member == "Introspect":
            return new_method_return(call, "s", (_INTROSPECTION,))
        if interface not in (None, INTERFACE):
            return _error(call, "org.freedesktop.DBus.Error.UnknownInterface", str(interface))
        handler = {
            "Notify": self._notify,
            "GetCapabilities": self._capabilities,
            "GetServerInformation": self._information,
            "CloseNotification": self._close,
        }.get(member)
        if handler is None:
            return _error(call, "org.freedesktop.DBus.Error.UnknownMethod", f"no method {member}")
        return handler(call)

    def _notify(self, call: Message) -> Message:
        signature = call.header.fields.get(HeaderFields.signature)
        if signature != NOTIFY_SIGNATURE:
            text = f"Notify takes ({NOTIFY_SIGNATURE}), not ({signature})"
            return _error(call, "org.freedesktop.DBus.Error.InvalidArgs", text)
        app_name, replaces_id, icon, summary, body, actions, hints, expire = call.body
        with self._changed:
            notification_id = replaces_id or self._next_id
            self._next_id += 0 if replaces_id else 1
            self.received.append(
                {
                    "app_name": app_name,
                    "replaces_id": replaces_id,
                    "app_icon": icon,
                    "summary": summary,
                    "body": body,
                    "actions": list(actions),
                    "hints": sorted(hints),
                    "expire_timeout": expire,
                    "id": notification_id,
                }
            )
            self._changed.notify_all()
        return new_method_return(call, "u", (notification_id,))

    def _capabilities(self, call: Message) -> Message:
        return new_method_return(call, "as", (self.capabilities,))

    def _information(self, call: Message) -> Message:
        return new_method_return(call, "ssss", ("ticker-tests", "ticker", "1.0", "1.2"))

    def _close(self, call: Message) -> Message:
        if call.header.fields.get(HeaderFields.signature) != "u":
            return _error(call, "org.freedesktop.DBus.Error.InvalidArgs", "expected (u)")
        (notification_id,) = call.body
        self.closed.append(notification_id)
        if self._connection is not None:
            emitter = DBusAddress(OBJECT_PATH, interface=INTERFACE)
            closed = (notification_id, CLOSED_BY_CALL)
            self._connection.send(new_signal(emitter, "NotificationClosed", "uu", closed))
        return new_method_return(call)


def _granted(reply: Message) -> bool:
    return reply.header.message_type is MessageType.method_return and reply.body == (PRIMARY_OWNER,)


def _error(call: Message, name: str, text: str) -> Message:
    return new_error(call, name, "s", (text,))
