"""Serves endpoint extensions at `/<id>/<path>`.

A small ASGI middleware in front of FastAPI's router: when the first path
segment is a loaded endpoint's id (one dict lookup) the request is dispatched
straight to the extension; anything else goes on to the host's routes. This
keeps the per-request cost of extension routes low (no walk over the host's
routes, no dependency solving). Errors are rendered by `host.api.errors`, the
same handler FastAPI uses.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from host.api.errors import render_error
from host.api.methods import allowed_methods
from host.auth import accountability_of
from host.endpoints.http import endpoint_args, endpoint_response
from host.endpoints.routes import EndpointTable
from host.errors import MethodNotAllowed, RouteNotFound


async def dispatch(request: Request, table: EndpointTable, endpoint_id: str, rest: str) -> Response:
    path = "/" + rest
    found = table.match(endpoint_id, request.method, path)
    if found is None:
        allow = allowed_methods(request.app, request.url.path)
        if allow:
            raise MethodNotAllowed(
                f'Method {request.method} is not allowed on "{request.url.path}": use {", ".join(allow)}.', allow
            )
        raise RouteNotFound(f'Route "{request.url.path}" doesn\'t exist.')
    sandbox = found.route.sandbox
    args = await endpoint_args(request, path, found.params, accountability_of(request))
    text = await sandbox.call_json(found.route.handler, args)
    return endpoint_response(sandbox.name, sandbox.decode_result(text))


class EndpointMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":  # any method: one the extension has no route for is its 405
            table: EndpointTable | None = getattr(scope["app"].state, "endpoints", None)
            endpoint_id, _, rest = scope["path"][1:].partition("/")
            if table is not None and table.has(endpoint_id):
                request = Request(scope, receive)
                try:
                    response = await dispatch(request, table, endpoint_id, rest)
                except Exception as exc:
                    response = await render_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
