"""A loopback page server for the benchmarks, run as its own process so that its CPU time is
not counted as ticker's. `/` always answers 200; `/etag` answers 304 to a matching
If-None-Match. Served as HTML unless a Content-Type is given.

    python -m bench.pageserver PORT FILE [CONTENT-TYPE]
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ETAG = '"bench-v1"'


def serve(port: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # TCP_NODELAY, as real web servers set on kept-alive connections: without it, a
        # body under ~100 KB written after its headers waits for the client's delayed ACK
        # (40 ms on Linux, and ~2 ms more of the client's CPU per poll).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/etag" and self.headers.get("If-None-Match") == ETAG:
                self.send_response(304)
                self.send_header("ETag", ETAG)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.path == "/etag":
                self.send_header("ETag", ETAG)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]).read_bytes(), *sys.argv[3:4])
