"""Flows and operations: the stored records, and validation of what clients send.

Input is checked field by field; every refusal is a `FieldError` naming the field
(`trigger`, `options.cron`, `resolve`, ...) and the kind of rule it broke, rendered as
Directus's 400 `FAILED_VALIDATION` with `extensions.field` and `extensions.type`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from host.flows.chain import Render, compile_template
from host.types import Json

M = TypeVar("M", bound=BaseModel)


class FieldError(ValueError):
    """Bad input, with the field it is about and the kind of rule it broke, in Directus's
    words (`extensions.type` of `FAILED_VALIDATION`): `required` (missing), `nnull` (null),
    `in` (not one of `valid`), `regex` (any other malformed value, the default)."""

    def __init__(self, field: str, message: str, type: str = "regex", valid: list[Any] | None = None) -> None:
        super().__init__(f'"{field}": {message}')
        self.field = field
        self.reason = message
        self.type = type
        self.valid = valid

    def at(self, prefix: str) -> FieldError:
        return FieldError(f"{prefix}{self.field}", self.reason, self.type, self.valid)


class Trigger(StrEnum):
    event = "event"
    webhook = "webhook"
    schedule = "schedule"
    operation = "operation"
    manual = "manual"


RunLevel = Literal["all", "activity"]

FLOW_FIELDS = (
    "id", "name", "icon", "color", "description", "status", "trigger",
    "accountability", "options", "operation", "date_created", "user_created",
)  # fmt: skip
OPERATION_FIELDS = (
    "id", "name", "key", "type", "position_x", "position_y", "options",
    "resolve", "reject", "flow", "date_created", "user_created",
)  # fmt: skip
READ_ONLY = frozenset({"date_created", "user_created", "operations"})


def new_id() -> str:
    return str(uuid.uuid4())


def timestamp(value: datetime | None) -> str | None:
    """A stored time as Directus shows a `timestamp` field: UTC, milliseconds, `Z`
    (`2024-05-01T10:00:00.123Z`)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class OperationRecord:
    id: str
    key: str
    type: str
    flow: str
    name: str | None = None
    position_x: int = 0
    position_y: int = 0
    options: dict[str, Json] = field(default_factory=dict)
    resolve: str | None = None
    reject: str | None = None
    date_created: datetime | None = None
    user_created: str | None = None
    options_null: bool = False
    """No `options` were given: shown as `options: null`, as Directus does; the engine reads `{}`."""

    def to_json(self) -> dict[str, Json]:
        data = asdict(self)
        data["date_created"] = timestamp(self.date_created)
        data["options"] = None if self.options_null else self.options
        return {name: data[name] for name in OPERATION_FIELDS}


@dataclass(frozen=True)
class FlowRecord:
    id: str
    name: str
    trigger: Trigger
    status: str = "active"
    icon: str | None = None
    color: str | None = None
    description: str | None = None
    accountability: RunLevel | None = "all"
    options: dict[str, Json] = field(default_factory=dict)
    operation: str | None = None
    date_created: datetime | None = None
    user_created: str | None = None
    options_null: bool = False
    """The flow has no `options` (none given): shown as `options: null`, as Directus does; the
    engine reads them as `{}`."""

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_json(self) -> dict[str, Json]:
        data = asdict(self)
        data["trigger"] = self.trigger.value
        data["date_created"] = timestamp(self.date_created)
        data["options"] = None if self.options_null else self.options
        return {name: data[name] for name in FLOW_FIELDS}


# --------------------------------------------------------------------------- input


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlowCreate(_Input):
    id: str | None = None
    name: str = Field(min_length=1, max_length=255)
    icon: str | None = None
    color: str | None = None
    description: str | None = None
    status: Literal["active", "inactive"] = "active"
    trigger: Trigger
    accountability: RunLevel | None = "all"
    options: dict[str, Any] | None = None
    operation: str | None = None


class FlowUpdate(_Input):
    name: str | None = Field(None, min_length=1, max_length=255)
    icon: str | None = None
    color: str | None = None
    description: str | None = None
    status: Literal["active", "inactive"] | None = None
    trigger: Trigger | None = None
    accountability: RunLevel | None = None
    options: dict[str, Any] | None = None
    operation: str | None = None

    @field_validator("name", "status", "trigger")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


_KEY_PATTERN = r"^[A-Za-z0-9_-]+$"
Position = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
"""A 32-bit integer, as its column stores it."""


class OperationCreate(_Input):
    id: str | None = None
    name: str | None = None
    key: str = Field(min_length=1, max_length=255, pattern=_KEY_PATTERN)
    type: str = Field(min_length=1)
    flow: str = Field(min_length=1)
    position_x: Position = 0
    position_y: Position = 0
    options: dict[str, Any] | None = None
    resolve: str | None = None
    reject: str | None = None


class OperationUpdate(_Input):
    name: str | None = None
    key: str | None = Field(None, min_length=1, max_length=255, pattern=_KEY_PATTERN)
    type: str | None = Field(None, min_length=1)
    flow: str | None = None
    position_x: Position | None = None
    position_y: Position | None = None
    options: dict[str, Any] | None = None
    resolve: str | None = None
    reject: str | None = None

    @field_validator("key", "type", "flow", "position_x", "position_y")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null")
        return value


def parse_input(model: type[M], raw: Any, prefix: str = "") -> M:
    """Validate `raw` as `model`, dropping read-only fields; a refusal names the field."""
    if not isinstance(raw, dict):
        raise FieldError(prefix.rstrip(".") or "data", "expected an object")
    data = {key: value for key, value in raw.items() if key not in READ_ONLY}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "data"
        message, kind, valid = str(error["msg"]), "regex", None
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message, kind = "is required", "required"
        elif error["type"] in ("literal_error", "enum"):
            kind, valid = "in", re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
        elif (error["type"] == "value_error" and "cannot be null" in message) or (
            error.get("input", "") is None and error["type"].endswith("_type")
        ):
            message, kind = "cannot be null", "nnull"
        raise FieldError(prefix + where, message, kind, valid) from None


@dataclass(frozen=True)
class FlowTree:
    """A flow with its operations, as the engine runs it (built again whenever flows change)."""

    flow: FlowRecord
    operations: dict[str, OperationRecord]
    _options: dict[str, Render] = field(default_factory=dict, init=False, repr=False, compare=False)

    def options_template(self, op: OperationRecord) -> Render:
        """`op`'s options parsed once for this revision of the flow (`host.flows.chain`)."""
        template = self._options.get(op.id)
        if template is None:
            template = self._options[op.id] = compile_template(op.options)
        return template

    def by_key(self, key: str) -> OperationRecord | None:
        return next((op for op in self.operations.values() if op.key == key), None)
