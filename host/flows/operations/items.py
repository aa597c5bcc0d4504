"""`item-create`, `item-read`, `item-update`, `item-delete`: through the items service,
so filter and action hooks (and event-triggered flows) fire as for any client.

`permissions`: `$trigger` (default: the run's accountability; none means the host
itself, with full access), `$full`, `$public`, or a role name. `key` is one key or
a list; without a key, `query` selects the items (read, update, delete)."""

from __future__ import annotations

from typing import Any, Literal

from host.errors import OperationFailed
from host.flows.chain import to_text
from host.flows.operations._options import as_object, require
from host.flows.operations.registry import OperationContext, OperationType
from host.items import ItemsService
from host.items.access import check_access
from host.types import Accountability, Json

Action = Literal["read", "create", "update", "delete"]


def _service(context: OperationContext) -> ItemsService:
    state = context.services.app_state
    service = getattr(state, "items", None) if state is not None else None
    if not isinstance(service, ItemsService):
        raise OperationFailed("the items service is not available")
    return service


def _who(options: dict[str, Any], context: OperationContext, collection: str, action: Action) -> Accountability | None:
    permissions = options.get("permissions") or "$trigger"
    if permissions == "$full":
        return Accountability(user=None, role="admin", admin=True)
    if permissions == "$trigger":
        who = context.accountability
    elif permissions == "$public":
        who = Accountability(user=None, role="public", admin=False)
    else:
        who = Accountability(user=None, role=str(permissions), admin=False)
    if who is not None:
        check_access(context.services.settings, who, collection, action)
    return who


def _collection(options: dict[str, Any]) -> str:
    collection = to_text(options.get("collection"))
    if not collection:
        raise OperationFailed("no collection given")
    return collection


def _keys(options: dict[str, Any]) -> list[str] | str | None:
    raw = options.get("key")
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, list):
        return [to_text(key) for key in raw]
    parsed = as_object(raw, "key") if isinstance(raw, str) and raw.strip().startswith("[") else raw
    if isinstance(parsed, list):
        return [to_text(key) for key in parsed]
    return to_text(parsed)


def _query(options: dict[str, Any]) -> dict[str, Any]:
    query = as_object(options.get("query"), "query") or {}
    if not isinstance(query, dict):
        raise OperationFailed("query must be an object")
    return query


async def _selected(
    service: ItemsService, collection: str, options: dict[str, Any], who: Accountability | None
) -> list[Json]:
    keys = _keys(options)
    if isinstance(keys, str):
        return [keys]
    if keys is not None:
        return list(keys)
    query = {**_query(options), "fields": ["id"]}
    query.setdefault("limit", -1)
    page, _total = await service.read_by_query(collection, query, who)
    return [item["id"] for item in page.items]


async def item_create(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(options, context, collection, "create")
    payload = as_object(options.get("payload"), "payload")
    service = _service(context)
    if isinstance(payload, list):
        return [item["id"] for item in await service.create_many(collection, payload, who)]
    return (await service.create_one(collection, payload if payload is not None else {}, who))["id"]


async def item_read(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(options, context, collection, "read")
    service = _service(context)
    keys = _keys(options)
    query = _query(options)
    if isinstance(keys, str):
        return await service.read_one(collection, keys, query, who)
    if keys is not None:
        return [await service.read_one(collection, key, query, who) for key in keys]
    page, _total = await service.read_by_query(collection, query, who)
    return page.items


async def item_update(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(options, context, collection, "update")
    service = _service(context)
    payload = as_object(options.get("payload"), "payload")
    keys = await _selected(service, collection, options, who)
    if not keys:
        return []
    stored = await service.update_many(collection, [to_text(k) for k in keys], payload or {}, who)
    ids = [item["id"] for item in stored]
    return ids[0] if isinstance(_keys(options), str) else ids


async def item_delete(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(options, context, collection, "delete")
    service = _service(context)
    keys = await _selected(service, collection, options, who)
    if keys:
        await service.delete_many(collection, [to_text(k) for k in keys], who)
    return keys[0] if isinstance(_keys(options), str) else keys


def _check(options: dict[str, Any]) -> None:
    require(options, "collection")


OPERATIONS = [
    OperationType("item-create", item_create, check=_check, description="create items"),
    OperationType("item-read", item_read, check=_check, description="read items"),
    OperationType("item-update", item_update, check=_check, description="update items"),
    OperationType("item-delete", item_delete, check=_check, description="delete items"),
]
