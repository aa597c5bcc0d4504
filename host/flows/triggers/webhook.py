"""Webhook and manual triggers: `GET|POST /flows/trigger/{id}`.

- webhook: the request method must be the flow's `method` (default GET);
  `$trigger` is `{path, query, body, method, headers}`; the response is the
  flow's `return` (`$last` by default, `$all`, or an operation key); `async`
  queues the run in the durable job queue and answers at once (204; 503
  `QUEUE_FULL` when the queue is full, nothing queued); a GET result is cached
  for `FLOWS_WEBHOOK_CACHE_TTL` seconds unless the flow sets `cache: false`.
- manual: POST only, authenticated; the body names a `collection` of the flow's
  `collections`, the selected `keys` (unless `requireSelection` is false) and,
  with `requireConfirmation`, the confirmation `fields` the flow requires. The
  caller must be able to read that collection and the keys must exist
  (`host.flows.triggers.manual`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from host.errors import Forbidden, InvalidPayload, NotFound, Unauthorized
from host.flows.models import FlowTree, Trigger
from host.flows.runner import RunResult
from host.types import Accountability, Json

Run = Callable[[FlowTree, Json, Accountability | None], Awaitable[RunResult]]
Lookup = Callable[[str], FlowTree | None]
Authorize = Callable[[dict[str, Any], Json, Accountability], Awaitable[None]]


class Background(Protocol):
    """Queues a run nobody waits for (`FlowManager.queue_run`); raises `QueueFull`."""

    async def __call__(self, tree: FlowTree, trigger: Json, who: Accountability | None, *, via: str) -> object: ...


MAX_CACHED = 1000

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
    def __init__(self, run: Run, lookup: Lookup, cache_ttl: int, authorize: Authorize, background: Background) -> None:
        self.run = run
        self.background = background
        self.lookup = lookup
        self.authorize = authorize
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, Json]] = {}

    def forget(self, flow_id: str | None = None) -> None:
        """Drop cached results (of one flow, or all)."""
        if flow_id is None:
            self._cache.clear()
        else:
            self._cache = {k: v for k, v in self._cache.items() if not k.startswith(flow_id + "|")}

    async def handle(self, flow_id: str, call: WebhookCall, who: Accountability | None) -> WebhookResponse:
        tree = self.lookup(flow_id)
        if tree is None or not tree.flow.active or tree.flow.trigger not in (Trigger.webhook, Trigger.manual):
            raise NotFound(f'No active webhook or manual flow with id "{flow_id}"')
        flow = tree.flow
        options = flow.options
        if flow.trigger is Trigger.manual:
            if call.method != "POST":
                raise NotFound(f'Manual flow "{flow_id}" is triggered with POST')
            if who is None:
                raise Unauthorized("Authentication required to trigger a manual flow")
            check_manual(options, call.body)
            await self.authorize(options, call.body, who)
            spec: Json = "$last"
        else:
            method = str(options.get("method") or "GET").upper()
            if call.method != method:
                raise NotFound(f'Webhook flow "{flow_id}" is triggered with {method}, not {call.method}')
            spec = options.get("return") or "$last"
        if options.get("async"):
            await self.background(tree, call.trigger(), who, via=flow.trigger.value)
            return WebhookResponse(ran=False)
        key = self._cache_key(tree, call, who)
        if key is not None:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return WebhookResponse(ran=True, body=hit[1])
        result = await self.run(tree, call.trigger(), who)
        body = result.returned(spec)
        if key is not None:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[key] = (time.monotonic() + self.cache_ttl, body)
        return WebhookResponse(ran=True, body=body)

    def _cache_key(self, tree: FlowTree, call: WebhookCall, who: Accountability | None) -> str | None:
        if self.cache_ttl <= 0 or call.method != "GET" or tree.flow.trigger is not Trigger.webhook:
            return None
        if tree.flow.options.get("cache") is False:
            return None
        user = who.user if who else ""
        return f"{tree.flow.id}|{user}|{json.dumps(call.query, sort_keys=True)}"

    async def stop(self) -> None:
        return None
