"""`/items/{collection}` and `/items/{collection}/{id}`: Directus's items REST API.

Every route needs a token (401 without one) whose role may do the action on the
collection (403 otherwise, see `host.items.access`). Bodies are JSON; answers are
`{"data": ...}` envelopes (`DELETE` answers 204). `POST` takes an object or an array
of objects; `PATCH /items/{collection}` and `DELETE /items/{collection}` take
`{"keys": [...], "data": {...}}` and `[...keys]` (or `{"keys": [...]}`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from host.api.body import read_json
from host.auth import require_user
from host.config import Settings
from host.errors import InvalidPayload
from host.items import ItemsService
from host.items.access import Action, check_access
from host.items.service import key_of
from host.query import Query, query_from_params
from host.query.project import project
from host.types import Accountability, Json

router = APIRouter(prefix="/items", tags=["items"])


def _who(request: Request, collection: str, action: Action) -> Accountability:
    who = require_user(request)
    settings: Settings = request.app.state.settings
    check_access(settings, who, collection, action)
    return who


def _service(request: Request) -> ItemsService:
    service: ItemsService = request.app.state.items
    return service


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _query(request: Request) -> dict[str, Any]:
    settings = _settings(request)
    return query_from_params(request.query_params.multi_items(), settings.query_limit_default, settings.max_json_depth)


def _fields(request: Request) -> list[str]:
    """The `fields` of a write's answer (all unless the query string asks for fewer)."""
    query = _query(request)
    fields = Query.from_json({"fields": query.get("fields", ["*"])}, max_depth=_settings(request).max_json_depth).fields
    return list(fields)


def _keys(value: Json) -> list[str]:
    if isinstance(value, dict):
        value = value.get("keys")
    if not isinstance(value, list) or not value:
        raise InvalidPayload('Expected a non-empty array of keys, or {"keys": [...]}')
    return [key_of(key) for key in value]


def _data(value: Json) -> JSONResponse:
    return JSONResponse({"data": value})


@router.get("/{collection}")
async def read_items(collection: str, request: Request) -> JSONResponse:
    who = _who(request, collection, "read")
    query = _query(request)
    page, total = await _service(request).read_by_query(collection, query, who)
    body: dict[str, Any] = {"data": page.items}
    wanted = Query.from_json({"meta": query.get("meta")}).meta
    if wanted:
        counts = {"total_count": total, "filter_count": page.filter_count}
        body["meta"] = {name: counts[name] for name in wanted}
    return JSONResponse(body)


@router.get("/{collection}/{key}")
async def read_item(collection: str, key: str, request: Request) -> JSONResponse:
    who = _who(request, collection, "read")
    return _data(await _service(request).read_one(collection, key_of(key), _query(request), who))


@router.post("/{collection}")
async def create_items(collection: str, request: Request) -> JSONResponse:
    who = _who(request, collection, "create")
    body = await read_json(request)
    fields = _fields(request)
    service = _service(request)
    if isinstance(body, list):
        created = await service.create_many(collection, body, who)
        return _data([project(item, fields) for item in created])
    if not isinstance(body, dict):
        raise InvalidPayload("Expected a JSON object, or an array of objects")
    return _data(project(await service.create_one(collection, body, who), fields))


@router.patch("/{collection}")
async def update_items(collection: str, request: Request) -> JSONResponse:
    who = _who(request, collection, "update")
    body = await read_json(request)
    if not isinstance(body, dict) or "data" not in body:
        raise InvalidPayload('Expected {"keys": [...], "data": {...}}')
    fields = _fields(request)
    updated = await _service(request).update_many(collection, _keys(body), body["data"], who)
    return _data([project(item, fields) for item in updated])


@router.patch("/{collection}/{key}")
async def update_item(collection: str, key: str, request: Request) -> JSONResponse:
    who = _who(request, collection, "update")
    body = await read_json(request)
    fields = _fields(request)
    return _data(project(await _service(request).update_one(collection, key_of(key), body, who), fields))


@router.delete("/{collection}", status_code=204)
async def delete_items(collection: str, request: Request) -> Response:
    who = _who(request, collection, "delete")
    await _service(request).delete_many(collection, _keys(await read_json(request)), who)
    return Response(status_code=204)


@router.delete("/{collection}/{key}", status_code=204)
async def delete_item(collection: str, key: str, request: Request) -> Response:
    who = _who(request, collection, "delete")
    await _service(request).delete_one(collection, key_of(key), who)
    return Response(status_code=204)
