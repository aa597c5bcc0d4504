"""A real HTTP server on 127.0.0.1 for the `request` capability tests."""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


def compressed(coding: str, chunks: Iterator[bytes]) -> bytes:
    """`chunks` compressed as the content coding `coding` (`gzip`, `deflate` with its zlib
    header, or `raw-deflate` without), without holding them all at once."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw-deflate": -zlib.MAX_WBITS}[coding]
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join([*(compressor.compress(chunk) for chunk in chunks), compressor.flush()])


def zeros(megabytes: int) -> Iterator[bytes]:
    block = bytes(1 << 20)
    return (block for _ in range(megabytes))


BOMB_MB = 256
"""What the bombs below inflate to."""
BOMBS: dict[str, tuple[str, bytes]] = {}
"""path -> (Content-Encoding, body), made on first use."""


def bomb(path: str) -> tuple[str, bytes]:
    if not BOMBS:
        once = compressed("gzip", zeros(BOMB_MB))
        BOMBS.update({
            "/bomb/gzip": ("gzip", once),
            "/bomb/deflate": ("deflate", compressed("deflate", zeros(BOMB_MB))),
            "/bomb/raw-deflate": ("deflate", compressed("raw-deflate", zeros(BOMB_MB))),
            "/bomb/gzip-gzip": ("gzip, gzip", compressed("gzip", iter([once]))),
        })  # fmt: skip
    return BOMBS[path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/json":
            self._send(200, json.dumps({"hello": "world", "n": [1, 2]}).encode(), "application/json")
        elif url.path == "/text":
            self._send(200, "plain text é".encode(), "text/plain; charset=utf-8")
        elif url.path == "/echo":
            echoed = {
                "method": self.command,
                "body": body.decode(),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
            self._send(201, json.dumps(echoed).encode(), "application/json", {"X-Echo": "yes"})
        elif url.path == "/redirect":
            self._send(int(query.get("status", "302")), b"", "text/plain", {"Location": query["to"]})
        elif url.path == "/big":
            self._send(200, b"x" * int(query["n"]), "application/octet-stream")
        elif url.path == "/big-stream":
            # No Content-Length: the body ends when the connection closes.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for _ in range(int(query["n"]) // 1000):
                self.wfile.write(b"y" * 1000)
        elif url.path.startswith("/bomb/"):
            coding, payload = bomb(url.path)
            self._send(200, payload, "application/octet-stream", {"Content-Encoding": coding})
        elif url.path.startswith("/compressed/"):
            coding = url.path.removeprefix("/compressed/")
            payload = compressed(coding, iter([json.dumps({"hello": "world"}).encode()]))
            self._send(200, payload, "application/json", {"Content-Encoding": coding.removeprefix("raw-")})
        elif url.path == "/slow":
            time.sleep(float(query.get("s", "1")))
            self._send(200, b"late", "text/plain")
        elif url.path == "/drip":
            # Headers at once, then one byte at a time: no single read waits long.
            count = int(query.get("n", "40"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(count))
            self.end_headers()
            try:
                for _ in range(count):
                    self.wfile.write(b"z")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        else:
            self._send(404, b"not found", "text/plain")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _route


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (size and time caps) are expected here


@dataclass
class LocalServer:
    port: int

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LocalServer(port=server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)
