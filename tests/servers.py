"""Real servers on loopback, started by the tests: a page server whose page changes between
requests (over http or https), an SMTP sink (aiosmtpd) that can refuse mail for a while,
and a fake of the Telegram Bot API."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import math
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

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


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers in one call."""

    # TCP_NODELAY: on a kept-alive (HTTP/1.1) connection a body written after its headers
    # would otherwise wait for the client's delayed ACK, 40 ms a request.
    disable_nagle_algorithm = True

    def answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class LoopbackHTTP:
    """A threaded HTTP server on 127.0.0.1 and a free port, running inside `with`; with
    `tls` (a server-side SSLContext) an https one."""

    def __init__(self, handler: type[QuietHandler], tls: ssl.SSLContext | None = None) -> None:
        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), handler)
        scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.base_url = f"{scheme}://{LOOPBACK}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class PageServer(LoopbackHTTP):
    """Serves `pages[k]` to the k-th request (the last page once the script runs out)."""

    def __init__(self, pages: Sequence[str], tls: ssl.SSLContext | None = None) -> None:
        self.pages = list(pages)
        self.requests = 0
        self.lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                with server.lock:
                    page = server.pages[min(server.requests, len(server.pages) - 1)]
                    server.requests += 1
                self.answer(200, "text/html; charset=utf-8", page.encode("utf-8"))

        super().__init__(Handler, tls)
        self.url = f"{self.base_url}/"

    @property
    def served_all(self) -> bool:
        """True once every page of the script has been served at least once."""
        with self.lock:
            return self.requests >= len(self.pages)


class DocumentSite(LoopbackHTTP):
    """Serves one document per path, each with its Content-Type; the test swaps a path's
    document at any time (`put`), and `requests` counts what each path was asked for.
    Unknown paths are 404."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.requests: dict[str, int] = {}
        self.lock = threading.Lock()
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?", 1)[0]
                with site.lock:
                    site.requests[path] = site.requests.get(path, 0) + 1
                    document = site.documents.get(path)
                if document is None:
                    self.answer(404, "text/plain", b"not found")
                else:
                    self.answer(200, *document)

        super().__init__(Handler)

    def put(self, path: str, content_type: str, text: str) -> str:
        """Serve `text` at `path` from now on; its URL."""
        with self.lock:
            self.documents[path] = (content_type, text.encode("utf-8"))
        return f"{self.base_url}{path}"

    def asked(self, path: str) -> int:
        """How many times `path` was requested."""
        with self.lock:
            return self.requests.get(path, 0)


@dataclass(frozen=True)
class Reply:
    """One scripted answer of a ScriptedSite."""

    status: int = 200
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/html; charset=utf-8"


class ScriptedSite(LoopbackHTTP):
    """Answers the k-th request with `replies[k]` (the last one once the script runs out).
    A 200 carries an ETag of its body, and a request whose If-None-Match matches the reply
    it would get is answered 304, as a well-behaved site does; with `etag=False` no ETag
    is sent and every reply is served whole (a test that must see each one parsed).
    `requests` keeps the headers of every request, `paths` its path, `peers` the client
    address it came from (connections are kept alive, HTTP/1.1)."""

    def __init__(self, replies: Sequence[Reply], *, etag: bool = True) -> None:
        self.replies = list(replies)
        self.etag = etag
        self.requests: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.peers: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        site = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    reply = site.replies[min(len(site.requests), len(site.replies) - 1)]
                    site.requests.append(dict(self.headers.items()))
                    site.paths.append(self.path)
                    site.peers.append(self.client_address)
                body = reply.body.encode("utf-8")
                etag = f'"{abs(hash(reply.body)) % 10**12}"' if site.etag else None
                if reply.status == 200 and etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.status == 200 and etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(Handler)
        self.url = f"{self.base_url}/"

    @classmethod
    def serving(
        cls, *bodies: str, content_type: str = Reply.content_type, etag: bool = True
    ) -> Self:
        """A site answering the k-th request 200 with `bodies[k]` as `content_type`."""
        return cls([Reply(body=body, content_type=content_type) for body in bodies], etag=etag)


class SmtpSink:
    """An aiosmtpd server on loopback keeping every message; `refusing` answers 451.

    Refusal modes (a real server's replies): `password` makes it refuse any other password
    with 535 (None: any login is accepted); `refuse_rcpt` answers RCPT with that reply
    (e.g. "550 5.1.1 no such user"); `refuse_data` answers DATA with that reply (e.g. "554
    5.7.1 rejected"), only for messages containing `refuse_marker` if that is set."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused = 0
        self.refusing = False
        self.delay = 0.0  # seconds each DATA takes (a slow server)
        self.receiving = threading.Event()  # set when a DATA command begins
        self.password: str | None = None
        self.refuse_rcpt: str | None = None
        self.refuse_data: str | None = None
        self.refuse_marker: bytes | None = None
        # Replicas (tests/test_failover.py): when each message arrived and which of
        # `senders` (pids) sent it; `quit_delay` holds the answer to QUIT, after the
        # message was accepted and before the sender can mark it sent (the crash window).
        self.arrivals: list[tuple[float, int | None]] = []  # beside `messages`
        self.senders: Sequence[int] = ()
        self.quit_delay = 0.0
        self.quits: list[tuple[float, int | None]] = []  # QUITs held: (time, sender)
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_RCPT(  # noqa: N802
                self,
                server: object,
                session: object,
                envelope: object,
                address: str,
                options: object,
            ) -> str:
                if sink.refuse_rcpt:
                    return sink.refuse_rcpt
                envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
                return "250 OK"

            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
                sink.receiving.set()
                sender = sink.sender(session)  # while the client is surely still connected
                await asyncio.sleep(sink.delay)
                content = envelope.content  # type: ignore[attr-defined]
                if sink.refusing:
                    sink.refused += 1
                    return "451 4.3.0 try again later"
                if sink.refuse_data and (
                    sink.refuse_marker is None or sink.refuse_marker in content
                ):
                    sink.refused += 1
                    return sink.refuse_data
                message = email.message_from_bytes(content, policy=email.policy.default)
                sink.arrivals.append((time.time(), sender))
                sink.messages.append(message)  # type: ignore[arg-type]
                return "250 OK"

            async def handle_QUIT(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
                if sink.quit_delay:
                    sink.quits.append((time.time(), sink.sender(session)))
                    await asyncio.sleep(sink.quit_delay)
                return "221 Bye"

        def authenticate(
            server: object, session: object, envelope: object, mechanism: str, data: object
        ) -> AuthResult:
            login = data if isinstance(data, LoginPassword) else None
            ok = sink.password is None or (
                login is not None and login.password.decode() == sink.password
            )
            return AuthResult(success=ok, handled=False)

        self.controller = Controller(
            Handler(),
            hostname=LOOPBACK,
            port=self.port,
            authenticator=authenticate,
            auth_require_tls=False,
            auth_required=False,
        )

    @property
    def url(self) -> str:
        """The Apprise URL that delivers to this sink."""
        return f"mailto://{LOOPBACK}:{self.port}?from=ticker@example.com&to=reader@example.com"

    def url_with_login(self, password: str) -> str:
        """The Apprise URL that logs in as "ticker" with `password` (plain SMTP)."""
        return (
            f"mailto://ticker:{password}@{LOOPBACK}:{self.port}"
            "?from=ticker@example.com&to=reader@example.com&mode=insecure"
        )

    def sender(self, session: object) -> int | None:
        """Which of `senders` (pids) holds the client end of `session` (None: none of them,
        or none listed)."""
        if not self.senders:
            return None
        peer = session.peer  # type: ignore[attr-defined]
        return socket_owner(peer[1], self.port, self.senders)

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


TELEGRAM_LIMIT = 4096  # characters of a message's text once entities are parsed
# The tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
_TG_TOKEN = re.compile(
    r"<\s*(?P<close>/?)\s*(?P<tag>[A-Za-z][\w-]*)(?P<attrs>[^<>]*)>"
    r"|&(?P<entity>#\d+|#x[0-9A-Fa-f]+|lt|gt|amp|quot);"
    r"|(?P<bad>[<>&])"
)
_TG_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class TelegramError(Exception):
    """A request the real Bot API would refuse: (HTTP status, description)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


def parse_telegram_html(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Telegram's HTML parse mode: the visible text and the (tag, attributes) of each
    formatting entity. Raises TelegramError where Telegram answers "can't parse entities"."""
    visible: list[str] = []
    entities: list[tuple[str, str]] = []
    stack: list[str] = []
    position = 0
    for match in _TG_TOKEN.finditer(text):
        visible.append(text[position : match.start()])
        position = match.end()
        if match["bad"]:
            raise TelegramError(
                400,
                f"Bad Request: can't parse entities: unexpected {match['bad']!r} "
                f"at byte offset {len(text[: match.start()].encode())}",
            )
        if match["entity"]:
            name = match["entity"]
            if name.startswith("#x"):
                visible.append(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                visible.append(chr(int(name[1:])))
            else:
                visible.append(_TG_ENTITIES[name])
            continue
        tag = match["tag"].lower()
        if tag not in TELEGRAM_TAGS:
            raise TelegramError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        if match["close"]:
            if not stack or stack.pop() != tag:
                raise TelegramError(
                    400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"'
                )
        else:
            stack.append(tag)
            entities.append((tag, match["attrs"].strip()))
    visible.append(text[position:])
    if stack:
        raise TelegramError(400, f'Bad Request: can\'t parse entities: Unclosed tag "{stack[-1]}"')
    return "".join(visible), entities


@dataclass
class TelegramMessage:
    """A message the fake accepted."""

    chat_id: str
    text: str  # as the reader sees it
    raw: str  # as sent
    parse_mode: str | None
    entities: list[tuple[str, str]]
    at: float


class TelegramFake(LoopbackHTTP):
    """A local fake of the Telegram Bot API (`/bot<token>/<method>`), checking what Telegram
    checks: the token, the chat id, the parse mode, the entities and the message length.

    `throttle(n, retry_after)` answers the next n sendMessage calls with 429; `per_minute`
    enforces a flood limit per chat the way Telegram does (429 with the seconds to wait).
    """

    def __init__(self, token: str, chats: Sequence[str], clock: Callable[[], float] = time.time):
        self.token, self.chats, self.clock = token, set(chats), clock
        self.messages: list[TelegramMessage] = []
        self.refusals: list[tuple[int, str]] = []
        self.per_minute: int | None = None
        self._throttled: list[int] = []
        self._failing: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in urllib.parse.parse_qs(raw).items()}
                try:
                    result = fake.handle(self.path, params)
                    self.reply(200, {"ok": True, "result": result})
                except TelegramError as exc:
                    with fake.lock:
                        fake.refusals.append((exc.status, exc.description))
                    body: dict[str, object] = {
                        "ok": False, "error_code": exc.status, "description": exc.description
                    }  # fmt: skip
                    if exc.retry_after is not None:
                        body["parameters"] = {"retry_after": exc.retry_after}
                    self.reply(exc.status, body)

            do_GET = do_POST  # noqa: N815

            def reply(self, status: int, body: dict[str, object]) -> None:
                self.answer(status, "application/json", json.dumps(body).encode())

        super().__init__(Handler)
        self.api_url = f"{self.base_url}/bot"

    def fail(self, times: int, status: int = 502, description: str = "Bad Gateway") -> None:
        """Answer the next `times` sendMessage calls with HTTP `status` and `description`
        (an outage; or a refusal, e.g. 403 "Forbidden: bot was blocked by the user")."""
        with self.lock:
            self._failing.extend([(status, description)] * times)

    def throttle(self, times: int, retry_after: int) -> None:
        """Answer the next `times` sendMessage calls with 429 and `retry_after`."""
        with self.lock:
            self._throttled.extend([retry_after] * times)

    def handle(self, path: str, params: dict[str, object]) -> object:
        """One Bot API call; raises TelegramError as the real API would answer."""
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            raise TelegramError(401, "Unauthorized")
        method = path[len(prefix) :].split("?")[0]
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "ticker test", "username": "t_bot"}
        if method != "sendMessage":
            raise TelegramError(404, "Not Found")
        return self._send_message(params)

    def _send_message(self, params: dict[str, object]) -> object:
        chat_id = str(params.get("chat_id", ""))
        if chat_id not in self.chats:
            raise TelegramError(400, "Bad Request: chat not found")
        raw = str(params.get("text", ""))
        mode = params.get("parse_mode") or None
        if mode not in (None, "HTML", "MarkdownV2", "Markdown"):
            raise TelegramError(400, f"Bad Request: unsupported parse_mode {mode!r}")
        text, entities = parse_telegram_html(raw) if mode == "HTML" else (raw, [])
        if not text.strip():
            raise TelegramError(400, "Bad Request: message text is empty")
        if len(text) > TELEGRAM_LIMIT:
            raise TelegramError(400, "Bad Request: message is too long")
        with self.lock:
            now = self.clock()
            if self._failing:
                raise TelegramError(*self._failing.pop(0))
            if self._throttled:
                wait = self._throttled.pop(0)
                raise TelegramError(429, f"Too Many Requests: retry after {wait}", wait)
            if self.per_minute is not None:
                recent = [m.at for m in self.messages if m.chat_id == chat_id and m.at > now - 60]
                if len(recent) >= self.per_minute:
                    wait = max(1, math.ceil(recent[0] + 60 - now))
                    raise TelegramError(429, f"Too Many Requests: retry after {wait}", wait)
            self.messages.append(TelegramMessage(chat_id, text, raw, mode, entities, now))
            return {"message_id": len(self.messages), "chat": {"id": chat_id}, "text": text}


# --- hostile sites (tests/test_hostile.py) ------------------------------------------------

# Imported here, not at the top, so this section only appends to the file.
import struct  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Iterable, Iterator  # noqa: E402


@dataclass(frozen=True)
class Stream:
    """One answer of a StreamingSite: the status line and headers at once, then the body's
    chunks as `body` produces them, `pause` seconds apart (a drip). The body is
    close-delimited (HTTP/1.0, no Content-Length) unless the headers say otherwise.
    `delay` holds the status line back; `silent` never answers at all."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: Iterable[bytes] = ()
    pause: float = 0.0
    delay: float = 0.0
    silent: bool = False


class StreamingSite(LoopbackHTTP):
    """Answers each GET with `answer(path)`, a Stream, writing the body chunk by chunk so a
    huge or endless body is never held in memory. `sent` counts the body bytes the socket
    accepted, `paths` the paths requested; `hung_up` is set when the client closed the
    connection before the body ended. Leaving `with` ends drips and silences."""

    def __init__(self, answer: Callable[[str], Stream]) -> None:
        self.answer = answer
        self.sent = 0
        self.paths: list[str] = []
        self.hung_up = threading.Event()
        self.closing = threading.Event()
        self.lock = threading.Lock()
        site = self

        class Handler(QuietHandler):
            timeout = 10  # a client that stops reading cannot hold this thread for ever

            def do_GET(self) -> None:  # noqa: N802
                with site.lock:
                    site.paths.append(self.path)
                stream = site.answer(self.path)
                self.close_connection = True
                if stream.silent:
                    site.closing.wait()
                    return
                if stream.delay and site.closing.wait(stream.delay):
                    return
                try:
                    self.send_response(stream.status)
                    for name, value in stream.headers:
                        self.send_header(name, value)
                    self.end_headers()
                    for chunk in stream.body:
                        if stream.pause and site.closing.wait(stream.pause):
                            return
                        if site.closing.is_set():
                            return
                        self.wfile.write(chunk)
                        with site.lock:
                            site.sent += len(chunk)
                except OSError:  # broken pipe, reset, or our own timeout
                    site.hung_up.set()

        super().__init__(Handler)
        self.url = f"{self.base_url}/"
        # serve_forever notices shutdown() every poll_interval: 0.5 s by default, per test
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        super().__exit__(*exc)


MIB = 1 << 20


def repeated(chunk: bytes, total: int) -> Iterator[bytes]:
    """`total` bytes (rounded up to whole chunks) as `chunk`, again and again; total < 0:
    for ever."""
    sent = 0
    while total < 0 or sent < total:
        yield chunk
        sent += len(chunk)


def gzip_of_zeros(inflated: int, per_write: int = 64) -> Iterator[bytes]:
    """A valid gzip stream of `inflated` zero bytes (whole MiBs), made on the fly: one MiB
    of zeros is deflated once, with a full flush so it stands alone, and the block repeated,
    `per_write` blocks to a chunk. About 1 KiB a MiB: 1 GiB is 1 MiB on the wire, and only
    one MiB of zeros is ever held."""
    zeros = bytes(MIB)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # gzip header: deflate, no name
    blocks, crc = inflated // MIB, 0
    for start in range(0, blocks, per_write):
        count = min(per_write, blocks - start)
        yield block * count
        for _ in range(count):
            crc = zlib.crc32(zeros, crc)
    yield b"\x03\x00"  # an empty final block
    yield struct.pack("<II", crc, (blocks * MIB) & 0xFFFFFFFF)


def gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """`chunks` gzip-compressed on the fly (a second Content-Encoding layer)."""
    compress = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    for chunk in chunks:
        out = compress.compress(chunk)
        if out:
            yield out
    yield compress.flush()


# --- replicas on PostgreSQL (tests/test_failover.py) --------------------------------------

import contextlib  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import select  # noqa: E402


def _tcp_inodes(local_port: int, remote_port: int) -> set[str]:
    """The socket inodes of loopback TCP connections from `local_port` to `remote_port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows_file:
                rows = rows_file.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == local_port
                and int(remote.rsplit(":", 1)[1], 16) == remote_port
            ):
                inodes.add(fields[9])
    return inodes


def socket_owner(local_port: int, remote_port: int, pids: Iterable[int]) -> int | None:
    """Which of `pids` holds the loopback TCP connection from `local_port` to `remote_port`
    (the client's end, as a server sees it in its peer address): /proc/net/tcp gives the
    socket's inode, /proc/PID/fd who has it open. None if no one of them (or it is gone)."""
    inodes = _tcp_inodes(local_port, remote_port)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return pid
            except OSError:
                continue
    return None


_WIRE_TEXT = (
    "army convoy border crossing hospital school market port airport bridge village valley "
    "ridge coast harbour station tower district camp field road tunnel factory warehouse "
    "ministry council embassy court prison clinic mosque church square garden river dam "
    "railway depot stadium library bakery refinery pipeline checkpoint quarry orchard mill "
    "barracks lighthouse pier ferry terminal reservoir substation motorway junction"
)


class WireSite(LoopbackHTTP):
    """`pages` ticker pages at /w/0 ... /w/N-1 (one source each) that the test makes grow:
    `add(page)` puts a new line on top of one page, `produce(every)` adds one every `every`
    seconds round the pages, `burst()` one on every page at once. Every line is unique
    ("Wire N: eight random words"), so no two are one story. A page shows its newest
    `shown` lines, with no ETag (each poll reads it whole). `log` keeps (time, page, pid)
    per request, the pid being which of `clients` asked (socket_owner; None if none)."""

    def __init__(self, pages: int, *, shown: int = 40) -> None:
        self.lines: list[list[str]] = [
            [f"Desk {p}-{i}: baseline line {i} of page {p}" for i in range(3)] for p in range(pages)
        ]
        self.added: list[tuple[float, int, str]] = []  # (time, page, line) of every new line
        self.log: list[tuple[float, int, int | None]] = []
        self.clients: Sequence[int] = ()
        self.shown = shown
        self.lock = threading.Lock()
        self._rng = random.Random(17)
        self._count = 0
        self._stop = threading.Event()
        self._producer: threading.Thread | None = None
        site = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                prefix, _, number = self.path.partition("/w/")
                if prefix or not number.isdigit() or int(number) >= len(site.lines):
                    self.answer(404, "text/plain", b"not found")
                    return
                page = int(number)
                pid = socket_owner(self.client_address[1], site.port, site.clients)
                with site.lock:
                    site.log.append((time.time(), page, pid))
                    shown = list(reversed(site.lines[page][-site.shown :]))
                self.answer(200, "text/html; charset=utf-8", ticker_page(shown).encode("utf-8"))

        super().__init__(Handler)
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, page: int) -> str:
        return f"{self.base_url}/w/{page}"

    def add(self, page: int) -> str:
        """A new line on top of `page`; its text."""
        with self.lock:
            words = " ".join(self._rng.sample(_WIRE_TEXT.split(), 8))
            line = f"Wire {self._count}: {words}"
            self._count += 1
            self.lines[page].append(line)
            self.added.append((time.time(), page, line))
        return line

    def burst(self) -> list[str]:
        """One new line on every page at once."""
        return [self.add(page) for page in range(len(self.lines))]

    def produce(self, every: float) -> None:
        """Add a line every `every` seconds, round the pages, until `pause()` (or the end)."""
        self._stop.clear()

        def run() -> None:
            page = 0
            while not self._stop.wait(every):
                self.add(page % len(self.lines))
                page += 1

        self._producer = threading.Thread(target=run, daemon=True)
        self._producer.start()

    def pause(self) -> None:
        """Stop `produce`."""
        self._stop.set()
        if self._producer is not None:
            self._producer.join(timeout=5)

    def produced(self) -> list[str]:
        with self.lock:
            return [line for _, _, line in self.added]

    def requests(
        self, page: int | None = None, since: float = 0.0
    ) -> list[tuple[float, int, int | None]]:
        """The requests (time, page, pid) since `since`, of one page or all."""
        with self.lock:
            return [r for r in self.log if r[0] >= since and (page is None or r[1] == page)]

    def __exit__(self, *exc: object) -> None:
        self.pause()
        super().__exit__(*exc)


class DbProxy:
    """The network between one replica and its database: a TCP relay from 127.0.0.1:`port`
    to a unix socket (PostgreSQL's). `cut()` ends every connection through it and refuses
    new ones (closed as soon as accepted), as a partition looks to the replica: its
    connections drop and reconnecting fails; `heal()` lets connections through again."""

    def __init__(self, unix_socket: str) -> None:
        self.target = unix_socket
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.cut_off = False
        self.refused = 0  # connections refused while cut
        self.lock = threading.Lock()
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self.listener.settimeout(0.1)  # notices `closing` ten times a second
        while not self.closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                if self.cut_off:
                    self.refused += 1
                    _close(client)
                    continue
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                _close(client)
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        """Relay both ways until either end closes (or `cut` closes both)."""
        peers = {a: b, b: a}
        try:
            while not self.closing.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for end in ready:
                    data = end.recv(65536)
                    if not data:
                        return
                    peers[end].sendall(data)
        except (OSError, ValueError):  # closed under us by cut()
            return
        finally:
            _close(a)
            _close(b)
            with self.lock:
                if (a, b) in self.pairs:
                    self.pairs.remove((a, b))

    def cut(self) -> None:
        """End every connection now, and refuse new ones until `heal`."""
        with self.lock:
            self.cut_off = True
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def heal(self) -> None:
        with self.lock:
            self.cut_off = False

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.cut()
        self.thread.join(timeout=2)
        self.listener.close()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed, or never connected
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
