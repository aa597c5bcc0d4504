"""`HEAD` and `OPTIONS` on every route, and the `Allow` of every 405.

- `allowed_methods(app, path)`: the methods some route takes at `path`: the host's routes
  (FastAPI's) and, under an endpoint's id, the extension's registered routes.
- `MethodsMiddleware` (in front of the endpoint dispatcher and the router): `HEAD` is served
  as `GET` without the body (headers, `Content-Length` included, as `GET` would give them);
  `OPTIONS` is answered `204` with `Allow` where some route matches (a CORS preflight is
  answered before, by the CORS middleware, when `CORS_ENABLED`).
- A 405 (the router's, or the endpoint dispatcher's) carries `Allow`, rendered by
  `host.api.errors`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some route takes at `path` (with HEAD beside GET, OPTIONS beside any),
    in a stable order; empty when no route matches the path."""
    found: set[str] = set()
    table = getattr(app.state, "endpoints", None)
    endpoint_id, _, rest = path[1:].partition("/")
    if table is not None and table.has(endpoint_id):
        found = table.methods(endpoint_id, "/" + rest)
    else:
        found = _route_methods(app, path)
    if not found:
        return []
    if "GET" in found:
        found.add("HEAD")
    found.add("OPTIONS")
    return sorted(found, key=lambda method: (ORDER.index(method) if method in ORDER else len(ORDER), method))


def _route_methods(app: Any, path: str) -> set[str]:
    found: set[str] = set()
    for regex, methods in _host_routes(app):
        if regex.match(path):
            found |= methods
    return found


def _host_routes(app: Any) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(full path regex, methods) of every host route, routers included: built once per app."""
    index: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(app.state, "method_index", None)
    if index is None:
        index = []
        for context in iter_route_contexts(list(app.routes)):
            if isinstance(context.path, str):
                regex, _, _ = compile_path(context.path)
                index.append((regex, frozenset(context.methods or {"GET"})))
        app.state.method_index = index
    return index


class MethodsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            allow = allowed_methods(scope["app"], scope["path"])
            if allow:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", ", ".join(allow).encode())]})
                await send({"type": "http.response.body", "body": b""})
                return
            await self.app(scope, receive, send)
            return
        await self.app({**scope, "method": "GET"}, receive, _without_body(send))


def _without_body(send: Send) -> Send:
    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b""}
        await send(message)

    return head_send
