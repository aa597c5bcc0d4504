"""Flow operations. Built-ins are registered through the same `OperationRegistry` as
the operations of sandboxed extensions (`DEFAULT_OPERATIONS`, then the extensions)."""

from __future__ import annotations

from host.extensions.registry import ExtensionRegistry
from host.flows.operations import basic, exec, items, jwt, mail, notification, request, trigger
from host.flows.operations.extension import register_extensions
from host.flows.operations.registry import OperationContext, OperationRegistry, OperationType

DEFAULT_OPERATIONS: list[OperationType] = [
    *basic.OPERATIONS,
    *request.OPERATIONS,
    *trigger.OPERATIONS,
    *items.OPERATIONS,
    *exec.OPERATIONS,
    *jwt.OPERATIONS,
    *notification.OPERATIONS,
    *mail.OPERATIONS,
]


def build_registry(extensions: ExtensionRegistry | None = None) -> OperationRegistry:
    registry = OperationRegistry()
    for operation in DEFAULT_OPERATIONS:
        registry.register(operation)
    if extensions is not None:
        register_extensions(registry, extensions)
    return registry


__all__ = ["DEFAULT_OPERATIONS", "OperationContext", "OperationRegistry", "OperationType", "build_registry"]
