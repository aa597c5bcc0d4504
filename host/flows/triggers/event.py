"""Event triggers: a flow listens to `items.create|update|delete` of its collections
through the emitter of the hooks, as a blocking filter or a background action.

- filter: `$trigger` is `{payload, event, collection}` (and `keys` for an update), as in
  Directus; a run that ends on a reject path cancels the write (the error is the flow's
  `$last`); with a `return` option the returned value replaces the payload.
- action: `$trigger` is the event's meta (`event`, `payload`, `key`/`keys`, `collection`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from host.events import ActionHandler, Emitter, EventContext, FilterHandler
from host.flows.models import FlowTree, Trigger
from host.flows.runner import RunResult, rejection
from host.types import UNDEFINED, Accountability, Json, Undefined

Run = Callable[[FlowTree, Json, Accountability | None], Awaitable[RunResult]]
Lookup = Callable[[str], FlowTree | None]


HOST_META = frozenset({"accountability", "job"})
"""What the host adds to an event's meta for hooks (the caller; the queued job of an
action), which Directus's `$trigger` does not hold: `$accountability` is the caller and
the run log names the job."""


def directus_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """An event's meta as Directus gives it to a flow: `event`, `collection`, `key`/`keys`, `payload`."""
    return {name: value for name, value in meta.items() if name not in HOST_META}


def events_of(options: dict[str, Any]) -> list[str]:
    scopes = options.get("scope") or []
    collections = options.get("collections") or []
    scopes = [scopes] if isinstance(scopes, str) else scopes
    collections = [collections] if isinstance(collections, str) else collections
    return [f"{collection}.{scope}" for scope in scopes for collection in collections]


class EventTriggers:
    def __init__(self, emitter: Emitter, run: Run, lookup: Lookup) -> None:
        self.emitter = emitter
        self.run = run
        self.lookup = lookup
        self._owners: list[str] = []

    def install(self, trees: Iterable[FlowTree]) -> None:
        """Replace the listeners of the previous set of flows with those of `trees`."""
        self.uninstall()
        for tree in trees:
            flow = tree.flow
            if flow.trigger is not Trigger.event or not flow.active:
                continue
            owner = f"flow:{flow.id}"
            self._owners.append(owner)
            for event in events_of(flow.options):
                if flow.options.get("type") == "filter":
                    self.emitter.on_filter(event, self._filter(flow.id), owner=owner)
                else:
                    self.emitter.on_action(event, self._action(flow.id), owner=owner)

    def uninstall(self) -> None:
        for owner in self._owners:
            self.emitter.remove_owner(owner)
        self._owners = []

    def _filter(self, flow_id: str) -> FilterHandler:
        async def handle(payload: Json, meta: dict[str, Any], context: EventContext) -> Json | Undefined:
            tree = self.lookup(flow_id)
            if tree is None or not tree.flow.active:
                return UNDEFINED
            result = await self.run(tree, {"payload": payload, **directus_meta(meta)}, context.accountability)
            if result.status == "reject":
                raise rejection(result.last, tree.flow.name)
            spec = tree.flow.options.get("return")
            value = result.returned(spec) if spec else None
            return UNDEFINED if value is None else value

        return handle

    def _action(self, flow_id: str) -> ActionHandler:
        async def handle(meta: dict[str, Any], context: EventContext) -> None:
            tree = self.lookup(flow_id)
            if tree is not None and tree.flow.active:
                await self.run(tree, directus_meta(meta), context.accountability)

        return handle
