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

from collections.abc import Sequence
from typing import Any

from host.errors import Forbidden, OperationFailed
from host.events import Emitter, EventContext
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
        return Accountability.of_role(None, ADMIN_ROLE, admin=True)
    role = PUBLIC_ROLE if permissions == PUBLIC else permissions
    return Accountability.of_role(None, role, admin=role == ADMIN_ROLE)


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


def _keys(options: dict[str, Any]) -> list[str] | None:
    """The `key` option as Directus's `toArray` reads it: a list, a string split on commas
    (a string that is a JSON array is read as one), one key; None when absent or empty."""
    raw = options.get("key")
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str) and raw.strip().startswith("["):
        raw = as_object(raw, "key")
    if isinstance(raw, list):
        return [to_text(key) for key in raw] or None
    if isinstance(raw, str):
        return raw.split(",")
    return [to_text(raw)]


def _query(options: dict[str, Any]) -> dict[str, Any]:
    query = as_object(options.get("query"), "query") or {}
    if not isinstance(query, dict):
        raise OperationFailed("query must be an object")
    return query


def _by_keys(query: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """`query` narrowed to `keys` (Directus's `readMany`: the keys that are items, no error)."""
    by_key: Json = {"id": {"_in": keys}}
    rules = query.get("filter")
    return {**query, "filter": {"_and": [by_key, rules]} if rules else by_key, "limit": -1}


class _NoEvents(Emitter):
    """Directus's `emitEvents: false`, the default of `item-*` operations: no filter or
    action event fires (no hook, no event-triggered flow)."""

    async def emit_filter(
        self, events: Sequence[str], payload: Json, meta: dict[str, Any], context: EventContext
    ) -> Json:
        return payload

    async def emit_actions(
        self, events: Sequence[str], metas: Sequence[dict[str, Any]], context: EventContext
    ) -> None:
        return None


def _service(options: dict[str, Any], context: OperationContext) -> ItemsService:
    state = context.services.app_state
    service = getattr(state, "items", None) if state is not None else None
    if not isinstance(service, ItemsService):
        raise OperationFailed("the items service is not available")
    if options.get("emitEvents"):
        return service
    return ItemsService(service.db, _NoEvents(service.emitter.queue))


async def _selected(service: ItemsService, collection: str, options: dict[str, Any], who: Accountability) -> list[Json]:
    """The keys of the items the operation acts on: its `key`, or what its `query` selects."""
    keys = _keys(options)
    if keys is not None:
        return list(keys)
    query = {**_query(options), "fields": ["id"]}
    query.setdefault("limit", -1)
    page, _total = await service.read_by_query(collection, query, who)
    return [item["id"] for item in page.items]


def _one_or_many(options: dict[str, Any], keys: list[Json]) -> Json:
    """Directus's result: the key when the `key` option names one item, else the list of keys."""
    given = _keys(options)
    return keys[0] if given is not None and len(given) == 1 and keys else keys


async def item_create(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(context, collection, "create")
    payload = as_object(options.get("payload"), "payload")
    if payload is None or payload == "":
        return None  # Directus creates nothing without a payload
    service = _service(options, context)
    items = payload if isinstance(payload, list) else [payload]
    return [item["id"] for item in await service.create_many(collection, items, who)]


async def item_read(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(context, collection, "read")
    service = _service(options, context)
    keys = _keys(options)
    query = _query(options)
    if keys is not None and len(keys) == 1:
        return await service.read_one(collection, keys[0], query, who)
    page, _total = await service.read_by_query(collection, query if keys is None else _by_keys(query, keys), who)
    return page.items


async def item_update(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    payload = as_object(options.get("payload"), "payload")
    batch = isinstance(payload, list)
    who = _who(context, collection, "update", *_selection(options, batch))
    if payload is None or payload == "":
        return None  # Directus changes nothing without a payload
    service = _service(options, context)
    if batch:  # Directus's updateBatch: each entry names its item by `id`
        ids: list[Json] = []
        for entry in payload:
            if not isinstance(entry, dict) or entry.get("id") is None:
                raise OperationFailed('payload: each entry of a batch update needs its "id"')
            changes = {name: value for name, value in entry.items() if name != "id"}
            ids += [item["id"] for item in await service.update_many(collection, [to_text(entry["id"])], changes, who)]
        return ids
    keys = await _selected(service, collection, options, who)
    if not keys:
        return []
    stored = await service.update_many(collection, [to_text(k) for k in keys], payload, who)
    return _one_or_many(options, [item["id"] for item in stored])


async def item_delete(options: dict[str, Any], context: OperationContext) -> Json:
    collection = _collection(options)
    who = _who(context, collection, "delete", *_selection(options))
    service = _service(options, context)
    keys = await _selected(service, collection, options, who)
    if keys:
        await service.delete_many(collection, [to_text(k) for k in keys], who)
    return _one_or_many(options, keys)


def _selection(options: dict[str, Any], batch: bool = False) -> tuple[Action, ...]:
    """Selecting by `query` (no key) reads the items first, as Directus's `updateByQuery` does."""
    return ("read",) if _keys(options) is None and not batch else ()


def _check(options: dict[str, Any]) -> None:
    require(options, "collection")
    permissions_of(options)


OPERATIONS = [
    OperationType("item-create", item_create, check=_check, description="create items"),
    OperationType("item-read", item_read, check=_check, description="read items"),
    OperationType("item-update", item_update, check=_check, description="update items"),
    OperationType("item-delete", item_delete, check=_check, description="delete items"),
]
