"""Filter and action events, one registry for built-in and extension listeners.

Order (documented in the README): for `emit_filter(["items.create",
"articles.items.create"], ...)` the listeners of the first event run before
those of the second; listeners of one event run in registration order, and
extensions register in the order they are loaded (folder name, alphabetical),
each in the order of its own `filter()` calls. Each filter sees the previous
one's result. A filter that raises stops the chain and the error propagates.

Actions are queued (bounded) and run by background workers after the caller
has moved on; their failures are logged with the listener's owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from host.types import Accountability, Json, Undefined

log = logging.getLogger("exthost.events")


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


@dataclass
class _Job:
    owner: str
    event: str
    handler: ActionHandler
    meta: dict[str, Any]
    context: EventContext
    scope: contextvars.Context = field(default_factory=contextvars.copy_context)
    """The emitter's context variables: an action runs in them (the flows' recursion guard needs it)."""


async def _run(job: _Job) -> None:
    await job.handler(job.meta, job.context)


@dataclass
class Emitter:
    queue_size: int = 1000
    workers: int = 2
    _filters: dict[str, list[_Listener]] = field(default_factory=dict)
    _actions: dict[str, list[_Listener]] = field(default_factory=dict)
    _queue: asyncio.Queue[_Job] | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    dropped: int = 0

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

    def emit_action(self, events: Sequence[str], meta: dict[str, Any], context: EventContext) -> None:
        """Queue the action listeners of `events`; never blocks, never raises."""
        for event in events:
            for listener in self._actions.get(event, ()):
                job = _Job(listener.owner, event, listener.handler, {**meta, "event": event}, context)
                if self._queue is None:
                    log.warning("action %s for %s dropped: the emitter is not running", event, listener.owner)
                    self.dropped += 1
                    continue
                try:
                    self._queue.put_nowait(job)
                except asyncio.QueueFull:
                    self.dropped += 1
                    log.error("action queue full: %s for %s dropped", event, listener.owner)

    # -- background workers ---------------------------------------------------

    async def start(self) -> None:
        self._queue = asyncio.Queue(self.queue_size)
        self._tasks = [asyncio.create_task(self._work(), name=f"exthost-actions-{i}") for i in range(self.workers)]

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                await asyncio.create_task(_run(job), context=job.scope)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("action %s of %s failed: %s", job.event, job.owner, exc, extra={"extension": job.owner})
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued action has run (tests, shutdown)."""
        if self._queue is not None:
            await self._queue.join()

    async def stop(self, timeout: float = 5.0) -> None:
        if self._queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._queue = None
