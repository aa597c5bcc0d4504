"""Waits an instance started with `sleep-start` / `request-start` (sdk/wit/extension.wit).

A `*-start` import runs on the thread running the guest's slice: the capability checks what it
can at once (scope, time limit, URL) and hands back a coroutine that does the waiting. The
import registers that coroutine here under a new handle and returns at once. When the slice is
over, the driver (`host.runtime.pool`) `launch`es what was started as tasks on the event loop,
where they wait holding no thread; each result is kept until the guest reads it with
`completed` at the start of its next `invoke` or `poll`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Coroutine
from typing import Any

from host.errors import CapabilityDenied

Wait = Coroutine[Any, Any, str]
"""What a `*-start` capability returns: awaited on the event loop, its text is the ok value."""


class Waits:
    """One instance's waits: started (not yet launched), under way, and completed (not yet read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._starting: list[tuple[int, Wait]] = []
        self._tasks: dict[int, asyncio.Task[str]] = {}
        self._completed: list[tuple[int, bool, str]] = []
        self.deliveries = 0
        """How many times the guest read completions (each queues promise jobs: calls may change)."""
        self.changed: asyncio.Event | None = None
        """Set on the event loop when a wait completes (made by the first `launch`)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.crossed = 0
        """Characters of text that crossed the boundary since the instance was made: call
        arguments and results, completions, blocking `request` results. The pool replaces a
        worn instance (`host.runtime.pool`, `WEAR_SHARE`)."""

    # -- on the guest's thread, during a slice --------------------------------------------------

    def add(self, wait: Wait) -> int:
        with self._lock:
            self._next = self._next % 0xFFFFFFFF + 1
            self._starting.append((self._next, wait))
            return self._next

    def take_completed(self) -> str:
        """What completed since the last call, as the `completed` import answers it."""
        with self._lock:
            done, self._completed = self._completed, []
        if not done:
            return "[]"
        self.deliveries += 1
        text = json.dumps([[handle, ok, text] for handle, ok, text in done])
        self.crossed += len(text)
        return text

    # (reads without the lock: each list or dict is replaced or changed whole, under the GIL)

    @property
    def outstanding(self) -> bool:
        """Whether a wait was started and its result is not read yet."""
        return bool(self._starting or self._tasks or self._completed)

    @property
    def ready(self) -> bool:
        """Whether a result waits to be read by the guest."""
        return bool(self._completed)

    # -- on the event loop ----------------------------------------------------------------------

    def launch(self) -> None:
        """Start the waits the last slice registered as tasks on the running loop."""
        with self._lock:
            starting, self._starting = self._starting, []
        loop = asyncio.get_running_loop()
        if self.changed is None or self._loop is not loop:
            self.changed, self._loop = asyncio.Event(), loop
        for handle, wait in starting:
            task = loop.create_task(wait)
            self._tasks[handle] = task
            task.add_done_callback(functools.partial(self._finished, handle))

    def _finished(self, handle: int, task: asyncio.Task[str]) -> None:
        with self._lock:
            if self._tasks.pop(handle, None) is None:
                return
            if task.cancelled():
                self._completed.append((handle, False, "the wait was cancelled"))
            else:
                error = task.exception()
                if error is None:
                    self._completed.append((handle, True, task.result()))
                elif isinstance(error, CapabilityDenied):
                    self._completed.append((handle, False, error.message))
                else:  # a capability bug must not crash the guest call
                    self._completed.append((handle, False, f"{type(error).__name__}: {error}"))
        if self.changed is not None:
            self.changed.set()

    def cancel(self) -> None:
        """Drop everything: the instance is gone (or its one call is over)."""
        if not self.outstanding:
            return
        with self._lock:
            starting, self._starting = self._starting, []
            tasks, self._tasks = self._tasks, {}
            self._completed = []
        for _, wait in starting:
            wait.close()
        for task in tasks.values():
            task.cancel()

    # -- without an event loop (a call run on one thread: `ComponentInstance.invoke`) ----------

    def run_blocking(self, timeout: float) -> None:
        """Run what was started on a private event loop on this thread, until one completes or
        `timeout` seconds passed (a caller that holds a thread anyway: benchmarks, `call_sync`)."""
        with self._lock:
            starting, self._starting = self._starting, []
        if not starting:
            return

        async def run() -> None:
            tasks = {asyncio.ensure_future(wait): handle for handle, wait in starting}
            done, pending = await asyncio.wait(tasks, timeout=max(0.0, timeout))
            for task in pending:
                task.cancel()
            for task in tasks:
                self._tasks[tasks[task]] = task
                if task in done:
                    self._finished(tasks[task], task)
                else:
                    with self._lock:
                        self._tasks.pop(tasks[task], None)

        asyncio.run(run())
