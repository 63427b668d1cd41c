"""Real servers on loopback, started by the tests: a page server whose page changes between
requests, and an SMTP sink (aiosmtpd) that can refuse mail for a while."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Sequence
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def ticker_page(lines: Sequence[str], *, title: str = "Al Mayadeen English") -> str:
    """A page with a BREAKING list in the markup the Al Mayadeen preset selects."""
    import html

    items = "\n".join(
        f'<li><a href="/news/{abs(hash(text)) % 10**8}">{html.escape(text)}</a></li>'
        for text in lines
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><div class='breaking-news'><span>BREAKING</span><ul>{items}</ul></div>"
        f"<main><p>Article text.</p></main></body></html>"
    )


class PageServer:
    """Serves `pages[k]` to the k-th request (the last page once the script runs out)."""

    def __init__(self, pages: Sequence[str]) -> None:
        self.pages = list(pages)
        self.requests = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server.lock:
                    page = server.pages[min(server.requests, len(server.pages) - 1)]
                    server.requests += 1
                body = page.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def served_all(self) -> bool:
        """True once every page of the script has been served at least once."""
        with self.lock:
            return self.requests >= len(self.pages)


class SmtpSink:
    """An aiosmtpd server on loopback keeping every message; `refusing` answers 451."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused = 0
        self.refusing = False
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
                if sink.refusing:
                    sink.refused += 1
                    return "451 4.3.0 try again later"
                content = envelope.content  # type: ignore[attr-defined]
                message = email.message_from_bytes(content, policy=email.policy.default)
                sink.messages.append(message)  # type: ignore[arg-type]
                return "250 OK"

        self.controller = Controller(Handler(), hostname=LOOPBACK, port=self.port)

    @property
    def url(self) -> str:
        """The Apprise URL that delivers to this sink."""
        return f"mailto://{LOOPBACK}:{self.port}?from=ticker@example.com&to=reader@example.com"

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def bodies(self) -> list[str]:
        """The plain-text body of every accepted message, in arrival order."""
        texts = []
        for message in self.messages:
            part = message.get_body(preferencelist=("plain", "html"))
            texts.append(part.get_content() if part is not None else "")
        return texts
