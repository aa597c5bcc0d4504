"""Who may run a manual flow (`POST /flows/trigger/{id}`), decided as Directus decides it.

After the body's shape is checked (`check_manual`): the caller must have the right to
read the collection they run the flow on (`ITEMS_PERMISSIONS`, through the one check in
`host.items.access`; the admin may read everything), and every key they selected must
be an item of that collection. Refused with 403 `FORBIDDEN`, as Directus refuses, with
a message naming the collection or the keys; the flow does not run.
"""

from __future__ import annotations

from typing import Any

from host.errors import Forbidden, InvalidPayload
from host.flows.services import FlowServices
from host.items import ItemsService
from host.items.access import check_access
from host.items.service import key_of
from host.types import Accountability, Json

NAMED_KEYS = 10
"""Missing keys named in a refusal (the rest are counted)."""


def _named(keys: list[str]) -> str:
    shown = ", ".join(f'"{key}"' for key in keys[:NAMED_KEYS])
    return shown + (f" and {len(keys) - NAMED_KEYS} more" if len(keys) > NAMED_KEYS else "")


class ManualAccess:
    """`await access(options, body, who)` raises unless `who` may run the flow on the body's selection."""

    def __init__(self, services: FlowServices) -> None:
        self.services = services

    def _items(self) -> ItemsService:
        service = getattr(self.services.app_state, "items", None)
        if not isinstance(service, ItemsService):
            raise Forbidden("Manual flows cannot be checked: the items service is not available")
        return service

    async def __call__(self, options: dict[str, Any], body: Json, who: Accountability) -> None:
        collection = str(body["collection"])
        try:
            check_access(self.services.settings, who, collection, "read")
        except Forbidden as exc:
            raise Forbidden(f"{exc.message} A manual flow runs only for a user who may read its collection.") from None
        raw = body.get("keys") or []
        try:
            keys = [key_of(key) for key in raw]
        except InvalidPayload:
            raise InvalidPayload('"keys": each key must be a string or an integer (1 to 255 characters)') from None
        if not keys:
            return
        missing = await self._items().missing(collection, keys)
        if missing:
            raise Forbidden(
                f'"keys": no item {_named(missing)} in "{collection}": a manual flow runs only on existing items.'
            )
