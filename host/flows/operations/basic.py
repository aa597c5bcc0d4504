"""`log`, `sleep`, `transform` and `throw-error`."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from host.errors import OperationFailed
from host.flows.chain import to_text
from host.flows.models import FieldError
from host.flows.operations._options import as_object, number, require, templated
from host.flows.operations.registry import OperationContext, OperationType
from host.types import Json

log = logging.getLogger("exthost.flows.log")

MAX_SLEEP_MS = 10 * 60 * 1000


async def log_message(options: dict[str, Any], context: OperationContext) -> Json:
    message = to_text(options.get("message"))
    log.info("[%s] %s", context.flow.name, message[:10_000], extra={"flow": context.flow.id})
    return None


async def sleep(options: dict[str, Any], context: OperationContext) -> Json:
    try:
        ms = float(options.get("milliseconds") or 0)
    except (TypeError, ValueError):
        raise OperationFailed(f"sleep: milliseconds {options.get('milliseconds')!r} is not a number") from None
    await asyncio.sleep(min(max(ms, 0), MAX_SLEEP_MS) / 1000)
    return None


def _check_sleep(options: dict[str, Any]) -> None:
    number(options, "milliseconds")
    value = options.get("milliseconds")
    if value is not None and not templated(value) and float(value) > MAX_SLEEP_MS:
        raise FieldError("options.milliseconds", f"must be at most {MAX_SLEEP_MS}")


async def transform(options: dict[str, Any], context: OperationContext) -> Json:
    return as_object(options.get("json"), "transform: json")


async def throw_error(options: dict[str, Any], context: OperationContext) -> Json:
    message = to_text(options.get("message")) or "An error was thrown by the flow"
    code = to_text(options.get("code")) or "FLOW_ERROR"
    try:
        status = int(options.get("status") or 400)
    except (TypeError, ValueError):
        status = 400
    raise OperationFailed(message, {"name": "FlowError", "message": message, "code": code, "status": status})


def _check_throw(options: dict[str, Any]) -> None:
    status = options.get("status")
    if status is None or templated(status):
        return
    if not str(status).isdigit() or not 400 <= int(status) <= 599:
        raise FieldError("options.status", f"must be an HTTP error status 400-599 (got {status!r})")


def _check_transform(options: dict[str, Any]) -> None:
    require(options, "json")


OPERATIONS = [
    OperationType("log", log_message, description="write a message to the host log"),
    OperationType("sleep", sleep, check=_check_sleep, description="wait `milliseconds`"),
    OperationType("transform", transform, check=_check_transform, description="the `json` option as the value"),
    OperationType("throw-error", throw_error, check=_check_throw, description="reject with code, status, message"),
]
