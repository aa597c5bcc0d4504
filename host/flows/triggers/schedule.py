"""Schedule triggers: six-field cron with seconds (`0 */15 * * * *`; five fields
work too), evaluated in UTC, or in `FLOWS_SCHEDULE_TIMEZONE` (an IANA name: then
daylight-saving changes apply as that zone has them), while the host runs.

One task per process sleeps until the next tick of any scheduled flow. A tick runs a
flow once in the whole cluster: the scheduler claims `(flow, tick)` in the database
before it runs it, in a transaction that first checks that the flow is still an active
schedule with the same cron (a flow deactivated, changed or deleted through another
process stops here even before this process has reloaded). Ticks missed while the host
was busy are skipped, not replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, tzinfo

from croniter import croniter
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from host.flows import repository, tables
from host.flows.models import FlowTree, Trigger
from host.storage import Database

log = logging.getLogger("exthost.flows")

Fire = Callable[[FlowTree, datetime], Awaitable[object]]
"""Starts the run of a tick (the flow manager queues it as a job keyed by flow and tick)."""
MAX_SLEEP_S = 60.0


def next_tick(cron: str, after: datetime) -> datetime:
    value = croniter(cron, after, second_at_beginning=True).get_next(datetime)
    assert isinstance(value, datetime)
    return value


def claim_tick(conn: Connection, flow_id: str, cron: str, tick: datetime) -> bool:
    """Record that `tick` of `flow_id` runs now; False if it already ran (here or elsewhere), or
    if the stored flow is no longer an active schedule with this `cron`."""
    flow = repository.flow(conn, flow_id)
    if flow is None or not flow.active or flow.trigger is not Trigger.schedule or flow.options.get("cron") != cron:
        return False
    moment = tick.astimezone(UTC).replace(tzinfo=None)
    ticks = tables.ticks
    changed = conn.execute(
        update(ticks).where(ticks.c.flow == flow_id, ticks.c.tick < moment).values(tick=moment)
    ).rowcount
    if changed:
        return True
    if conn.execute(select(ticks.c.flow).where(ticks.c.flow == flow_id)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(insert(ticks).values(flow=flow_id, tick=moment))
    except IntegrityError:
        return False
    return True


class Scheduler:
    def __init__(self, db: Database, fire: Fire, timezone: tzinfo = UTC) -> None:
        self.db = db
        self.fire = fire
        self.timezone = timezone
        self._plans: dict[str, tuple[str, datetime]] = {}
        self._trees: dict[str, FlowTree] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[object]] = set()
        self.fired = 0

    def install(self, trees: Iterable[FlowTree]) -> None:
        now = datetime.now(self.timezone)
        plans: dict[str, tuple[str, datetime]] = {}
        self._trees = {}
        for tree in trees:
            flow = tree.flow
            if flow.trigger is not Trigger.schedule or not flow.active:
                continue
            cron = str(flow.options.get("cron") or "")
            previous = self._plans.get(flow.id)
            try:
                plans[flow.id] = previous if previous and previous[0] == cron else (cron, next_tick(cron, now))
            except (ValueError, KeyError) as exc:
                log.error("flow %s: cron %r not scheduled: %s", flow.name, cron, exc)
                continue
            self._trees[flow.id] = tree
        self._plans = plans
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="exthost-flow-schedule")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._running):
            task.cancel()

    async def _loop(self) -> None:
        while True:
            now = datetime.now(self.timezone)
            for flow_id, (cron, tick) in list(self._plans.items()):
                if tick > now:
                    continue
                self._plans[flow_id] = (cron, next_tick(cron, max(tick, now)))
                tree = self._trees.get(flow_id)
                if tree is not None:
                    await self._start(tree, cron, tick)
            wait = MAX_SLEEP_S
            if self._plans:
                soonest = min(tick for _, tick in self._plans.values())
                wait = min(wait, max(0.0, (soonest - datetime.now(self.timezone)).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait + 0.001)

    async def _start(self, tree: FlowTree, cron: str, tick: datetime) -> None:
        try:
            claimed = await self.db.run(lambda conn: claim_tick(conn, tree.flow.id, cron, tick))
        except Exception:
            log.exception("flow %s: tick %s could not be claimed", tree.flow.name, tick)
            return
        if not claimed:
            return
        self.fired += 1
        task: asyncio.Task[object] = asyncio.create_task(self._run(tree, tick))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, tree: FlowTree, tick: datetime) -> object:
        try:
            return await self.fire(tree, tick)
        except Exception:
            log.exception("scheduled flow %s failed", tree.flow.name)
            return None
