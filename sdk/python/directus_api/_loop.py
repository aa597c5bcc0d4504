"""The sandbox's asyncio event loop: waits are host handles, never a blocked thread.

Inside the Python runtime component, `async def` handlers run as `asyncio` tasks
on one `SandboxLoop` per instance. The loop never blocks: it runs what is ready
and returns. A wait (`await sleep(ms)`, `await request(url)`, `asyncio.sleep`,
a timer of `asyncio.wait_for`/`asyncio.timeout`) is started on the host with the
`sleep-start`/`request-start` imports, which return a handle at once; the runtime
then answers `pending(ticket)` and the host completes the handle on its own
event loop. At the start of every `invoke` and `poll` the runtime hands the
completed handles to `complete`, which resolves their futures (or fires their
timers) and runs the tasks they woke. Several calls may be in flight at once,
each its own task.

Outside the sandbox nothing runs this loop: the capabilities call the host
directly (see `_api.py`).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from directus_api._errors import HostError

_set_running_loop = asyncio.events._set_running_loop  # how a loop makes itself the running loop


class StartBackend(Protocol):
    """The host imports that start a wait and return its handle (a refusal raises `HostError`)."""

    def sleep_start(self, ms: int) -> int: ...

    def request_start(self, url: str, options: str) -> int: ...


Completion = Callable[[bool, str], None]


class Pending(asyncio.Future):  # type: ignore[type-arg]
    """What `request()` returns inside an `async def` in the sandbox: await it for the `RequestResult`."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"request() in an async function returns an awaitable, not the reply (no attribute {name!r}): "
            "write `reply = await request(...)`"
        )

    def __getitem__(self, key: object) -> Any:
        raise TypeError("request() in an async function returns an awaitable, not the reply: "
                        "write `reply = await request(...)`")


def _ms(delay: float) -> int:
    return max(0, min(int(delay * 1000 + 0.999), 0xFFFFFFFF))


class SandboxLoop(asyncio.AbstractEventLoop):
    """An event loop that runs until nothing is ready, then returns to the host."""

    def __init__(self, backend: StartBackend) -> None:
        self._backend = backend
        self._ready: deque[asyncio.Handle] = deque()
        self._waits: dict[int, Completion] = {}
        self._running = False

    # -- what the runtime calls -------------------------------------------------

    def enter(self) -> None:
        """Make this the running loop (for `asyncio.get_running_loop`, tasks, `sleep`) until `leave`."""
        self._running = True
        _set_running_loop(self)

    def leave(self) -> None:
        _set_running_loop(None)
        self._running = False

    @contextmanager
    def running(self) -> Iterator[None]:
        """`enter` ... `leave`."""
        self.enter()
        try:
            yield
        finally:
            self.leave()

    def start(self, awaitable: Any) -> asyncio.Future[Any]:
        """A task for a handler's awaitable, run (inside `running`) until it first waits."""
        if not asyncio.iscoroutine(awaitable):
            wrapped: asyncio.Future[Any] = asyncio.ensure_future(awaitable, loop=self)
            return wrapped
        try:  # Python 3.12+: the task's first step runs now, with no scheduling when it never waits
            task: asyncio.Task[Any] = asyncio.Task(awaitable, loop=self, eager_start=True)  # type: ignore[call-arg]
            return task
        except TypeError:
            return self.create_task(awaitable)

    def complete(self, completed: Iterable[Any]) -> None:
        """Resolve the handles the host completed (`[[handle, ok, text], ...]`)."""
        for handle, ok, text in completed:
            done = self._waits.pop(int(handle), None)
            if done is not None:
                done(bool(ok), str(text))

    def run_ready(self) -> None:
        """Run every ready callback, and those they make ready, until none is left."""
        ready = self._ready
        while ready:
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()

    @property
    def waiting(self) -> int:
        """How many handles are started and not completed yet."""
        return len(self._waits)

    # -- waits ------------------------------------------------------------------

    def wait_sleep(self, ms: int) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self.create_future()

        def done(ok: bool, text: str) -> None:
            if future.done():
                return
            if ok:
                future.set_result(None)
            else:
                future.set_exception(HostError(text))

        self._waits[self._backend.sleep_start(ms)] = done
        return future

    def wait_request(self, url: str, options: str, convert: Callable[[str], Any]) -> Pending:
        future = Pending(loop=self)

        def done(ok: bool, text: str) -> None:
            if future.done():
                return
            if not ok:
                future.set_exception(HostError(text))
                return
            try:
                future.set_result(convert(text))
            except Exception as exc:
                future.set_exception(exc)

        self._waits[self._backend.request_start(url, options)] = done
        return future

    # -- the AbstractEventLoop methods asyncio's futures, tasks and timers use ----

    def time(self) -> float:
        return time.monotonic()

    def call_soon(self, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                  context: contextvars.Context | None = None) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                   context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any,  # type: ignore[override]
                context: contextvars.Context | None = None) -> asyncio.TimerHandle:
        """A timer is a host sleep: it fires when its handle completes (ok or not)."""
        timer = asyncio.TimerHandle(when, callback, args, self, context)
        handle = self._backend.sleep_start(_ms(when - self.time()))

        def fire(_ok: bool, _text: str) -> None:
            if not timer.cancelled():
                self._ready.append(timer)

        self._waits[handle] = fire
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass  # the host sleep runs out on its own; `fire` skips a cancelled timer

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(self, coro: Any, *, name: str | None = None,
                    context: contextvars.Context | None = None) -> asyncio.Task[Any]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return False

    def get_debug(self) -> bool:
        return False

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        pass  # e.g. a task's exception nobody retrieved: nothing to report it to

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        pass

    def run_until_complete(self, future: Any) -> Any:
        raise RuntimeError("the exthost sandbox runs the event loop itself: make the handler `async def` and await")

    def run_forever(self) -> None:
        raise RuntimeError("the exthost sandbox runs the event loop itself: make the handler `async def` and await")

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        raise RuntimeError("run_in_executor is not available in the exthost sandbox: there are no threads")

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass
