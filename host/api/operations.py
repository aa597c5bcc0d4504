"""Directus's `/operations` REST API (admin only; `SEARCH /operations` reads with the query
in the body), and `POST /operations/{id}` to run a flow's chain from one operation with the
request body as `$trigger` (a route of this host: Directus has none)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from host.api.body import read_json
from host.api.flows import (
    batch_keys,
    batch_update,
    listing,
    manager_of,
    query_of,
    result_response,
    service_of,
)
from host.api.search import search_body
from host.auth import require_admin
from host.types import Accountability

router = APIRouter(prefix="/operations", tags=["operations"])
Admin = Depends(require_admin)


@router.get("", dependencies=[Admin])
async def list_operations(request: Request) -> dict[str, Any]:
    rows, meta = await service_of(request).list_operations(query_of(request))
    return listing(rows, meta)


@router.api_route("", methods=["SEARCH"], dependencies=[Admin])
async def search_operations(request: Request) -> dict[str, Any]:
    """`SEARCH /operations` with the query in the body (`{"query": {...}}`)."""
    params, _ = await search_body(request, keys_allowed=False)
    rows, meta = await service_of(request).list_operations(query_of(request, params))
    return listing(rows, meta)


@router.post("")
async def create_operations(request: Request, who: Accountability = Admin) -> dict[str, Any]:
    body = await read_json(request)
    service = service_of(request)
    many = isinstance(body, list)
    ids = await service.create_operations(body if many else [body], who, many)
    query = query_of(request)
    if many:
        return {"data": [await service.read_operation(op_id, query) for op_id in ids]}
    return {"data": await service.read_operation(ids[0], query)}


@router.patch("", dependencies=[Admin])
async def update_operations(request: Request) -> dict[str, Any]:
    service = service_of(request)
    parsed = batch_update(await read_json(request))
    if isinstance(parsed, tuple):
        ids = await service.update_operations(*parsed)
    else:
        ids = []
        for entry in parsed:
            ids += await service.update_operations([entry["id"]], {k: v for k, v in entry.items() if k != "id"})
    query = query_of(request)
    return {"data": [await service.read_operation(op_id, query) for op_id in ids]}


@router.delete("", dependencies=[Admin], status_code=204)
async def delete_operations(request: Request) -> Response:
    await service_of(request).delete_operations(batch_keys(await read_json(request)))
    return Response(status_code=204)


@router.get("/{operation_id}", dependencies=[Admin])
async def read_operation(operation_id: str, request: Request) -> dict[str, Any]:
    return {"data": await service_of(request).read_operation(operation_id, query_of(request))}


@router.post("/{operation_id}")
async def trigger_operation(operation_id: str, request: Request, who: Accountability = Admin) -> Response:
    """Run the operation's flow from this operation; the body is `$trigger`; returns `$last`."""
    body = await read_json(request, required=False)
    result = await manager_of(request).run_from_operation(operation_id, body, who)
    return result_response(result.last)


@router.patch("/{operation_id}", dependencies=[Admin])
async def update_operation(operation_id: str, request: Request) -> dict[str, Any]:
    service = service_of(request)
    await service.update_operations([operation_id], await read_json(request))
    return {"data": await service.read_operation(operation_id, query_of(request))}


@router.delete("/{operation_id}", dependencies=[Admin], status_code=204)
async def delete_operation(operation_id: str, request: Request) -> Response:
    await service_of(request).delete_operations([operation_id])
    return Response(status_code=204)
