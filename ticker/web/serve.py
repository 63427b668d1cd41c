"""Run the web application under uvicorn, with its limits: as `ticker serve` (its own
process), or inside `ticker run`'s event loop ([web] in_run)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ticker.config import Config
from ticker.web import live

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)
MAX_CONNECTIONS = live.MAX_CLIENTS + 50  # open connections; more are answered 503
MAX_HEADER_BYTES = 16_384  # request line and headers (uvicorn's h11 limit)
GRACE = 3  # seconds open requests get at shutdown (live streams end at once)


def split_listen(listen: str) -> tuple[str, int]:
    """ "127.0.0.1:8787" -> ("127.0.0.1", 8787); "[::1]:8787" -> ("::1", 8787). Raises
    ValueError for anything else."""
    host, colon, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f'expected "HOST:PORT", e.g. "127.0.0.1:8787", got {listen!r}')
    return host, int(port)


def is_loopback(host: str) -> bool:
    """True if `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name may resolve anywhere


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening. Raises OSError (address in use, no such
    address): bound here rather than by uvicorn, which exits the process on that error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host == "localhost":
        host, family = "127.0.0.1", socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it. Without it a small answer (headers, then body:
        # two writes) waits for the client's delayed ACK: 40 ms per request and per event.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _server(
    config: Config, token: str | None, scrub: Callable[[str], str], level: int, public: bool
) -> uvicorn.Server:
    import uvicorn

    from ticker.web.app import LOOPBACK_HOSTS, make_app

    # Without a token, a loopback server answers only to loopback names: a web page
    # elsewhere cannot read it through a name rebound to 127.0.0.1 (DNS rebinding).
    hosts = LOOPBACK_HOSTS if token is None and not public else None
    app = make_app(config, token=token, scrub=scrub, hosts=hosts)
    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,  # ticker's logging (secrets redacted) stays in charge
            log_level=level,
            access_log=level <= logging.DEBUG,  # an access log would hold ?token=
            server_header=False,
            proxy_headers=False,
            limit_concurrency=MAX_CONNECTIONS,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_graceful_shutdown=GRACE,
            http="h11",
            ws="none",
            lifespan="on",
        )
    )


def serve(
    config: Config,
    sock: socket.socket,
    *,
    token: str | None,
    public: bool = False,
    scrub: Callable[[str], str] = str,
    level: int = logging.INFO,
) -> None:
    """Serve `config`'s database on the listening `sock` until SIGINT or SIGTERM, then
    return (exit status 0: uvicorn's own runner would die of the signal again)."""

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with serving(config, sock, token=token, public=public, scrub=scrub, level=level):
            await stop.wait()
        log.info("stopped")

    asyncio.run(until_signalled())


@asynccontextmanager
async def serving(
    config: Config,
    sock: socket.socket,
    *,
    token: str | None,
    public: bool = False,
    scrub: Callable[[str], str] = str,
    level: int = logging.INFO,
) -> AsyncIterator[None]:
    """Serve on `sock` in the running event loop while the block runs (`ticker run`
    keeps its own signal handling: uvicorn's is not installed)."""
    server = _server(config, token, scrub, level, public)
    server.config.load()
    server.lifespan = server.config.lifespan_class(server.config)
    await server.startup(sockets=[sock])
    looping = asyncio.create_task(server.main_loop(), name="ticker-web")
    try:
        yield
    finally:
        hub = getattr(server.config.app, "hub", None)
        if hub is not None:  # live streams never end by themselves: end them first
            await hub.stop()
        server.should_exit = True
        await looping
        await server.shutdown(sockets=[sock])
