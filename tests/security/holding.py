"""Test helpers of the fail-closed and starvation tests: an HTTP server that holds every
request until released (a guest call waiting in `request` for as long as a test wants),
a clock the tests move by hand, and waiting on a condition."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

T = TypeVar("T")




class FakeClock:
    """Wall-clock seconds that only move when the test says so (`create_app(clock=...)`)."""

    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class HoldingServer:
    """Answers every request with 200 `released`, but only once `release()` is called.

    `arrived` counts requests received, `held` those waiting right now."""

    def __init__(self) -> None:
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.arrived = 0
        self.held = 0
        holding = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with holding._lock:
                    holding.arrived += 1
                    holding.held += 1
                try:
                    holding._released.wait(120)
                finally:
                    with holding._lock:
                        holding.held -= 1
                body = b"released"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hold"

    def scope(self) -> dict[str, Any]:
        """The `request` scope that lets an extension call this server."""
        return {"request": {"urls": [f"http://127.0.0.1:{self._server.server_address[1]}/*"], "methods": ["GET"]}}

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> HoldingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


LOOPBACK_ALLOWED: dict[str, Any] = {"import_ip_deny_list": "192.0.2.1"}
"""Settings under which `request` may reach the holding server on 127.0.0.1 (the deny list replaced)."""
