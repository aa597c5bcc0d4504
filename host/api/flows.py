"""Directus's `/flows` REST API (admin only; `SEARCH /flows` reads with the query in the
body), the flow run log, and the webhook and manual triggers `GET|POST /flows/trigger/{id}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response

from host.api.body import read_body, read_json
from host.api.search import Params, search_body
from host.auth import accountability_of, caller_of, require_admin
from host.errors import InvalidPayload, NotFound
from host.flows.manager import FlowManager
from host.flows.service import FlowService
from host.flows.triggers.query_string import nested_query
from host.flows.triggers.webhook import WebhookCall
from host.numbers import query_integer
from host.query import Query, query_from_params
from host.redaction import guest_headers, guest_query
from host.types import Accountability, Json

router = APIRouter(prefix="/flows", tags=["flows"])
Admin = Depends(require_admin)


def manager_of(request: Request) -> FlowManager:
    manager: FlowManager = request.app.state.flows
    return manager


def service_of(request: Request) -> FlowService:
    service: FlowService = request.app.state.flow_service
    return service


def query_of(request: Request, pairs: Params | None = None) -> Query:
    """The Directus query (host.query) of the query string, or of `pairs` from a `SEARCH` body."""
    settings = request.app.state.settings
    given = request.query_params.multi_items() if pairs is None else pairs
    raw = query_from_params(given, settings.query_limit_default, settings.max_json_depth)
    return Query.from_json(raw, accountability_of(request), max_depth=settings.max_json_depth)


def batch_update(body: Json) -> tuple[list[str], Json] | list[Json]:
    """`{keys, data}` (one change to many), or `[{id, ...}, ...]` (one change each)."""
    if isinstance(body, list):
        for index, entry in enumerate(body):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise InvalidPayload(f'Invalid payload. "[{index}].id" is required in a batch update')
        return body
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise InvalidPayload('Invalid payload. "keys" is required: {"keys": [...], "data": {...}}')
    keys = body["keys"]
    if not all(isinstance(key, str) for key in keys):
        raise InvalidPayload('Invalid payload. "keys" must be a list of ids')
    if "data" not in body:
        raise InvalidPayload('Invalid payload. "data" is required: {"keys": [...], "data": {...}}')
    return keys, body["data"]


def batch_keys(body: Json) -> list[str]:
    keys = body.get("keys") if isinstance(body, dict) else body
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise InvalidPayload("Invalid payload. Send the keys to delete: [...] or {\"keys\": [...]}")
    return keys


def listing(rows: list[dict[str, Json]], meta: dict[str, int]) -> dict[str, Any]:
    return {"data": rows, **({"meta": meta} if meta else {})}


def result_response(value: Json) -> Response:
    if value is None:
        return Response(status_code=204)
    return JSONResponse(value)


# -- webhook and manual triggers (before /{id}) ---------------------------------


async def _trigger(flow_id: str, request: Request) -> Response:
    body = await read_body(request)
    call = WebhookCall(  # no credential reaches `$trigger` (host/redaction.py)
        method=request.method,
        path=f"/trigger/{flow_id}",  # Directus's: the path inside /flows
        query=nested_query(guest_query(request.scope["query_string"]).params),
        headers=guest_headers(request.headers.items()),
        body={} if body is None else body,  # Directus's body parser leaves {} when there is none
    )
    response = await manager_of(request).webhooks.handle(flow_id, call, caller_of(request))
    if not response.ran:
        return Response(status_code=204)
    return result_response(response.body)


@router.get("/trigger/{flow_id}")
async def trigger_get(flow_id: str, request: Request) -> Response:
    return await _trigger(flow_id, request)


@router.post("/trigger/{flow_id}")
async def trigger_post(flow_id: str, request: Request) -> Response:
    return await _trigger(flow_id, request)


# -- CRUD -----------------------------------------------------------------------


@router.get("", dependencies=[Admin])
async def list_flows(request: Request) -> dict[str, Any]:
    rows, meta = await service_of(request).list_flows(query_of(request))
    return listing(rows, meta)


@router.api_route("", methods=["SEARCH"], dependencies=[Admin])
async def search_flows(request: Request) -> dict[str, Any]:
    """`SEARCH /flows` with the query in the body (`{"query": {...}}`)."""
    params, _ = await search_body(request, keys_allowed=False)
    rows, meta = await service_of(request).list_flows(query_of(request, params))
    return listing(rows, meta)


@router.post("")
async def create_flows(request: Request, who: Accountability = Admin) -> dict[str, Any]:
    body = await read_json(request)
    service = service_of(request)
    many = isinstance(body, list)
    ids = await service.create_flows(body if many else [body], who, many)
    query = query_of(request)
    if many:
        return {"data": [await service.read_flow(flow_id, query) for flow_id in ids]}
    return {"data": await service.read_flow(ids[0], query)}


@router.patch("", dependencies=[Admin])
async def update_flows(request: Request) -> dict[str, Any]:
    service = service_of(request)
    parsed = batch_update(await read_json(request))
    if isinstance(parsed, tuple):
        ids = await service.update_flows(*parsed)
    else:
        ids = []
        for entry in parsed:
            ids += await service.update_flows([entry["id"]], {k: v for k, v in entry.items() if k != "id"})
    query = query_of(request)
    return {"data": [await service.read_flow(flow_id, query) for flow_id in ids]}


@router.delete("", dependencies=[Admin], status_code=204)
async def delete_flows(request: Request) -> Response:
    await service_of(request).delete_flows(batch_keys(await read_json(request)))
    return Response(status_code=204)


@router.get("/{flow_id}/runs", dependencies=[Admin])
async def flow_runs(flow_id: str, request: Request) -> dict[str, Any]:
    """The run log of a flow, newest first (`limit`, `offset`)."""
    if manager_of(request).lookup(flow_id) is None:
        raise NotFound(f'Flow "{flow_id}" not found')
    limit = query_integer(request.query_params.get("limit", "100"), "limit", minimum=-1)
    offset = query_integer(request.query_params.get("offset", "0"), "offset", minimum=0)
    return {"data": await manager_of(request).runlog.runs(flow_id, limit, offset)}


@router.get("/{flow_id}", dependencies=[Admin])
async def read_flow(flow_id: str, request: Request) -> dict[str, Any]:
    return {"data": await service_of(request).read_flow(flow_id, query_of(request))}


@router.patch("/{flow_id}", dependencies=[Admin])
async def update_flow(flow_id: str, request: Request) -> dict[str, Any]:
    service = service_of(request)
    await service.update_flows([flow_id], await read_json(request))
    return {"data": await service.read_flow(flow_id, query_of(request))}


@router.delete("/{flow_id}", dependencies=[Admin], status_code=204)
async def delete_flow(flow_id: str, request: Request) -> Response:
    await service_of(request).delete_flows([flow_id])
    return Response(status_code=204)
