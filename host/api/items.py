"""`/items/{collection}` and `/items/{collection}/{id}`: Directus's items REST API.

Every route needs a token (401 without one) whose role may do the action on the
collection (403 otherwise, see `host.items.access`). Bodies are JSON; answers are
`{"data": ...}` envelopes (`DELETE` answers 204). `POST` takes an object or an array
of objects. `PATCH /items/{collection}` takes `{"keys": [...], "data": {...}}`,
`{"query": {...}, "data": {...}}` or `[{"id": ..., ...}, ...]` (a change of its own for
each item); `DELETE /items/{collection}` takes `[...keys]`, `{"keys": [...]}` or
`{"query": {...}}`. `SEARCH /items/{collection}` reads with the query in its body
(`host.api.search`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from host.api.body import read_json
from host.api.search import Params, query_params, search_body
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


def _query(request: Request, params: Params | None = None) -> dict[str, Any]:
    """The query the query string (or `params`, from a JSON body) asks for."""
    settings = _settings(request)
    pairs = request.query_params.multi_items() if params is None else params
    return query_from_params(pairs, settings.query_limit_default, settings.max_json_depth)


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


async def _keys_by_query(request: Request, collection: str, body: dict[str, Any], who: Accountability) -> list[str]:
    """The keys of the items the body's `query` selects (Directus's `getKeysByQuery`)."""
    query = _query(request, query_params(body["query"]))
    return await _service(request).keys_by_query(collection, query, who)


@router.get("/{collection}")
async def read_items(collection: str, request: Request) -> JSONResponse:
    return await _read_items(collection, request, _query(request))


@router.api_route("/{collection}", methods=["SEARCH"])
async def search_items(collection: str, request: Request) -> JSONResponse:
    """`SEARCH`: the query in the body (`{"query": {...}}`), and/or `{"keys": [...]}`."""
    _who(request, collection, "read")
    params, keys = await search_body(request, keys_allowed=True)
    query = _query(request, params)
    if keys is not None:
        wanted = {"id": {"_in": [key_of(key) for key in keys]}}
        query["filter"] = {"_and": [wanted, query["filter"]]} if query.get("filter") else wanted
    return await _read_items(collection, request, query)


async def _read_items(collection: str, request: Request, query: dict[str, Any]) -> JSONResponse:
    who = _who(request, collection, "read")
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
    fields = _fields(request)
    service = _service(request)
    if isinstance(body, list):
        updated = await service.update_batch(collection, _changes(body), who)
        return _data([project(item, fields) for item in updated])
    if not isinstance(body, dict) or "data" not in body or ("keys" in body) == ("query" in body):
        raise InvalidPayload(
            'Invalid payload. Expected {"keys": [...], "data": {...}}, {"query": {...}, "data": {...}} '
            'or [{"id": ..., ...}, ...]'
        )
    keys = _keys(body) if "keys" in body else await _keys_by_query(request, collection, body, who)
    updated = await service.update_many(collection, keys, body["data"], who) if keys else []
    return _data([project(item, fields) for item in updated])


def _changes(body: list[Json]) -> list[tuple[str, Json]]:
    """`[{"id": ..., ...}, ...]`: each item's key and its change."""
    changes = []
    for index, entry in enumerate(body):
        if not isinstance(entry, dict) or entry.get("id") is None:
            raise InvalidPayload(f'Invalid payload. "[{index}].id" is required: each item of a batch update names it')
        changes.append((key_of(entry["id"]), {k: v for k, v in entry.items() if k != "id"}))
    return changes


@router.patch("/{collection}/{key}")
async def update_item(collection: str, key: str, request: Request) -> JSONResponse:
    who = _who(request, collection, "update")
    body = await read_json(request)
    fields = _fields(request)
    return _data(project(await _service(request).update_one(collection, key_of(key), body, who), fields))


@router.delete("/{collection}", status_code=204)
async def delete_items(collection: str, request: Request) -> Response:
    who = _who(request, collection, "delete")
    body = await read_json(request)
    if isinstance(body, dict) and "query" in body:
        if "keys" in body:
            raise InvalidPayload('Invalid payload. Send "keys" or "query", not both')
        keys = await _keys_by_query(request, collection, body, who)
    else:
        keys = _keys(body)
    if keys:
        await _service(request).delete_many(collection, keys, who)
    return Response(status_code=204)


@router.delete("/{collection}/{key}", status_code=204)
async def delete_item(collection: str, key: str, request: Request) -> Response:
    who = _who(request, collection, "delete")
    await _service(request).delete_one(collection, key_of(key), who)
    return Response(status_code=204)
