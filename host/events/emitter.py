"""Filter and action events, one registry for built-in and extension listeners.

Order (documented in the README): for `emit_filter(["items.create",
"articles.items.create"], ...)` the listeners of the first event run before
those of the second; listeners of one event run in registration order, and
extensions register in the order they are loaded (folder name, alphabetical),
each in the order of its own `filter()` calls. Each filter sees the previous
one's result. A filter that raises stops the chain and the error propagates.

Actions go through the durable job queue (`host.queue`): `emit_action` queues one
`action` job per event and listener owner (an extension, or `flow:<id>`) before the
caller answers, naming the event, its meta and who caused it; whichever process
claims the job runs the action listeners *it* has registered for that owner and
event, with `meta.job` (`{id, key, attempt}`) telling them which job and which run
this is. A listener that raises fails the job (logged with the owner), which is
retried (`QUEUE_MAX_ATTEMPTS`); a queue that is full refuses the events, logged as
an error: nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from host.errors import QueueFull
from host.queue import Job, JobError, JobQueue, NewJob
from host.types import Accountability, Json, Undefined

log = logging.getLogger("exthost.events")

ACTION_JOB = "action"


@dataclass(frozen=True)
class EventContext:
    """Who caused the event."""

    accountability: Accountability | None = None


FilterHandler = Callable[[Json, dict[str, Any], EventContext], Awaitable[Json | Undefined]]
"""`(payload, meta, context) -> new payload`, or `UNDEFINED` to keep it."""

ActionHandler = Callable[[dict[str, Any], EventContext], Awaitable[None]]
"""`(meta, context) -> None`."""


@dataclass(frozen=True)
class _Listener:
    owner: str
    handler: Any


class Emitter:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._filters: dict[str, list[_Listener]] = {}
        self._actions: dict[str, list[_Listener]] = {}
        self.dropped = 0
        """Action events refused (the queue was full or could not be written)."""

    # -- registration ---------------------------------------------------------

    def on_filter(self, event: str, handler: FilterHandler, *, owner: str) -> None:
        self._filters.setdefault(event, []).append(_Listener(owner, handler))

    def on_action(self, event: str, handler: ActionHandler, *, owner: str) -> None:
        self._actions.setdefault(event, []).append(_Listener(owner, handler))

    def remove_owner(self, owner: str) -> None:
        for table in (self._filters, self._actions):
            for event, listeners in table.items():
                table[event] = [item for item in listeners if item.owner != owner]

    def has_filters(self, events: Sequence[str]) -> bool:
        return any(self._filters.get(event) for event in events)

    # -- emitting -------------------------------------------------------------

    async def emit_filter(
        self, events: Sequence[str], payload: Json, meta: dict[str, Any], context: EventContext
    ) -> Json:
        for event in events:
            for listener in list(self._filters.get(event, ())):
                result = await listener.handler(payload, {**meta, "event": event}, context)
                if not isinstance(result, Undefined):
                    payload = result
        return payload

    async def emit_action(self, events: Sequence[str], meta: dict[str, Any], context: EventContext) -> None:
        """Queue the action listeners of `events`; never raises."""
        await self.emit_actions(events, [meta], context)

    async def emit_actions(
        self, events: Sequence[str], metas: Sequence[dict[str, Any]], context: EventContext
    ) -> None:
        """`emit_action` for several events' meta at once (one write to the queue); never raises."""
        who = context.accountability.model_dump(mode="json") if context.accountability else None
        # one job per meta, event and owner: an owner's failure is retried without re-running the others
        jobs = [
            NewJob(
                ACTION_JOB,
                {"owner": owner, "event": event, "meta": {**meta, "event": event}, "accountability": who},
            )
            for meta in metas
            for event in events
            for owner in dict.fromkeys(listener.owner for listener in self._actions.get(event, ()))
        ]
        if not jobs:
            return
        try:
            await self.queue.enqueue_many(jobs)
        except QueueFull as exc:
            self.dropped += len(jobs)
            log.error("%d action event(s) %s refused: %s", len(jobs), ", ".join(events), exc.message)
        except Exception:
            self.dropped += len(jobs)
            log.exception("%d action event(s) %s could not be queued", len(jobs), ", ".join(events))

    # -- running queued actions -----------------------------------------------

    async def run_action_job(self, job: Job) -> None:
        """The `action` job handler: run this process's listeners of the job's owner and event."""
        owner, event = str(job.payload.get("owner")), str(job.payload.get("event"))
        listeners = [item for item in self._actions.get(event, ()) if item.owner == owner]
        if not listeners:
            raise JobError(f'no action listener of "{owner}" for {event} is registered in this process')
        who = job.payload.get("accountability")
        context = EventContext(Accountability.model_validate(who) if who else None)
        meta = {**job.payload.get("meta", {}), "job": job.describe()}
        for listener in listeners:
            try:
                await listener.handler(meta, context)
            except Exception as exc:
                log.error(
                    "action %s of %s failed (attempt %d): %s", event, owner, job.attempt, exc,
                    extra={"extension": owner},
                )
                raise

    async def start(self) -> None:
        self.queue.handle(ACTION_JOB, self.run_action_job)

    async def drain(self) -> None:
        """Wait until every queued job has run or failed for good (tests)."""
        await self.queue.drain()

    async def stop(self) -> None:
        return None
