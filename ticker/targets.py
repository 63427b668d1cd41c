"""Where a URL's host points: the public Internet, or a range a news page has no business
in (loopback, private, link-local: 169.254.169.254 is the cloud metadata service).

`config check` warns about such sources, and fetch refuses a redirect from a public URL
into one (docs/RELIABILITY.md). Standard library only: `config check` and fetch use it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA = ipaddress.ip_address("169.254.169.254")  # AWS, GCP, Azure, OpenStack...
RESOLVE_TIMEOUT = 2.0  # seconds `config check` waits for a name to resolve
# The most worrying range first: what a host is said to be in when its addresses differ.
_SEVERITY = ("link-local", "loopback", "unspecified", "private", "multicast", "reserved")


def literal_ip(host: str) -> IPAddress | None:
    """`host` as an IP address if it is one ("[::1]" included), else None (a name)."""
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])  # fe80::1%eth0
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip


def range_of(ip: IPAddress) -> str | None:
    """The non-public range `ip` is in ("loopback", "link-local", "private", ...), None for
    a public (globally routable) address. Private covers RFC 1918, IPv6 ULA (fc00::/7) and
    the other special-purpose blocks the ipaddress module counts as private."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),  # 100.64.0.0/10 (carrier-grade NAT) and the like
    )
    return next((name for name, hit in checks if hit), None)


def describe(ip: IPAddress) -> str:
    """`ip` and its range as a warning names them: "169.254.169.254 (link-local: the cloud
    metadata service)"; a public address as itself."""
    where = range_of(ip)
    if where is None:
        return str(ip)
    note = ": the cloud metadata service" if ip == METADATA else ""
    return f"{ip} ({where}{note})"


def _severity(ip: IPAddress) -> int:
    where = range_of(ip)
    return _SEVERITY.index(where) if where in _SEVERITY else len(_SEVERITY)


def a_range(ip: IPAddress) -> str:
    """`ip`'s range in words: "a link-local address (the cloud metadata service)"."""
    where = range_of(ip) or "public"
    note = " (the cloud metadata service)" if ip == METADATA else ""
    article = "an" if where[0] in "aeiou" else "a"
    return f"{article} {where} address{note}"


@dataclass(frozen=True)
class Target:
    """Where a host points: its addresses and the most worrying non-public one, if any."""

    host: str
    addresses: tuple[IPAddress, ...]

    @property
    def worst(self) -> IPAddress | None:
        """The address in the most worrying non-public range, None if all are public (or
        there are none: a name that did not resolve)."""
        inner = [ip for ip in self.addresses if range_of(ip) is not None]
        return min(inner, key=_severity, default=None)


def _addresses(infos: Iterable[tuple[object, ...]]) -> tuple[IPAddress, ...]:
    found: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        ip = literal_ip(str(sockaddr[0])) if isinstance(sockaddr, tuple) else None
        if ip is not None and ip not in found:
            found.append(ip)
    return tuple(found)


def resolve_all(hosts: Iterable[str], timeout: float = RESOLVE_TIMEOUT) -> dict[str, Target | str]:
    """Where each of `hosts` points, names resolved with getaddrinfo concurrently, all
    within `timeout` seconds; a name that does not resolve maps to the reason why. A look-up
    still running at the deadline is left to finish in its daemon thread (getaddrinfo
    cannot be interrupted)."""
    found: dict[str, Target | str] = {}
    lookups: dict[str, tuple[threading.Thread, list[object]]] = {}
    for host in dict.fromkeys(hosts):
        ip = literal_ip(host)
        if ip is not None:
            found[host] = Target(host, (ip,))
            continue
        result: list[object] = []
        thread = threading.Thread(
            target=_lookup, args=(host, result), name=f"resolve {host}", daemon=True
        )
        thread.start()
        lookups[host] = (thread, result)
    deadline = time.monotonic() + timeout
    for host, (thread, result) in lookups.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if not result:
            found[host] = f"no answer within {timeout:g} s"
        elif isinstance(result[0], Exception):
            found[host] = getattr(result[0], "strerror", None) or str(result[0])
        else:
            found[host] = Target(host, _addresses(result[0]))  # type: ignore[arg-type]
    return found


def _lookup(host: str, result: list[object]) -> None:
    try:
        result.append(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP))
    except (OSError, UnicodeError) as exc:  # UnicodeError: a label IDNA cannot encode
        result.append(exc)


async def resolve_async(host: str) -> Target:
    """Where `host` points, resolved in the event loop's resolver thread; a name that does
    not resolve has no addresses (it counts as public: the connection will fail anyway)."""
    ip = literal_ip(host)
    if ip is not None:
        return Target(host, (ip,))
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return Target(host, ())
    return Target(host, _addresses(infos))
