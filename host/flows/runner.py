"""Runs one flow: from its first operation (or a chosen one), step by step.

Each step renders the operation's options against the data chain (parsed once per
revision of the flow: `FlowTree.options_template`), calls the
handler of its type, stores the value under the operation's key and `$last`, and
follows `resolve` (returned) or `reject` (raised). An unknown type ends the run
with a logged error; `FLOWS_MAX_STEPS` ends a run that loops too long. An
extension operation that may not be called (quarantined, disabled) ends the run
as rejected without taking its reject path: an unavailable check is no answer,
so a filter-event flow fails closed (503 `EXTENSION_UNAVAILABLE`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from host.errors import (
    ExtensionError,
    ExtensionUnavailable,
    ExthostError,
    FlowRejected,
    OperationFailed,
    OperationThrew,
)
from host.flows import guard
from host.flows.chain import ACCOUNTABILITY, ENV, LAST, TRIGGER, get_path
from host.flows.models import FlowTree
from host.flows.operations.registry import OperationContext, OperationRegistry
from host.flows.runlog import RunEntry, RunLog
from host.flows.services import FlowServices
from host.queue import current_job
from host.redaction import configured_secrets
from host.types import Accountability, Json, Undefined

log = logging.getLogger("exthost.flows")

Status = Literal["resolve", "reject", "unknown"]


@dataclass
class Step:
    operation: str
    key: str
    type: str
    status: Status
    options: Json
    data: Json
    duration_ms: float


@dataclass
class RunResult:
    tree: FlowTree
    status: Status
    data: dict[str, Json]
    steps: list[Step] = field(default_factory=list)
    error: str | None = None

    @property
    def last(self) -> Json:
        return self.data.get(LAST)

    def returned(self, spec: object) -> Json:
        """The flow's `return` option applied: `$all`, a path such as `$last` or a key, or nothing."""
        if spec == "$all":
            return self.data
        if isinstance(spec, str) and spec:
            return get_path(self.data, spec)
        return None


def error_data(exc: BaseException) -> Json:
    """The value a rejected operation leaves in the data chain."""
    if isinstance(exc, OperationThrew):  # as thrown, null included
        return exc.data
    if isinstance(exc, OperationFailed) and exc.data is not None:
        return exc.data
    if isinstance(exc, ExthostError):
        data: dict[str, Json] = {
            "name": type(exc).__name__,
            "message": exc.message,
            "code": exc.code,
            "status": exc.status,
        }
        if isinstance(exc, ExtensionError):
            data["extension"] = exc.extension
        return data
    return {"name": type(exc).__name__, "message": str(exc)}


_rejections: dict[tuple[int, str], type[FlowRejected]] = {}


def rejection(last: Json, flow_name: str) -> FlowRejected:
    """The error a filter-event flow that rejected raises: its `$last` message, status and code."""
    message = f'Flow "{flow_name}" rejected'
    status, code = FlowRejected.status, FlowRejected.code
    if isinstance(last, list):  # a condition's errors: the last one's message, as Directus answers
        messages = [entry["message"] for entry in last if isinstance(entry, dict) and entry.get("message")]
        if messages:
            message = str(messages[-1])
    elif isinstance(last, dict):
        message = str(last.get("message") or message)
        raw_status = last.get("status")
        if isinstance(raw_status, int | str) and str(raw_status).isdigit() and 400 <= int(raw_status) <= 599:
            status = int(raw_status)
        if isinstance(last.get("code"), str) and last["code"]:
            code = last["code"]
    elif isinstance(last, str) and last:
        message = last
    kind = _rejections.get((status, code))
    if kind is None:
        kind = type("FlowRejected", (FlowRejected,), {"status": status, "code": code})
        _rejections[(status, code)] = kind
    return kind(message)


class FlowRunner:
    def __init__(self, services: FlowServices, registry: OperationRegistry, runlog: RunLog) -> None:
        self.services = services
        self.registry = registry
        self.runlog = runlog

    async def run(
        self,
        tree: FlowTree,
        trigger: Json,
        accountability: Accountability | None,
        *,
        start: str | None = None,
    ) -> RunResult:
        settings = self.services.settings
        with guard.entered(tree.flow, settings.flows_recursion_limit):
            started_at = datetime.now(UTC)
            began = time.perf_counter()
            result = await self._walk(tree, trigger, accountability, start)
            duration_ms = (time.perf_counter() - began) * 1000
        if tree.flow.accountability is not None:
            await self._record(result, accountability, started_at, duration_ms)
        return result

    async def _walk(
        self, tree: FlowTree, trigger: Json, accountability: Accountability | None, start: str | None
    ) -> RunResult:
        flow = tree.flow
        env = self.services.env()
        data: dict[str, Json] = {
            TRIGGER: trigger,
            LAST: trigger,
            ACCOUNTABILITY: accountability.model_dump(mode="json") if accountability else None,
            ENV: env,
        }
        result = RunResult(tree, "unknown", data)
        current = start if start is not None else flow.operation
        limit = self.services.settings.flows_max_steps
        while current is not None:
            op = tree.operations.get(current)
            if op is None:
                break
            if len(result.steps) >= limit:
                result.status = "reject"
                result.error = f'Flow "{flow.name}" stopped after {limit} operations (FLOWS_MAX_STEPS)'
                data[LAST] = {"name": "FlowError", "message": result.error, "code": "FLOW_MAX_STEPS"}
                log.error("%s", result.error)
                break
            began = time.perf_counter()
            kind = self.registry.get(op.type)
            if kind is None:
                result.status = "unknown"
                result.error = f'Flow "{flow.name}": operation "{op.key}" has unknown type "{op.type}"'
                log.error("%s; the flow ends here", result.error)
                data[op.key] = data[LAST] = None
                result.steps.append(Step(op.id, op.key, op.type, "unknown", None, None, 0.0))
                break
            options = tree.options_template(op)(data)
            context = OperationContext(data, accountability, flow, op, self.services)
            value: Json
            try:
                returned = await kind.handler(options, context)
                value = None if isinstance(returned, Undefined) else returned
                status: Status = "resolve"
                current = op.resolve
            except Exception as exc:
                if not isinstance(exc, ExthostError):
                    log.exception("flow %s: operation %s (%s) failed", flow.name, op.key, op.type)
                value = error_data(exc)
                status = "reject"
                current = op.reject
                if isinstance(exc, ExtensionUnavailable):  # no answer: the run ends here, rejected
                    current = None
                    result.error = exc.message
            data[op.key] = data[LAST] = value
            result.status = status
            elapsed = (time.perf_counter() - began) * 1000
            result.steps.append(Step(op.id, op.key, op.type, status, options, value, elapsed))
        return result

    async def _record(
        self, result: RunResult, accountability: Accountability | None, started_at: datetime, duration_ms: float
    ) -> None:
        flow = result.tree.flow
        job = current_job()
        level = flow.accountability or "activity"
        full = level == "all"
        steps = [
            {
                "operation": step.operation,
                "key": step.key,
                "type": step.type,
                "status": step.status,
                "duration_ms": round(step.duration_ms, 3),
                **({"options": step.options, "data": step.data} if full else {}),
            }
            for step in result.steps
        ]
        entry = RunEntry(
            flow=flow.id,
            level=level,
            status=result.status,
            trigger=flow.trigger.value,
            user=accountability.user if accountability else None,
            started_at=started_at,
            duration_ms=round(duration_ms),
            steps=steps,
            data=result.data if full else None,
            error=result.error,
            job_key=job.key if job else None,
            job_attempt=job.attempt if job else None,
        )
        try:
            # a queued run is stored before its job counts as done (a crash reruns it); a run
            # that answers a request is buffered and stored in the next batch
            await self.runlog.record(entry, configured_secrets(self.services.settings), durable=job is not None)
        except Exception:
            log.exception("flow %s: the run could not be logged", flow.name)
