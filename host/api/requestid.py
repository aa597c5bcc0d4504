"""`X-Request-Id` on every response, and in every log line written while the request runs.

The outermost middleware: a sane incoming id (1-128 letters, digits and `-_.:`) is kept,
anything else is replaced by a fresh one; the id is set in `REQUEST_ID` (a context
variable, so log records made by the request's task and its worker threads carry it,
see `host.logformat`) and added to the response's headers, errors included."""

from __future__ import annotations

import os
import random
import re
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
REQUEST_ID: ContextVar[str | None] = ContextVar("exthost_request_id", default=None)
_SANE = re.compile(rb"[A-Za-z0-9_.:-]{1,128}")


def request_id_of(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER and _SANE.fullmatch(value):
            return str(value.decode("ascii"))
    return f"{_ids.getrandbits(128):032x}"


_ids = random.Random()
"""Fresh ids: 128 random bits (the form of a uuid4's hex) from a generator seeded from
`os.urandom`, once per process, rather than one `os.urandom` call per request (`uuid4`).
An id names a request in the logs; it guards nothing."""
os.register_at_fork(after_in_child=_ids.seed)


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        raw = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, raw)]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
