"""A local HTTP server that hook actions report to through the `request` capability."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Recorder:
    """What actions posted to `/record`; `/hold` answers only once `release` is set."""

    url: str
    received: list[Any] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} report(s), got {self.received}")
            return list(self.received)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    state: dict[str, Recorder] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rec = state["recorder"]
            if self.path == "/hold":
                rec.holding.set()
                rec.release.wait(10)
            with rec.arrived:
                rec.received.append(json.loads(body) if body else None)
                rec.arrived.notify_all()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["recorder"] = Recorder(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["recorder"]
    finally:
        state["recorder"].release.set()
        server.shutdown()
        server.server_close()
