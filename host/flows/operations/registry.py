"""The one registry of operation types: built-ins and extension operations alike.

An operation type is an id, an async handler `(options, context) -> value` and,
optionally, a check of its stored options (run when an operation is saved; it
raises `FieldError` naming the option). Returning resolves; raising rejects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.types import Accountability, Json

if TYPE_CHECKING:
    from host.flows.models import FlowRecord, OperationRecord
    from host.flows.services import FlowServices


@dataclass
class OperationContext:
    """What a handler gets besides its options."""

    data: dict[str, Json]
    """The data chain so far."""
    accountability: Accountability | None
    flow: FlowRecord
    operation: OperationRecord
    services: FlowServices


Handler = Callable[[dict[str, Any], OperationContext], Awaitable[Json]]
OptionsCheck = Callable[[dict[str, Any]], None]

BUILTIN = "builtin"


@dataclass(frozen=True)
class OperationType:
    id: str
    handler: Handler
    owner: str = BUILTIN
    check: OptionsCheck | None = None
    description: str = ""


@dataclass
class OperationRegistry:
    _types: dict[str, OperationType] = field(default_factory=dict)

    def register(self, operation: OperationType) -> None:
        existing = self._types.get(operation.id)
        if existing is not None:
            raise ValueError(f'operation type "{operation.id}" is already registered by {existing.owner}')
        self._types[operation.id] = operation

    def get(self, type_id: str) -> OperationType | None:
        return self._types.get(type_id)

    def __contains__(self, type_id: object) -> bool:
        return type_id in self._types

    def __iter__(self) -> Iterator[OperationType]:
        return iter(self._types.values())

    def remove_owner(self, owner: str) -> None:
        self._types = {key: op for key, op in self._types.items() if op.owner != owner}
