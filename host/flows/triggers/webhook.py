"""Webhook and manual triggers: `GET|POST /flows/trigger/{id}`.

- webhook: the request method must be the flow's `method` (default GET);
  `$trigger` is `{path, query, body, method, headers}`; the response is the
  flow's `return` (`$last` by default, `$all`, or an operation key); `async`
  queues the run in the durable job queue and answers at once (204; 503
  `QUEUE_FULL` when the queue is full, nothing queued); a GET result is cached
  for `FLOWS_WEBHOOK_CACHE_TTL` seconds unless the flow sets `cache: false` (in this
  process, or in Redis for every process when `REDIS` is set: `webhook_cache`).
- manual: POST only, authenticated; the body names a `collection` of the flow's
  `collections`, the selected `keys` (unless `requireSelection` is false) and,
  with `requireConfirmation`, the confirmation `fields` the flow requires. The
  caller must be able to read that collection and the keys must exist
  (`host.flows.triggers.manual`).
- A request sent by a flow's `request` operation carries `X-Exthost-Flow-Depth`: the run
  it starts here counts the runs nested around that request (`host.flows.guard`), so a
  loop webhook -> request -> webhook stops at `FLOWS_RECURSION_LIMIT`, across hosts too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from host.capabilities.request import FLOW_DEPTH_HEADER
from host.errors import Forbidden, InvalidPayload, NotFound, Unauthorized
from host.flows import guard
from host.flows.models import FlowTree, Trigger
from host.flows.runner import RunResult
from host.flows.triggers.webhook_cache import MemoryCache, WebhookCache
from host.types import Accountability, Json

Run = Callable[[FlowTree, Json, Accountability | None], Awaitable[RunResult]]
Lookup = Callable[[str], FlowTree | None]
Authorize = Callable[[dict[str, Any], Json, Accountability], Awaitable[None]]


class Background(Protocol):
    """Queues a run nobody waits for (`FlowManager.queue_run`); raises `QueueFull`."""

    async def __call__(self, tree: FlowTree, trigger: Json, who: Accountability | None, *, via: str) -> object: ...


log = logging.getLogger("exthost.flows")


@dataclass(frozen=True)
class WebhookCall:
    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    body: Json

    def trigger(self) -> dict[str, Json]:
        return {
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "method": self.method,
            "headers": self.headers,
        }


@dataclass(frozen=True)
class WebhookResponse:
    ran: bool
    """False when the flow runs in the background (`async`): there is no body."""
    body: Json = None


def check_manual(options: dict[str, Any], body: Json) -> None:
    if not isinstance(body, dict):
        raise InvalidPayload('A manual flow is triggered with {"collection": ..., "keys": [...]}')
    collections = options.get("collections") or []
    collection = body.get("collection")
    if not collection:
        raise InvalidPayload('"collection" is required to trigger a manual flow')
    if not isinstance(collection, str):
        raise InvalidPayload('"collection" must be the name of a collection')
    if not collections:
        raise Forbidden('This manual flow has no "collections" in its options: it runs on none until it has some')
    if collection not in collections:
        raise Forbidden(f'"collection": this flow runs on {", ".join(collections)}, not "{collection[:80]}"')
    keys = body.get("keys")
    if keys is not None and not isinstance(keys, list):
        raise InvalidPayload('"keys" must be a list of item keys')
    if options.get("requireSelection", True) and not keys:
        raise InvalidPayload('"keys": select at least one item to run this flow on')
    if options.get("requireConfirmation"):
        for spec in options.get("fields") or []:
            name = spec.get("field")
            required = bool((spec.get("meta") or {}).get("required"))
            if required and body.get(name) in (None, "", []):
                raise InvalidPayload(f'"{name}": this flow asks for it before it runs')


class Webhooks:
    def __init__(
        self,
        run: Run,
        lookup: Lookup,
        cache_ttl: int,
        authorize: Authorize,
        background: Background,
        cache: WebhookCache | None = None,
        generation: Callable[[], int] = lambda: 0,
    ) -> None:
        """`generation()`: the `flows` revision the flows `lookup` finds were loaded at (a key of the cache)."""
        self.run = run
        self.background = background
        self.lookup = lookup
        self.authorize = authorize
        self.cache_ttl = cache_ttl
        self.cache: WebhookCache = cache or MemoryCache()
        self.generation = generation

    def forget(self) -> None:
        """The flows changed: drop every cached result."""
        self.cache.forget()

    async def handle(self, flow_id: str, call: WebhookCall, who: Accountability | None) -> WebhookResponse:
        tree = self.lookup(flow_id)
        if tree is None or not tree.flow.active or tree.flow.trigger not in (Trigger.webhook, Trigger.manual):
            raise NotFound(f'No active webhook or manual flow with id "{flow_id}"')
        flow = tree.flow
        options = flow.options
        if flow.trigger is Trigger.manual:
            if call.method != "POST":
                raise NotFound(f'Manual flow "{flow_id}" is triggered with POST')
            if who is None or who.user is None:  # anonymous: Directus's public accountability
                raise Unauthorized("Authentication required to trigger a manual flow")
            check_manual(options, call.body)
            await self.authorize(options, call.body, who)
            spec: Json = "$last"
        else:
            method = str(options.get("method") or "GET").upper()
            if call.method != method:
                raise NotFound(f'Webhook flow "{flow_id}" is triggered with {method}, not {call.method}')
            spec = options.get("return") or "$last"
        nested = guard.depth_of(call.headers.get(FLOW_DEPTH_HEADER.lower()))
        if options.get("async"):
            with guard.arrived(nested):  # the queued job carries the depth (host.queue.carry)
                await self.background(tree, call.trigger(), who, via=flow.trigger.value)
            return WebhookResponse(ran=False)
        key = self._cache_key(tree, call, who)
        if key is not None:
            found, cached = await self.cache.get(key)
            if found:
                return WebhookResponse(ran=True, body=cached)
        with guard.arrived(nested):
            result = await self.run(tree, call.trigger(), who)
        body = result.returned(spec)
        if key is not None:
            await self.cache.put(key, body, self.cache_ttl)
        return WebhookResponse(ran=True, body=body)

    def _cache_key(self, tree: FlowTree, call: WebhookCall, who: Accountability | None) -> str | None:
        if self.cache_ttl <= 0 or call.method != "GET" or tree.flow.trigger is not Trigger.webhook:
            return None
        if tree.flow.options.get("cache") is False:
            return None
        user = who.user if who else ""
        return f"{self.generation()}|{tree.flow.id}|{user}|{json.dumps(call.query, sort_keys=True)}"

    async def stop(self) -> None:
        await self.cache.close()
