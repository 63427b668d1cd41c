"""Run the web application under uvicorn, with its limits."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from ticker.config import Config
from ticker.web import live

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


def serve(
    config: Config,
    host: str,
    port: int,
    *,
    token: str | None,
    scrub: Callable[[str], str] = str,
    level: int = logging.INFO,
) -> None:
    """Serve `config`'s database on host:port until SIGINT or SIGTERM."""
    import uvicorn

    from ticker.web.app import make_app

    app = make_app(config, token=token, scrub=scrub)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
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
    server.run()
