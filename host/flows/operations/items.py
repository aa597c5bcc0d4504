"""`item-create`, `item-read`, `item-update`, `item-delete`: through the items service,
so filter and action hooks (and event-triggered flows) fire as for any client.

`permissions` (Directus's option; `$trigger` when absent) decides whose rights the
operation acts with, checked by `host.items.access` before anything is read or written:

- `$trigger`: the caller who started the run (their role under `ITEMS_PERMISSIONS`;
  the admin has every right). A run without a user (an anonymous webhook, a schedule,
  an event caused without one) has none.
- `$public`: the rights of the role `public` in `ITEMS_PERMISSIONS` (none if unlisted).
- `$full`: every right.
- a role name: that role's rights (`admin`: every right).

The value is read from the stored operation, never from the rendered options, so a
template cannot let the caller choose it (a `{{ }}` in it is refused when saved).

`key` is one key or a list; without a key, `query` selects the items (read, update,
delete), which also needs the right to read them."""

from __future__ import annotations

from typing import Any

from host.errors import Forbidden, OperationFailed
from host.flows.chain import to_text
from host.flows.models import FieldError
from host.flows.operations._options import as_object, require, templated
from host.flows.operations.registry import OperationContext, OperationType
from host.items import ItemsService
from host.items.access import ADMIN_ROLE, PUBLIC_ROLE, Action, check_access
from host.types import Accountability, Json

TRIGGER, PUBLIC, FULL = "$trigger", "$public", "$full"
SPECIAL = (TRIGGER, PUBLIC, FULL)
DEFAULT_PERMISSIONS = TRIGGER


def _service(context: OperationContext) -> ItemsService:
    state = context.services.app_state
    service = getattr(state, "items", None) if state is not None else None
    if not isinstance(service, ItemsService):
        raise OperationFailed("the items service is not available")
    return service


def permissions_of(options: dict[str, Any]) -> str:
    """The `permissions` option: `$trigger` (when absent), `$public`, `$full` or a role name."""
    value = options.get("permissions")
    if value is None or value == "":
        return DEFAULT_PERMISSIONS
    if templated(value):
        raise FieldError("options.permissions", "cannot be a template: the caller must not choose whose rights apply")
    if not isinstance(value, str) or not value.strip() or (value.startswith("$") and value not in SPECIAL):
        raise FieldError("options.permissions", f'must be "$trigger", "$public", "$full" or a role (got {value!r})')
    return value


def _acting(permissions: str, context: OperationContext) -> Accountability | None:
    if permissions == TRIGGER:
        return context.accountability
    if permissions == FULL:
        return Accountability(user=None, role=ADMIN_ROLE, admin=True)
    role = PUBLIC_ROLE if permissions == PUBLIC else permissions
    return Accountability(user=None, role=role, admin=role == ADMIN_ROLE)


def _who(context: OperationContext, collection: str, *actions: Action) -> Accountability:
    """Whose rights the operation acts with, once they are checked for every action in `actions`."""
    try:
        permissions = permissions_of(context.operation.options)
    except FieldError as exc:
        raise OperationFailed(str(exc)) from None
    who = _acting(permissions, context)
    for action in actions:
        try:
            check_access(context.services.settings, who, collection, action)
        except Forbidden as exc:
            raise Forbidden(f'{exc.message} ({context.operation.type} with permissions "{permissions}")') from None
    if who is None:  # check_access refuses a run without a user; never reached
        raise Forbidden(f'A run without a user may not touch items in "{collection}"')
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


async def _selected(service: ItemsService, collection: str, options: dict[str, Any], who: Accountability) -> list[Json]:
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
    who = _who(context, collection, "create")
    payload = as_object(options.get("payload"), "payload")
    service = _service(context)
    if isinstance(payload, list):
        return [item["id"] for item in await service.create_many(collection, payload, who)]
    return (await service.create_one(collection, payload if payload is not None else {}, who))["id"]


async def item_read(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(context, collection, "read")
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
    who = _who(context, collection, "update", *_selection(options))
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
    who = _who(context, collection, "delete", *_selection(options))
    service = _service(context)
    keys = await _selected(service, collection, options, who)
    if keys:
        await service.delete_many(collection, [to_text(k) for k in keys], who)
    return keys[0] if isinstance(_keys(options), str) else keys


def _selection(options: dict[str, Any]) -> tuple[Action, ...]:
    """Selecting by `query` (no key) reads the items first, as Directus's `updateByQuery` does."""
    return ("read",) if _keys(options) is None else ()


def _check(options: dict[str, Any]) -> None:
    require(options, "collection")
    permissions_of(options)


OPERATIONS = [
    OperationType("item-create", item_create, check=_check, description="create items"),
    OperationType("item-read", item_read, check=_check, description="read items"),
    OperationType("item-update", item_update, check=_check, description="update items"),
    OperationType("item-delete", item_delete, check=_check, description="delete items"),
]
