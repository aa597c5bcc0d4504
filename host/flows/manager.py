"""The flow manager: holds the active flows (reloaded after every change, made through
this process or another: `host.cluster`), wires their triggers, and runs them.

Runs nobody waits for (an `async` webhook or manual trigger, a schedule tick) are
queued as `flow` jobs in the durable queue (`host.queue`), as action-event flows are
through the emitter: whichever process claims the job runs the flow, at least once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from host.config import Settings
from host.errors import NotFound, QueueFull
from host.events import Emitter
from host.flows import repository
from host.flows.models import FlowTree, OperationRecord, Trigger
from host.flows.operations.exec import ExecSandboxes
from host.flows.operations.registry import OperationRegistry
from host.flows.runlog import RunLog
from host.flows.runner import FlowRunner, RunResult
from host.flows.services import FlowServices
from host.flows.triggers.event import EventTriggers
from host.flows.triggers.manual import ManualAccess
from host.flows.triggers.schedule import Scheduler
from host.flows.triggers.webhook import Webhooks
from host.flows.triggers.webhook_cache import WebhookCache
from host.queue import Job, JobError, JobQueue
from host.storage import Database
from host.types import Accountability, Json

log = logging.getLogger("exthost.flows")

PRUNE_EVERY_S = 3600.0
FLOW_JOB = "flow"


def load_trees(conn: Connection) -> dict[str, FlowTree]:
    flows = repository.flows(conn)
    ops = repository.operations(conn)
    grouped: dict[str, dict[str, OperationRecord]] = {flow.id: {} for flow in flows}
    for op in ops:
        grouped.setdefault(op.flow, {})[op.id] = op
    return {flow.id: FlowTree(flow, grouped[flow.id]) for flow in flows}


class FlowManager:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        emitter: Emitter,
        registry: OperationRegistry,
        queue: JobQueue,
        *,
        app_state: Any = None,
        exec_sandboxes: ExecSandboxes | None = None,
        webhook_cache: WebhookCache | None = None,
    ) -> None:
        services = FlowServices(settings, db, emitter, self, app_state=app_state, exec=exec_sandboxes)
        self.services = services
        self.registry = registry
        self.runlog = RunLog(
            services.db,
            settings.flows_log_retention,
            settings.flows_log_max_runs,
            settings.flows_log_max_entry_bytes,
            settings.flows_log_max_pending,
        )
        self.runner = FlowRunner(services, registry, self.runlog)
        self.events = EventTriggers(services.emitter, self.run, self.lookup)
        self.queue = queue
        self.scheduler = Scheduler(services.db, self._scheduled, ZoneInfo(settings.flows_schedule_timezone))
        self.webhooks = Webhooks(
            self.run,
            self.lookup,
            settings.flows_webhook_cache_ttl,
            ManualAccess(services),
            self.queue_run,
            webhook_cache,
            lambda: self.revision,
        )
        self._trees: dict[str, FlowTree] = {}
        self.revision = 0
        """The `flows` revision (host.cluster) the flows held here are at least as new as."""
        self._operations: dict[str, str] = {}
        self._reload_lock = asyncio.Lock()
        self._pruner: asyncio.Task[None] | None = None

    # -- the set of flows -----------------------------------------------------

    @property
    def trees(self) -> Iterable[FlowTree]:
        return self._trees.values()

    def lookup(self, flow_id: str) -> FlowTree | None:
        return self._trees.get(flow_id)

    async def reload(self) -> None:
        async with self._reload_lock:
            trees = await self.services.db.run(load_trees)
            self._trees = trees
            self._operations = {op: tree.flow.id for tree in trees.values() for op in tree.operations}
            self.events.install(trees.values())
            self.scheduler.install(trees.values())
            self.webhooks.forget()

    async def start(self) -> None:
        self.queue.handle(FLOW_JOB, self.run_job)
        self.runlog.start()
        await self.reload()
        self.scheduler.start()
        self._pruner = asyncio.create_task(self._prune_loop(), name="exthost-flow-log-prune")

    async def stop(self) -> None:
        self.events.uninstall()
        await self.scheduler.stop()
        await self.webhooks.stop()
        if self._pruner is not None:
            self._pruner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruner
        await self.runlog.stop()  # the buffered runs are stored
        if self.services.exec is not None:
            self.services.exec.close()

    async def _prune_loop(self) -> None:
        while True:
            try:
                await self.runlog.prune()
            except Exception:
                log.exception("pruning the flow run log failed")
            await asyncio.sleep(PRUNE_EVERY_S)

    # -- running --------------------------------------------------------------

    async def run(
        self, tree: FlowTree, trigger: Json, who: Accountability | None, *, start: str | None = None
    ) -> RunResult:
        return await self.runner.run(tree, trigger, who, start=start)

    async def queue_run(
        self, tree: FlowTree, trigger: Json, who: Accountability | None, *, via: str, key: str | None = None
    ) -> bool:
        """Queue a run of `tree` for any process to run; False if `key` is queued already.
        Raises `QueueFull`."""
        payload = {
            "flow": tree.flow.id,
            "trigger": trigger,
            "accountability": who.model_dump(mode="json") if who else None,
            "via": via,
        }
        return await self.queue.enqueue(FLOW_JOB, payload, key=key)

    async def run_job(self, job: Job) -> None:
        """The `flow` job handler: run the flow the job names, as this process knows it."""
        flow_id = str(job.payload.get("flow"))
        tree = self.lookup(flow_id)
        if tree is None:
            stored = await self.services.db.run(lambda conn: repository.flow(conn, flow_id))
            if stored is None:
                log.warning("job %s: flow %s was deleted before it ran; not run", job.key, flow_id)
                return
            raise JobError(f'flow "{flow_id}" is not loaded in this process yet')
        if not tree.flow.active:
            log.info("job %s: flow %s is inactive; not run", job.key, tree.flow.name)
            return
        raw = job.payload.get("accountability")
        who = Accountability.model_validate(raw) if raw else None
        await self.run(tree, job.payload.get("trigger"), who)

    async def _scheduled(self, tree: FlowTree, tick: datetime) -> None:
        key = f"schedule:{tree.flow.id}:{tick.astimezone(UTC).isoformat()}"
        try:
            await self.queue_run(tree, None, None, via="schedule", key=key)
        except QueueFull as exc:
            log.error("scheduled flow %s: tick %s not queued: %s", tree.flow.name, tick.isoformat(), exc.message)

    async def run_operation_flow(self, flow_id: str, payload: Json, who: Accountability | None) -> Json:
        """The `trigger` operation: run a flow with an operation trigger, return its `return`.

        As in Directus, a flow that cannot be run this way (unknown, inactive, or with
        another trigger) is logged and the operation resolves with null."""
        tree = self.lookup(flow_id)
        if tree is None or tree.flow.trigger is not Trigger.operation or not tree.flow.active:
            log.warning('trigger: no active flow with an "operation" trigger has id "%s"; the value is null', flow_id)
            return None
        result = await self.run(tree, payload, who)
        return result.returned(tree.flow.options.get("return"))

    async def run_from_operation(self, operation_id: str, body: Json, who: Accountability | None) -> RunResult:
        """`POST /operations/{id}`: run the chain from this operation, the body as `$trigger`."""
        flow_id = self._operations.get(operation_id)
        tree = self.lookup(flow_id) if flow_id else None
        if tree is None:
            raise NotFound(f'No operation with id "{operation_id}"')
        return await self.run(tree, body, who, start=operation_id)
