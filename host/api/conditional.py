"""`ETag` and conditional `GET`: a `GET` answered `200` in one piece gets a weak `ETag` (a
hash of its body); a request whose `If-None-Match` names it is answered `304 Not Modified`
without the body. Streamed answers, answers marked `Cache-Control: no-store` and answers
that set their own `ETag` pass untouched. Weak, since `GZipMiddleware` (outside) may
change the bytes on the wire, not the representation."""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_KEPT_ON_304 = (b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary", b"x-request-id")


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """`If-None-Match` (weak comparison, `*` included) names `etag`."""
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


class ConditionalGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        held: Message | None = None
        passing = False

        async def conditional_send(message: Message) -> None:
            nonlocal held, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                if message["status"] != 200 or "etag" in headers or "no-store" in headers.get("cache-control", ""):
                    passing = True
                    await send(message)
                else:
                    held = message
                return
            if message["type"] != "http.response.body" or held is None:
                await send(message)
                return
            start, held = held, None
            passing = True
            if message.get("more_body", False):  # streamed: sent as it comes
                await send(start)
                await send(message)
                return
            etag = etag_of(message.get("body", b""))
            if if_none_match is not None and matches(if_none_match, etag):
                kept = [(k, v) for k, v in start.get("headers", []) if k.lower() in _KEPT_ON_304]
                await send({"type": "http.response.start", "status": 304, "headers": [*kept, (b"etag", etag.encode())]})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": [*start.get("headers", []), (b"etag", etag.encode())]})
            await send(message)

        await self.app(scope, receive, conditional_send)
