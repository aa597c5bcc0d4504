"""`trigger`: run another flow (one with an `operation` trigger) and take its return value.

An array payload runs the flow once per element: `serial` (one after another),
`batch` (`batchSize` at a time, default 10) or `parallel` (all at once, the default).
"""

from __future__ import annotations

import asyncio
from typing import Any

from host.flows.operations._options import as_object, number, one_of, require
from host.flows.operations.registry import OperationContext, OperationType
from host.types import Json

MODES = ("serial", "batch", "parallel")


async def trigger(options: dict[str, Any], context: OperationContext) -> Json:
    flow_id = str(options.get("flow") or "")
    payload = as_object(options.get("payload"), "trigger: payload")
    flows = context.services.flows
    who = context.accountability

    async def one(item: Json) -> Json:
        return await flows.run_operation_flow(flow_id, item, who)

    if not isinstance(payload, list):
        return await one(payload)
    mode = options.get("iterationMode") or "parallel"
    if mode == "serial":
        return [await one(item) for item in payload]
    if mode == "batch":
        size = max(1, int(options.get("batchSize") or 10))
        results: list[Json] = []
        for start in range(0, len(payload), size):
            results += await asyncio.gather(*(one(item) for item in payload[start : start + size]))
        return results
    return list(await asyncio.gather(*(one(item) for item in payload)))


def _check(options: dict[str, Any]) -> None:
    require(options, "flow")
    one_of(options, "iterationMode", MODES)
    number(options, "batchSize", minimum=1)


OPERATIONS = [OperationType("trigger", trigger, check=_check, description="run another flow")]
