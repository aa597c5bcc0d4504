"""Serves endpoint extensions at `/<id>/<path>`: the catch-all router, included last."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from host.auth import accountability_of
from host.endpoints.http import endpoint_request, endpoint_response
from host.endpoints.routes import EndpointTable
from host.errors import RouteNotFound

router = APIRouter(tags=["endpoints"])
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def dispatch(request: Request, endpoint_id: str, rest: str) -> Response:
    table: EndpointTable = request.app.state.endpoints
    path = "/" + rest
    found = table.match(endpoint_id, request.method, path)
    if found is None:
        raise RouteNotFound(f'Route "{request.url.path}" doesn\'t exist.')
    sandbox = found.route.sandbox
    message = await endpoint_request(request, path, found.params, accountability_of(request))
    result = await sandbox.call(found.route.handler, [message])
    return endpoint_response(sandbox.name, result)


@router.api_route("/{endpoint_id}", methods=METHODS, include_in_schema=False)
async def endpoint_root(endpoint_id: str, request: Request) -> Response:
    return await dispatch(request, endpoint_id, "")


@router.api_route("/{endpoint_id}/{rest:path}", methods=METHODS, include_in_schema=False)
async def endpoint_path(endpoint_id: str, rest: str, request: Request) -> Response:
    return await dispatch(request, endpoint_id, rest)
