"""Small local servers for the operations that talk to the outside: SMTP and HTTP."""

from __future__ import annotations

import json
import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message


@dataclass
class SMTPSink:
    """A minimal SMTP server (no TLS, no auth) that keeps what it receives."""

    received: list[Mail] = field(default_factory=list)
    server: socketserver.ThreadingTCPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def __enter__(self) -> SMTPSink:
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 localhost ESMTP test")
                sender, recipients = "", []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    command = line.decode().strip()
                    verb = command[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-localhost" if verb == "EHLO" else "250 localhost")
                        if verb == "EHLO":
                            self.reply("250 8BITMIME")
                    elif command.upper().startswith("MAIL FROM:"):
                        sender = command[10:].strip().strip("<>")
                        self.reply("250 OK")
                    elif command.upper().startswith("RCPT TO:"):
                        recipients.append(command[8:].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        lines = []
                        while True:
                            data = self.rfile.readline()
                            if data in (b".\r\n", b".\n", b""):
                                break
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        sink.received.append(Mail(sender, recipients, message_from_bytes(b"".join(lines))))
                        sender, recipients = "", []
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    else:
                        self.reply("502 not implemented")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@dataclass
class EchoServer:
    """An HTTP server answering every request with JSON describing it (`/status/<n>` answers n)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> EchoServer:
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else None
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                echo.requests.append(seen)
                status = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/status/") else 200
                data = json.dumps(seen).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@dataclass
class GateServer:
    """An HTTP server whose `/gate/<n>?size=K` requests wait until K of them are in, then all
    K are answered together (a barrier; a gate still short after `deadline` seconds answers 504).
    It counts how many requests were ever in at once, so a test sees concurrency without a clock."""

    deadline: float = 60.0
    entered: list[int] = field(default_factory=list)
    most_at_once: int = 0
    server: ThreadingHTTPServer | None = None
    _inside: int = 0
    _waiting: list[int] = field(default_factory=list)
    _generation: int = 0
    _lock: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _pass(self, n: int, size: int) -> bool:
        with self._lock:
            self.entered.append(n)
            self._inside += 1
            self.most_at_once = max(self.most_at_once, self._inside)
            generation = self._generation
            self._waiting.append(n)
            if len(self._waiting) >= size:
                self._waiting.clear()
                self._generation += 1
                self._lock.notify_all()
            opened = self._lock.wait_for(lambda: self._generation != generation, timeout=self.deadline)
            self._inside -= 1
            return opened

    def __enter__(self) -> GateServer:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                size = int(query.removeprefix("size=") or 1)
                opened = gate._pass(int(path.rsplit("/", 1)[-1]), size)
                data = json.dumps({"opened": opened}).encode()
                self.send_response(200 if opened else 504)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
