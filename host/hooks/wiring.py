"""Each loaded hook extension's filters and actions become emitter listeners.

They join the same registry as built-in listeners, owned by the extension's name,
in load order (folder name, alphabetical) and then in the order of the extension's
own `filter()`/`action()` calls.

- A filter is called as `handler(payload, meta)`; what it returns replaces the
  payload (`undefined` keeps it). If it throws, the write is cancelled with a 400
  carrying its message (`FilterRejected`); a fault keeps its own error (a timeout
  is a 504 `EXTENSION_TIMEOUT`, running out of memory a 500).
- An action is called as `handler(meta)` by whichever process runs its queued job
  (`host.events.emitter`, `host.queue`), `meta.job` naming the job and attempt; its
  failures are logged there with the extension's name, and retried.
- Fail closed: a filter of an extension that is quarantined or disabled rejects
  the write with a 503 `EXTENSION_UNAVAILABLE` (validation is never skipped); its
  actions are skipped (logged at debug level) until it may be called again.
"""

from __future__ import annotations

import logging
from typing import Any

from host.errors import ExtensionFailed, ExtensionFault, ExtensionUnavailable, FilterRejected
from host.events import ActionHandler, Emitter, EventContext, FilterHandler
from host.extensions.registry import ExtensionRegistry
from host.sandbox import Sandbox
from host.types import ExtensionKind, Json, Undefined

log = logging.getLogger("exthost.hooks")


def sandbox_filter(sandbox: Sandbox, handler: int) -> FilterHandler:
    async def run(payload: Json, meta: dict[str, Any], context: EventContext) -> Json | Undefined:
        try:
            return await sandbox.call(handler, [payload, meta])
        except ExtensionUnavailable as exc:
            log.warning("filter %s of %s refused the write: %s", meta.get("event"), sandbox.name, exc.message)
            raise
        except ExtensionFault:
            raise
        except ExtensionFailed as exc:
            log.info("filter %s of %s rejected: %s", meta.get("event"), sandbox.name, exc.message)
            raise FilterRejected(sandbox.name, exc.message) from exc

    return run


def sandbox_action(sandbox: Sandbox, handler: int) -> ActionHandler:
    async def run(meta: dict[str, Any], context: EventContext) -> None:
        try:
            await sandbox.call(handler, [meta])
        except ExtensionUnavailable as exc:
            log.debug("action %s of %s skipped: %s", meta.get("event"), sandbox.name, exc.message)

    return run


def register_hook(emitter: Emitter, sandbox: Sandbox) -> int:
    """Add one hook extension's listeners to `emitter`; returns how many."""
    registration = sandbox.registration
    for binding in registration.filters:
        emitter.on_filter(binding.event, sandbox_filter(sandbox, binding.handler), owner=sandbox.name)
    for binding in registration.actions:
        emitter.on_action(binding.event, sandbox_action(sandbox, binding.handler), owner=sandbox.name)
    return len(registration.filters) + len(registration.actions)


def register_hooks(emitter: Emitter, registry: ExtensionRegistry) -> int:
    """Add every loaded hook extension's listeners to `emitter`; returns how many."""
    return sum(register_hook(emitter, sandbox) for _extension, sandbox in registry.loaded(ExtensionKind.hook))
