"""systemd's sd_notify protocol, standard library only.

A service started by systemd with ``Type=notify`` (or ``notify-reload``) finds the address of
the service manager's datagram socket in ``$NOTIFY_SOCKET``: a filesystem path, or an
abstract-namespace name written with a leading ``@`` (on the wire the ``@`` is a NUL byte).
A message is newline-separated ``KEY=value`` assignments in one datagram, e.g. ``READY=1``,
``STATUS=...``, ``WATCHDOG=1``, ``STOPPING=1``, ``RELOADING=1``. Outside systemd the variable is
unset and every call here is a cheap no-op, so the daemon can call them unconditionally.

``$WATCHDOG_USEC`` (with ``WatchdogSec=`` in the unit) is the time after which systemd acts on
the service if no ``WATCHDOG=1`` arrived; systemd recommends pinging every half of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable

STATUS_MAX = 200  # characters of STATUS= text kept; longer text ends in an ellipsis
SEND_TIMEOUT = 1.0  # seconds a send may wait on a full socket queue before giving up
_USEC_INFINITY = 2**64 - 1  # systemd's "no limit" value, never a real watchdog timeout

log = logging.getLogger(__name__)


def _address(value: str) -> str | bytes | None:
    """The sockaddr for a $NOTIFY_SOCKET value, or None when it is not one we can use."""
    if value.startswith("@") and len(value) > 1:
        return b"\0" + os.fsencode(value[1:])  # Linux abstract namespace: leading NUL byte
    if value.startswith("/"):
        return value
    return None  # relative paths, "vsock:..." (systemd >= 253 in VMs) and the like


def _clean(field: str) -> str:
    """One field as a single line without NUL bytes; STATUS= text also capped at STATUS_MAX."""
    field = field.replace("\0", "").replace("\r", " ").replace("\n", " ")
    if field.startswith("STATUS="):
        text = " ".join(field[len("STATUS=") :].split())
        if len(text) > STATUS_MAX:
            text = text[: STATUS_MAX - 1].rstrip() + "…"
        field = "STATUS=" + text
    return field


def notify(*fields: str) -> bool:
    """Send ``fields`` (e.g. ``"READY=1"``, ``"STATUS=polling 3 sources"``) to systemd.

    The fields go out joined by newlines as one datagram to ``$NOTIFY_SOCKET``. Each field is
    flattened to one line (so text can never inject another assignment) and NUL bytes are
    dropped; a ``STATUS=`` field has its whitespace collapsed and is capped at ``STATUS_MAX``
    characters.

    Returns True when the datagram was handed to the kernel. Returns False, without sending,
    when ``$NOTIFY_SOCKET`` is unset or empty or no fields were given; returns False and logs
    at debug level when the address is unusable or the send fails. Never raises ``OSError``.
    Does not block for more than ``SEND_TIMEOUT`` seconds.
    """
    target = os.environ.get("NOTIFY_SOCKET", "")
    if not target or not fields:
        return False
    address = _address(target)
    if address is None:
        log.debug("sd_notify: unsupported NOTIFY_SOCKET %r", target)
        return False
    message = "\n".join(_clean(field) for field in fields).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.sendto(message, address)
    except OSError as exc:
        log.debug("sd_notify to %r failed: %s", target, exc)
        return False
    return True


def reloading() -> bool:
    """Tell systemd a configuration reload has begun; send ``READY=1`` when it is done.

    Sends ``RELOADING=1`` with ``MONOTONIC_USEC=`` set to the current CLOCK_MONOTONIC time in
    microseconds, in the same datagram, as ``Type=notify-reload`` requires (older systemd
    ignores the extra field). Returns what ``notify`` returns.
    """
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def watchdog_interval() -> float | None:
    """The watchdog timeout systemd expects this process to honour, in seconds.

    That is ``$WATCHDOG_USEC`` / 1e6 when it is a positive integer (and not systemd's
    "infinity") and ``$WATCHDOG_PID`` is unset or equals this process's PID. Returns None when
    there is no watchdog, it is meant for another process, or either value is malformed. Send
    ``WATCHDOG=1`` at least every half of this (``watchdog_loop`` does).
    """
    raw_usec = os.environ.get("WATCHDOG_USEC", "")
    if not (raw_usec.isascii() and raw_usec.isdigit()):
        return None
    usec = int(raw_usec)
    if usec <= 0 or usec >= _USEC_INFINITY:
        return None
    raw_pid = os.environ.get("WATCHDOG_PID")
    if raw_pid is not None and not (
        raw_pid.isascii() and raw_pid.isdigit() and int(raw_pid) == os.getpid()
    ):
        return None
    return usec / 1_000_000


async def watchdog_loop(
    interval: float,
    beat: Callable[[], None] | None = None,
    fed: Callable[[], bool] | None = None,
) -> None:
    """Send ``WATCHDOG=1`` now and then every ``interval / 2`` seconds, until cancelled.

    ``interval`` is the watchdog timeout (what ``watchdog_interval`` returns). The pings come
    from the event loop itself, so a blocked loop sends none and systemd restarts the service.
    ``beat``, when given, is called before each ping; if it raises, the exception ends the loop
    (and with it the pings). ``fed``, when given, is asked before each ping: while it returns
    False no ping is sent (a replica cut off from its database), so systemd restarts the
    service if that lasts ``interval``; pings resume when it returns True again. Returns only
    by cancellation or ``beat`` raising.
    """
    if interval <= 0:
        raise ValueError(f"watchdog interval must be positive, got {interval!r}")
    starved = False
    while True:
        if beat is not None:
            beat()
        if fed is None or fed():
            starved = False
            notify("WATCHDOG=1")
        elif not starved:
            starved = True
            log.error("systemd watchdog: no ping while the database cannot be reached")
        await asyncio.sleep(interval / 2)
