"""What serves each loaded extension: the endpoint table, the hook listeners, the flow operations.

Built once at start-up (`build_endpoints`, `register_hooks`, the flows' operation registry)
and rewired for one extension at a time when it is reloaded, installed or removed
(`rewire`, called by `host.extensions.live`)."""

from __future__ import annotations

import logging
from typing import Any

from host.endpoints.routes import EndpointTable
from host.extensions.namespace import endpoint_id
from host.extensions.registry import ExtensionRegistry, LoadedExtension
from host.flows.operations.extension import extension_operation
from host.hooks.wiring import register_hook
from host.types import ExtensionKind

log = logging.getLogger("exthost")


def build_endpoints(registry: ExtensionRegistry) -> EndpointTable:
    table = EndpointTable()
    for extension, sandbox in registry.loaded(ExtensionKind.endpoint):
        table.add(endpoint_id(extension, sandbox), sandbox)
    return table


def rewire(state: Any, old: LoadedExtension | None, new: LoadedExtension | None) -> None:
    """`old`'s endpoints, listeners and operation go; `new`'s take their place (`state`: the app's).
    A request or job already running keeps the sandbox it started with."""
    flows = getattr(state, "flows", None)
    if old is not None:
        state.emitter.remove_owner(old.name)
        if flows is not None:
            flows.registry.remove_owner(old.name)
    if new is not None and new.sandbox is not None:
        if new.kind is ExtensionKind.hook:
            register_hook(state.emitter, new.sandbox)
        if new.kind is ExtensionKind.operation and flows is not None:
            try:
                flows.registry.register(extension_operation(new.name, new.sandbox))
            except ValueError as exc:
                log.error("operation of extension %s not registered: %s", new.name, exc)
    state.endpoints = build_endpoints(state.registry)
