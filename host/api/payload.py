"""`MAX_PAYLOAD_SIZE` on every route, enforced before anything is buffered.

A pure ASGI middleware, the outermost of the host's own, so it stands in front of
the endpoint dispatcher, the host's routes and the 404 of an unknown route alike:

- a `Content-Length` above the limit is answered 413 `CONTENT_TOO_LARGE` at once:
  the body is never read, and the connection is closed after the answer;
- a `Content-Length` that is not a number (or several that differ) is a 400;
- a body without a length (`Transfer-Encoding: chunked`) is counted as it streams
  in: the `receive` the application reads from raises `ContentTooLarge` with the
  first chunk past the limit, and the one error handler renders it as the same 413;
  an answer given before a chunked body ended (that 413, a 401, a 404) closes the
  connection, so the rest is never read;
- a URL path holding a NUL character (`%00`) is a 400: no database key can hold it.

The answers are rendered by `host.api.errors`, like every other error.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from host.api.errors import render_error
from host.errors import ContentTooLarge, ExthostError, InvalidPayload

_CLOSE = (b"connection", b"close")


def too_large(limit: int) -> ContentTooLarge:
    return ContentTooLarge(f"Uploaded content is too large: the request body is larger than MAX_PAYLOAD_SIZE "
                           f"({limit} bytes).")


class PayloadLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        lengths: set[bytes] = set()
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                lengths.add(value.strip())
            elif name == b"transfer-encoding":
                chunked = True
        if "\x00" in scope["path"]:
            await _refuse(scope, receive, send, InvalidPayload("The URL path holds a NUL character (%00)."))
            return
        if lengths:
            length = lengths.pop()
            if lengths or not length.isdigit():
                await _refuse(scope, receive, send, InvalidPayload("Invalid Content-Length header."))
                return
            if int(length) > limit:
                await _refuse(scope, receive, send, too_large(limit))
                return
            if not chunked:  # the server delivers no more than Content-Length
                await self.app(scope, receive, send)
                return
        elif not chunked:  # neither length nor chunks: no body (RFC 9112 6.3), nothing to count
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, limit, chunked)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int, chunked: bool) -> None:
        received = 0
        exceeded = complete = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded, complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise too_large(limit)
                complete = not message.get("more_body", False)
            return message

        async def closing_send(message: Message) -> None:
            # a chunked body the answer did not wait for (refused, or never read): end the connection,
            # rather than read and drop whatever the client goes on sending
            if message["type"] == "http.response.start" and (exceeded or (chunked and not complete)):
                message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        await self.app(scope, counting_receive, closing_send)


async def _refuse(scope: Scope, receive: Receive, send: Send, error: ExthostError) -> None:
    response = await render_error(Request(scope, receive), error)
    response.headers["connection"] = "close"
    await response(scope, receive, send)
