"""`log`, `sleep`, `transform`, `condition` and `throw-error`."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from host.errors import InvalidQuery, OperationFailed
from host.flows.chain import to_text
from host.flows.models import FieldError
from host.flows.operations._options import as_object, number, require, templated
from host.flows.operations.registry import OperationContext, OperationType
from host.query.filter import parse_filter
from host.query.memory import failures
from host.query.model import DEFAULT_DEPTH
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


async def condition(options: dict[str, Any], context: OperationContext) -> Json:
    rules = options.get("filter") or {}
    try:  # the query engine's filter (host.query), with $NOW, $CURRENT_USER... of the run's caller
        node = parse_filter(rules, context.accountability, datetime.now(UTC), DEFAULT_DEPTH)
    except InvalidQuery as exc:
        raise OperationFailed(f"condition: {exc.message}") from None
    failed = failures(node, context.data)
    if failed:
        raise OperationFailed(
            f"condition not met: {failed[0]}",
            [{"message": message, "code": "FAILED_VALIDATION"} for message in failed],
        )
    return None


def _check_condition(options: dict[str, Any]) -> None:
    rules = options.get("filter")
    if rules is None or templated(rules):  # checked once rendered, when the operation runs
        return
    try:
        parse_filter(rules, None, datetime.now(UTC), DEFAULT_DEPTH)
    except InvalidQuery as exc:
        raise FieldError("options.filter", exc.message.removeprefix("Invalid query. ")) from None


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
    OperationType("condition", condition, check=_check_condition, description="resolve when `filter` matches"),
    OperationType("throw-error", throw_error, check=_check_throw, description="reject with code, status, message"),
]
