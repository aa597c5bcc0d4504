"""`PooledSandbox`: the `Sandbox` of one extension, backed by a pool of instances.

Guest code runs on worker threads (wasmtime releases the GIL while the guest runs), so a
slow extension never stalls the event loop; only the first slice of a call of a handler
proven fast runs on the loop, cut short at `INLINE_MS` (then run again on a worker thread,
and the handler stays there: "Inline first slices" in docs/languages.md). Each sandbox has its own
threads, at most its pool size, started on demand: the host runs at most (loaded
extensions x pool size) guest threads, and one extension's calls never hold a thread
another extension needs.

A component call (the JS and Python runtimes, components) runs in slices
(sdk/wit/extension.wit): an `invoke`, then, while the guest answers `pending`, a `poll`
each time something it waits for (`sleep-start`, `request-start`) completed. The waits run
on the event loop and hold no thread; so do the calls waiting for them (`waiting` counts
them). Unless `Limits.single_use`, one instance holds several calls in flight: a new call is
started on an instance whose other calls wait (never two slices at once on one store), and
after completions one thread hop polls all of the instance's waiting calls. The guest-time
budget (`Limits.timeout_ms`) counts the guest's own time in the call's slices; the wall-clock
limit (`Limits.wall_timeout_ms`) bounds the whole call (`ExtensionTimeout`).

A fault in a slice (a trap, running out of memory or stack, the guest-time limit) poisons the
instance: every call in flight on it fails with that fault, and it is dropped; the next call
gets a new instance. A handler that throws fails its own call only.

An Extism plugin, and a component importing the blocking `sleep`/`request`, hold their thread
while they wait: an Extism call runs whole on one thread, and calls beyond the pool size queue.
With `Limits.single_use` every instance serves one call and is dropped; a fresh
one is made for the next call, off the caller's path, on the extension's own threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from pydantic import ValidationError

from host.capabilities import CallContext
from host.errors import (
    ExtensionFailed,
    ExtensionFault,
    ExtensionLoadError,
    ExtensionTimeout,
    ExtensionUnavailable,
    InvalidExtensionOutput,
)
from host.extensions.limits import MAX_REGISTRATION_BYTES
from host.jsontext import JsonRefused, JsonTooDeep, loads
from host.runtime.component import ComponentInstance, Flight, InlineEscape, flight_result, stalled, wall_timeout_message
from host.runtime.faults import output_refused
from host.runtime.threads import CallThreads, ThreadsClosed
from host.sandbox import Limits, SandboxStatus
from host.types import UNDEFINED, ExtensionKind, Json, RegisterContext, Registration, Undefined

log = logging.getLogger("exthost.runtime")


class GuestInstance(Protocol):
    """What a driver (component or Extism) gives the pool: one isolated instance."""

    def register(self, source: str, context: RegisterContext, call: CallContext, timeout_ms: int) -> str: ...

    def invoke(self, handler: int, args_json: str, call: CallContext, timeout_ms: int) -> str: ...


def read_registration(name: str, text: str) -> Registration:
    """What `register` returned, refused past `MAX_REGISTRATION_BYTES` before anything parses it
    (validating millions of entries would take the host minutes and gigabytes), the error naming
    at most `_SHOWN_ERRORS` of the problems."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_REGISTRATION_BYTES:
        message = f"the extension registered {size} bytes of routes and handlers; at most {MAX_REGISTRATION_BYTES}"
        raise ExtensionLoadError(name, message + " are allowed")
    try:
        return Registration.model_validate_json(text)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False)
        shown = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'registration'}: {problem['msg']}"
            for problem in problems[:_SHOWN_ERRORS]
        )
        more = f"; and {len(problems) - _SHOWN_ERRORS} more" if len(problems) > _SHOWN_ERRORS else ""
        raise ExtensionLoadError(name, f"the extension registered something invalid: {shown}{more}") from None


_SHOWN_ERRORS = 5


def encode_args(args: Sequence[Json]) -> str:
    """The JSON text of a call's arguments, non-ASCII characters as themselves: the text a JS
    guest decodes and holds takes a third to a sixth of what `\\u00e9` escapes would (a 5 MB
    body of accented text was 16 MB of escapes). A string holding a lone surrogate cannot cross
    as UTF-8: then the escaped form, as before."""
    text = json.dumps(list(args), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(list(args), allow_nan=False, separators=(",", ":"))
    return text


INLINE_MS = 10.0
"""The most guest time a slice run inline on the event loop may take (two epoch ticks: at
least 5 ms, at most 10); past it the slice traps and the call runs again on a call thread."""
INLINE_FAST_MS = 2.5
INLINE_STREAK = 32
"""A handler's first slices run inline once its last `INLINE_STREAK` ones on a call thread each
took less than `INLINE_FAST_MS` of guest time."""
INLINE_DEMOTED = -100_000
"""Where a handler whose inline slice did not fit starts counting again: it runs on the call
threads until that many fast calls later."""

WEAR_SHARE = 16
"""A component instance through whose boundary more than 1/`WEAR_SHARE` of its memory limit
crossed as text (`Waits.crossed`: call arguments and results, completions, `request` results)
takes no new call and is replaced once its calls end. The JS runtime's bindings never free the
buffers of strings the host hands them (componentize-js issue #330), and its engine does not
collect the large strings it made before its memory is full: without this, an instance that
moved a few large bodies runs out of memory in a later call, failing it."""


@dataclass(eq=False)
class _Live:
    """A component instance serving calls on the event loop."""

    loop: asyncio.AbstractEventLoop
    instance: ComponentInstance | None = None
    """None until the first slice made it (on a worker thread)."""
    single: bool = False
    busy: bool = True
    """A slice runs (or is about to) on the instance: no other may start."""
    dead: bool = False
    flights: dict[int, tuple[Flight, asyncio.Future[None]]] = field(default_factory=dict)
    """The calls waiting, by ticket, each with what its caller awaits."""
    pump: asyncio.Task[None] | None = None
    worn: bool = False
    """More than 1/`WEAR_SHARE` of its memory limit crossed its boundary as text: no new call
    starts on it; it is dropped once its calls in flight end."""


class PooledSandbox:
    def __init__(
        self,
        name: str,
        runtime: str,
        factory: Callable[[], GuestInstance],
        source: str,
        context: RegisterContext,
        limits: Limits,
        register_timeout_ms: int,
    ) -> None:
        self._name = name
        self._runtime = runtime
        self._factory = factory
        self._source = source
        self._context = context
        self._limits = limits
        self._register_timeout_ms = register_timeout_ms
        self._idle: list[GuestInstance] = []
        self._lock = threading.Lock()
        self._slots: asyncio.Semaphore | None = None
        self._status = SandboxStatus.ready
        self._preparing = 0
        self.instances_made = 0
        first, text = self._new_instance()
        self._registration = read_registration(name, text)
        self._idle.append(first)
        # this extension's own threads: while its calls wait, nobody else's are held
        self._threads = CallThreads(limits.pool_size, f"exthost-{name}")
        self._multiplex = isinstance(first, ComponentInstance)
        self._live: list[_Live] = []
        self._freed: list[asyncio.Future[None]] = []
        self._waiting = 0
        self._fast: dict[int, int] = {}
        """Per handler, how many first slices in a row were fast (`INLINE_STREAK`)."""
        self.inline_calls = 0
        """Calls whose first slice ran inline on the event loop."""
        self.inline_fallbacks = 0
        """Inline slices cut short (too slow, or an import that may not run inline) and run again."""

    # -- the Sandbox protocol -------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def runtime(self) -> str:
        return self._runtime

    @property
    def registration(self) -> Registration:
        return self._registration

    @property
    def status(self) -> SandboxStatus:
        return self._status

    @property
    def waiting(self) -> int:
        """How many of its calls wait (for a sleep, a request) without holding a thread."""
        return self._waiting

    async def call(self, handler: int, args: Sequence[Json]) -> Json | Undefined:
        try:
            args_json = encode_args(args)
        except (TypeError, ValueError) as exc:
            raise ExtensionFailed(self._name, f"arguments cannot be sent as JSON: {exc}") from None
        return self.decode_result(await self.call_json(handler, args_json))

    def decode_result(self, text: str) -> Json | Undefined:
        """What `call_json` returned, as a value: `UNDEFINED` for "" (the handler returned nothing)."""
        return UNDEFINED if text == "" else self._decode_output(text)

    async def call_json(self, handler: int, args_json: str) -> str:
        """Call handler number `handler` with `args_json`, a JSON array of its arguments;
        returns its JSON result text as the guest wrote it, "" when it returned nothing."""
        if self._status is SandboxStatus.closed:
            raise ExtensionUnavailable(self._name, f'Extension "{self._name}" is closed')
        if not self._multiplex:
            if self._slots is None:
                self._slots = asyncio.Semaphore(self._limits.pool_size)
            async with self._slots:
                return await self._threads.run(partial(self.call_sync, handler, args_json))
        if not self._limits.single_use:
            live = self._inline_candidate(handler)
            if live is not None:
                context = self._call_context()
                flight = self._inline(live, handler, args_json, context)
                if flight is not None:
                    return await self._finish(live, flight, context)
            return await self._drive(await self._acquire(), handler, args_json)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._limits.pool_size)
        async with self._slots:
            live = _Live(asyncio.get_running_loop(), single=True)
            self._live.append(live)
            try:
                return await self._drive(live, handler, args_json)
            finally:
                self._drop(live)
                self._prepare_next()

    # -- the call driver ------------------------------------------------------

    async def _acquire(self) -> _Live:
        """An instance no slice runs on (the one with the fewest calls in flight), a new one while
        fewer than the pool size exist, else the first one freed."""
        while True:
            if self._status is SandboxStatus.closed:
                raise ExtensionUnavailable(self._name, f'Extension "{self._name}" is closed')
            free = [live for live in self._live if not live.busy and not live.single and not live.worn]
            if free:
                live = min(free, key=lambda live: len(live.flights))
                live.busy = True
                return live
            if len(self._live) < self._limits.pool_size:
                live = _Live(asyncio.get_running_loop())
                self._live.append(live)
                return live
            await self._until_freed()

    async def _take(self, live: _Live) -> None:
        """Wait until no slice runs on `live`, and claim it."""
        while live.busy:
            await self._until_freed()
        live.busy = True

    async def _until_freed(self) -> None:
        freed = asyncio.get_running_loop().create_future()
        self._freed.append(freed)
        await freed

    def _release(self, live: _Live) -> None:
        live.busy = False
        freed, self._freed = self._freed, []
        for waiter in freed:
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(None)
        if live.instance is not None and live.instance.waits.changed is not None and self._due(live):
            live.instance.waits.changed.set()

    @staticmethod
    def _due(live: _Live) -> bool:
        """Whether a hop could move one of the calls waiting on `live` on."""
        assert live.instance is not None
        waits = live.instance.waits
        return waits.ready or any(flight.needs_poll(waits) for flight, _ in live.flights.values())

    def _drop(self, live: _Live) -> None:
        live.dead = True
        if live in self._live:
            self._live.remove(live)
        if live.instance is not None:
            live.instance.waits.cancel()
        if live.pump is not None and live.pump is not asyncio.current_task():
            live.pump.cancel()
        self._release(live)

    def _poison(self, live: _Live, fault: ExtensionFault) -> None:
        """A slice faulted: every call in flight on the instance fails with `fault`; it is dropped."""
        flights, live.flights = live.flights, {}
        self._drop(live)
        for _, future in flights.values():
            if not future.done():
                future.set_exception(type(fault)(fault.extension, fault.message))

    def _begin(self, live: _Live, handler: int, args_json: str, context: CallContext) -> Flight:
        """On a worker thread: the instance (made or checked out if need be), and the call's first hop."""
        if live.instance is None:
            live.instance = self._checkout()  # type: ignore[assignment]
        assert live.instance is not None
        flight = live.instance.flight(handler, args_json, context, self._limits.timeout_ms)
        live.instance.advance([flight])
        return flight

    def _call_context(self) -> CallContext:
        return CallContext(self._name, time.monotonic() + self._limits.wall_timeout_ms / 1000)

    # -- inline slices ----------------------------------------------------------

    def runs_inline(self, handler: int) -> bool:
        """Whether calls of `handler` have their first slice run inline now."""
        return self._fast.get(handler, 0) >= INLINE_STREAK

    def _inline_candidate(self, handler: int) -> _Live | None:
        """An instance to run the first slice of a call of `handler` on the event loop itself,
        claimed: only for a handler whose last `INLINE_STREAK` first slices each took less than
        `INLINE_FAST_MS` of guest time, on an instance with no call in flight (so that cutting
        the slice short harms no other call)."""
        if not self.runs_inline(handler):
            return None
        for live in self._live:
            if not (live.busy or live.worn or live.single or live.dead or live.flights) and live.instance is not None:
                live.busy = True
                return live
        return None

    def _inline(self, live: _Live, handler: int, args_json: str, context: CallContext) -> Flight | None:
        """The call's first slice, run here on the event loop with its deadline cut to
        `INLINE_MS`. None when it did not fit, or made an import that may not run inline: the
        instance is dropped (its state may be half-changed, and no other call was on it), the
        handler runs on the call threads from now on, and the caller starts the call again there."""
        instance = live.instance
        assert isinstance(instance, ComponentInstance)
        flight = instance.flight(handler, args_json, context, self._limits.timeout_ms)
        flight.call.inline_ms = INLINE_MS
        try:
            instance.advance([flight])
        except (InlineEscape, ExtensionTimeout):
            self._fast[handler] = INLINE_DEMOTED
            self.inline_fallbacks += 1
            self._drop(live)
            return None
        except ExtensionFault as fault:
            self._poison(live, fault)
            raise
        except BaseException:
            self._release(live)
            raise
        finally:
            flight.call.inline_ms = None
        self.inline_calls += 1
        return flight

    def _note_speed(self, handler: int, flight: Flight) -> None:
        """Count the first slices of `handler` that ran on a call thread fast enough to run inline."""
        if flight.call.guest_seconds * 1000 < INLINE_FAST_MS:
            self._fast[handler] = self._fast.get(handler, 0) + 1
        elif self._fast.get(handler, 0) > 0:
            self._fast[handler] = 0

    async def _drive(self, live: _Live, handler: int, args_json: str) -> str:
        """Run a call on `live` (claimed): its wall-clock limit counts from here."""
        context = self._call_context()
        try:
            flight = await self._threads.run(partial(self._begin, live, handler, args_json, context))
        except ExtensionFault as fault:
            self._poison(live, fault)
            raise
        except BaseException:
            if live.instance is None:
                self._drop(live)  # it could not be made
            else:
                self._release(live)
            raise
        self._note_speed(handler, flight)
        return await self._finish(live, flight, context)

    async def _finish(self, live: _Live, flight: Flight, context: CallContext) -> str:
        """After a call's first slice on `live` (claimed): release it, and wait for the call if
        it waits for something."""
        loop = asyncio.get_running_loop()
        assert live.instance is not None
        waits = live.instance.waits
        waits.launch()
        self._wear(live)
        self._release(live)
        if not flight.pending or stalled(flight, waits):
            self._retire(live)
            return flight_result(self._name, flight)
        assert flight.ticket is not None
        future: asyncio.Future[None] = loop.create_future()
        live.flights[flight.ticket] = (flight, future)
        if live.pump is None or live.pump.done():
            live.pump = loop.create_task(self._pump(live))
        self._waiting += 1
        try:
            await asyncio.wait_for(asyncio.shield(future), max(0.0, context.remaining()))
        except TimeoutError:
            live.flights.pop(flight.ticket, None)
            live.worn = True  # the guest still holds the call given up: the instance goes when its others end
            self._retire(live)
            raise ExtensionTimeout(self._name, wall_timeout_message(self._name)) from None
        finally:
            self._waiting -= 1
        self._retire(live)
        return flight_result(self._name, flight)

    def _wear(self, live: _Live) -> None:
        if live.instance is not None and live.instance.waits.crossed > self._limits.memory_bytes // WEAR_SHARE:
            live.worn = True

    def _retire(self, live: _Live) -> None:
        """Drop a worn instance once no call is in flight on it and no slice runs."""
        if live.worn and not live.flights and not live.busy and not live.dead and not live.single:
            self._drop(live)

    async def _pump(self, live: _Live) -> None:
        """While calls wait on `live`: after each completion, one hop polls them all."""
        assert live.instance is not None
        instance, waits = live.instance, live.instance.waits
        while live.flights and not live.dead:
            assert waits.changed is not None
            waits.changed.clear()
            if not self._due(live):
                await waits.changed.wait()
            await self._take(live)
            if live.dead:
                return
            flights = [flight for flight, _ in live.flights.values()]
            try:
                await self._threads.run(partial(instance.advance, flights))
            except ExtensionFault as fault:
                self._poison(live, fault)
                return
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self._release(live)
                failure = ExtensionUnavailable(self._name, f'Extension "{self._name}" is closed') if isinstance(
                    exc, RuntimeError) else ExtensionFailed(self._name, f"{type(exc).__name__}: {exc}")
                self._settle(live, failure)
                return
            waits.launch()
            self._wear(live)
            self._release(live)
            for ticket, (flight, future) in list(live.flights.items()):
                if (not flight.pending or stalled(flight, waits)) and not future.done():
                    del live.flights[ticket]
                    future.set_result(None)

    def _settle(self, live: _Live, failure: BaseException | None) -> None:
        flights, live.flights = live.flights, {}
        for _, future in flights.values():
            if future.done():
                continue
            if failure is None:
                future.set_result(None)
            else:
                future.set_exception(failure)

    def _decode_output(self, text: str) -> Json:
        """What a call returned, read by the host's one JSON decoder (`MAX_JSON_DEPTH`, numbers,
        encoding, and no more host memory decoded than the instance may have:
        `EXTENSIONS_SANDBOX_MEMORY`). A refusal is a 400 naming the extension; the instance is
        sound and kept."""
        envelope = 1 if self._registration.kind is ExtensionKind.endpoint else 0  # {status, body, headers}
        try:
            return loads(text, self._limits.json_depth + envelope, self._limits.memory_bytes)
        except JsonTooDeep:
            reason = f"JSON nested deeper than MAX_JSON_DEPTH ({self._limits.json_depth} levels)"
        except JsonRefused as exc:
            reason = output_refused(exc)
        raise InvalidExtensionOutput(self._name, f'Extension "{self._name}" returned {reason}')

    def close(self) -> None:
        """Close: calls in flight fail with `ExtensionUnavailable`, what they waited for is cancelled."""
        self._status = SandboxStatus.closed
        with self._lock:
            self._idle.clear()
        self._threads.close()
        for live in list(self._live):
            with contextlib.suppress(RuntimeError):  # its loop is closed: nothing awaits it any more
                live.loop.call_soon_threadsafe(self._closed, live)

    def _closed(self, live: _Live) -> None:
        self._settle(live, ExtensionUnavailable(self._name, f'Extension "{self._name}" is closed'))
        self._drop(live)

    # -- instances ------------------------------------------------------------

    def _new_instance(self) -> tuple[GuestInstance, str]:
        instance = self._factory()
        context = CallContext(self._name, time.monotonic() + self._register_timeout_ms / 1000)
        text = instance.register(self._source, self._context, context, self._register_timeout_ms)
        self.instances_made += 1
        return instance, text

    def _checkout(self) -> GuestInstance:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_instance()[0]

    def _checkin(self, instance: GuestInstance, *, used: bool = True) -> None:
        if used and self._limits.single_use:
            return
        with self._lock:
            if len(self._idle) < self._limits.pool_size and self._status is not SandboxStatus.closed:
                self._idle.append(instance)

    def _prepare_next(self) -> None:
        """Single use: make a fresh instance for a later call on another worker thread."""
        with self._lock:
            if self._status is SandboxStatus.closed or len(self._idle) + self._preparing >= self._limits.pool_size:
                return
            self._preparing += 1
        with contextlib.suppress(ThreadsClosed):
            self._threads.submit(self._prepare)

    def _prepare(self) -> None:
        try:
            instance = self._new_instance()[0]
        except Exception as exc:
            log.warning("extension %s: a fresh instance could not be made: %s", self._name, exc)
            return
        finally:
            with self._lock:
                self._preparing -= 1
        self._checkin(instance, used=False)

    def call_sync(self, handler: int, args_json: str) -> str:
        """Run one call on this thread (used by `call`, and by benchmarks)."""
        instance = self._checkout()
        context = CallContext(self._name, time.monotonic() + self._limits.wall_timeout_ms / 1000)
        try:
            result = instance.invoke(handler, args_json, context, self._limits.timeout_ms)
        except ExtensionFault:
            raise  # a poisoned instance is not checked in: the next call gets a fresh one
        except BaseException:
            self._checkin(instance)
            raise
        finally:
            if self._limits.single_use:
                self._prepare_next()
        self._checkin(instance)
        return result
