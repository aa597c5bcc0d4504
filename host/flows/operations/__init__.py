"""Flow operations. Built-ins are registered through the same `OperationRegistry` as
the operations of sandboxed extensions (`DEFAULT_OPERATIONS`, then the extensions)."""

from __future__ import annotations

from host.extensions.registry import ExtensionRegistry
from host.flows.operations.basic import OPERATIONS as BASIC
from host.flows.operations.condition import OPERATIONS as CONDITION
from host.flows.operations.exec import OPERATIONS as EXEC
from host.flows.operations.extension import register_extensions
from host.flows.operations.items import OPERATIONS as ITEMS
from host.flows.operations.jwt import OPERATIONS as JWT
from host.flows.operations.mail import OPERATIONS as MAIL
from host.flows.operations.notification import OPERATIONS as NOTIFICATION
from host.flows.operations.registry import OperationContext, OperationRegistry, OperationType
from host.flows.operations.request import OPERATIONS as REQUEST
from host.flows.operations.trigger import OPERATIONS as TRIGGER

DEFAULT_OPERATIONS: list[OperationType] = [
    *BASIC,
    *CONDITION,
    *REQUEST,
    *TRIGGER,
    *ITEMS,
    *EXEC,
    *JWT,
    *NOTIFICATION,
    *MAIL,
]


def build_registry(extensions: ExtensionRegistry | None = None) -> OperationRegistry:
    registry = OperationRegistry()
    for operation in DEFAULT_OPERATIONS:
        registry.register(operation)
    if extensions is not None:
        register_extensions(registry, extensions)
    return registry


__all__ = ["DEFAULT_OPERATIONS", "OperationContext", "OperationRegistry", "OperationType", "build_registry"]
