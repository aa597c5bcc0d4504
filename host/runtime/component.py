"""The WebAssembly component driver: one `extension` world instance per store.

Used for the JS and Python runtime components (which get the extension's
source in `register`) and for components built from an extension's own code.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as cm
from wasmtime.component._enter import enter_wasm

from host.capabilities import CallContext, CapabilitySet
from host.capabilities.base import Starter
from host.errors import CapabilityDenied, ExtensionFailed, ExtensionFault, ExtensionLoadError, ExtensionTimeout
from host.runtime.engine import Engine
from host.runtime.faults import first_line, translate_engine_error, translate_guest_error
from host.runtime.footprint import StoreBudget
from host.runtime.waits import Waits
from host.sandbox import guest_text
from host.types import RegisterContext

API_INTERFACE = "exthost:extension/api@0.1.0"
GUEST_INTERFACE = "exthost:extension/guest@0.1.0"
MAX_POLLS = 64


@dataclass(eq=False)
class _Call:
    """One guest call's budget across its slices: only the guest's own time counts (not the
    time spent in the host's imports, nor the waits between slices)."""

    store: wasmtime.Store
    context: CallContext
    timeout_ms: int
    waits: Waits
    guest_seconds: float = 0.0
    slice_started: float = 0.0
    host_seconds: float = 0.0
    """Time spent in imports during the current slice."""
    inline_ms: float | None = None
    """Set while a slice runs inline on the event loop (`host.runtime.pool`): its deadline is at
    most this, and an import that would block or leave a trace escapes (`InlineEscape`)."""

    def _deadline(self, used_seconds: float) -> int:
        left = self.timeout_ms - used_seconds * 1000
        if self.inline_ms is not None:
            left = min(left, self.inline_ms)
        return Engine.ticks(max(1.0, left))

    def begin(self) -> None:
        self.slice_started = time.monotonic()
        self.host_seconds = 0.0
        self.store.set_epoch_deadline(self._deadline(self.guest_seconds))

    def end(self) -> None:
        self.guest_seconds += time.monotonic() - self.slice_started - self.host_seconds

    def rearm(self) -> None:
        used = self.guest_seconds + time.monotonic() - self.slice_started - self.host_seconds
        self.store.set_epoch_deadline(self._deadline(used))


class InlineEscape(Exception):
    """Raised by an import a slice running inline on the event loop may not make (`log`, the
    blocking `sleep` and `request`): the guest traps, the instance is dropped and the call is
    run again on a call thread (`host.runtime.pool`)."""


@dataclass(eq=False)
class Flight:
    """A handler call on an instance: started by an `invoke`, then `pending` until a `poll`
    answers `done` or `failed`."""

    call: _Call
    handler: int
    args_json: str
    ticket: int | None = None
    """Set while the guest answers `pending`."""
    result: str | None = None
    """The JSON result text once `done` ("" for nothing)."""
    error: ExtensionFailed | None = None
    """The guest's error once `failed`."""
    seen: int = -1
    """`Waits.deliveries` when its last slice began; -1 until it was polled once after `invoke`."""

    @property
    def pending(self) -> bool:
        return self.result is None and self.error is None

    def needs_poll(self, waits: Waits) -> bool:
        """Whether a poll could find it changed. Between two export calls the guest runs every
        promise job queued (componentize-js), so a pending call changes only after the guest read
        completions (in any slice) since its last slice began, or after its `invoke` (its own jobs)."""
        return self.pending and (self.ticket is None or waits.deliveries > self.seen)


_current = threading.local()


def _guarded(call: _Call | None, run: Callable[[_Call], object], err: Callable[[str], object]) -> object:
    """Run an import for `call`, outside its guest time; an error becomes `err(message)`."""
    if call is None:
        return err("capabilities are not available here")
    entered = time.monotonic()
    try:
        return run(call)
    except CapabilityDenied as exc:
        return err(exc.message)
    except Exception as exc:  # a capability bug must not crash the guest call
        return err(f"{type(exc).__name__}: {exc}")
    finally:
        call.host_seconds += time.monotonic() - entered
        call.rearm()


def _import(capability: Callable[..., object], returns_value: bool) -> Callable[..., object]:
    """Wrap a capability as a WIT import returning `result<_, string>` / `result<string, string>`."""

    def host_function(_store: object, *args: object) -> object:
        call: _Call | None = getattr(_current, "call", None)
        if call is not None and call.inline_ms is not None:
            raise InlineEscape("an import that may not run inline")  # before `_guarded`, which would catch it
        if returns_value:
            def run(call: _Call) -> object:
                value = capability(call.context, *args)
                call.waits.crossed += len(value) if isinstance(value, str) else 0
                return cm.Variant("ok", value)

            return _guarded(getattr(_current, "call", None), run, lambda message: cm.Variant("err", message))
        return _guarded(
            getattr(_current, "call", None), lambda call: capability(call.context, *args), lambda message: message
        )

    return host_function


def _start_import(starter: Starter) -> Callable[..., object]:
    """Wrap a `*-start` capability as a WIT import returning `result<u32, string>`: the wait it
    returns is registered with the instance's `Waits`, its handle is the ok value. (wasmtime-py
    tells the cases of a `result<u32, string>` apart by their Python type: an int is ok, a str err.)"""

    def host_function(_store: object, *args: object) -> object:
        return _guarded(
            getattr(_current, "call", None),
            lambda call: call.waits.add(starter(call.context, *args)),
            lambda message: message,
        )

    return host_function


def _completed(_store: object) -> str:
    call: _Call | None = getattr(_current, "call", None)
    return "[]" if call is None else call.waits.take_completed()


def build_linker(engine: Engine, capabilities: CapabilitySet) -> cm.Linker:
    linker = cm.Linker(engine.wasm)
    linker.add_wasip2()
    with linker.root() as root, root.add_instance(API_INTERFACE) as api:
        api.add_func("log", _import(capabilities.log, returns_value=False))
        api.add_func("sleep", _import(capabilities.sleep, returns_value=False))
        api.add_func("request", _import(capabilities.request, returns_value=True))
        api.add_func("sleep-start", _start_import(capabilities.sleep_start))
        api.add_func("request-start", _start_import(capabilities.request_start))
        api.add_func("completed", _completed)
    return linker


class _Caller:
    """`cm.Func.__call__` with the function's types looked up once, not on every call.

    wasmtime-py re-reads a function's type (and a variant's cases, twice) on each
    call; for the small, hot `invoke`/`poll` calls that was most of the host-side
    cost. Same lowering, call and lifting as `cm.Func.__call__`.
    """

    def __init__(self, func: cm.Func, store: wasmtime.Store) -> None:
        self._raw = func._func
        self.func = func
        self._type = func.type(store)
        self._params = [ty for _, ty in self._type.params]
        result: Any = self._type.result
        if result is not None and hasattr(result, "_cases"):
            cases, tagged = result._cases(), result._tagged()
            result._cases = lambda: cases
            result._tagged = lambda: tagged
        self._result = result

    def __call__(self, store: wasmtime.Store, *params: Any) -> Any:
        param_capi = (ffi.wasmtime_component_val_t * len(params))()
        lowered = 0
        try:
            for ty, value in zip(self._params, params, strict=True):
                ty.convert_to_c(store, value, ctypes.pointer(param_capi[lowered]))
                lowered += 1
            result = ffi.wasmtime_component_val_t() if self._result is not None else None
            result_ref = ctypes.byref(result) if result is not None else None
            context = store._context()
            enter_wasm(
                lambda: ffi.wasmtime_component_func_call(
                    ctypes.byref(self._raw), context, param_capi, lowered, result_ref, 1 if result is not None else 0
                )
            )
            return self._result.convert_from_c(result) if result is not None and self._result is not None else None
        finally:
            for i in range(lowered):
                ffi.wasmtime_component_val_delete(ctypes.byref(param_capi[i]))


class ComponentInstance:
    """One instance of an extension component, in its own store."""

    def __init__(
        self,
        engine: Engine,
        component: cm.Component,
        linker: cm.Linker,
        name: str,
        budget: StoreBudget,
        start_timeout_ms: int,
    ) -> None:
        self.name = name
        self.waits = Waits()
        self.store = wasmtime.Store(engine.wasm)
        self.store.set_wasi(wasmtime.WasiConfig())
        # exactly the memories, tables and instances the component declares (footprint.py): together
        # they can never hold more than `budget.bound` bytes, whatever the guest grows
        self.store.set_limits(
            memory_size=budget.memory_size,
            table_elements=budget.table_elements,
            instances=budget.instances,
            tables=budget.tables,
            memories=budget.memories,
        )
        # a core module's start function runs during instantiation: it gets the registration's time
        self.store.set_epoch_deadline(Engine.ticks(start_timeout_ms))
        try:
            instance = linker.instantiate(self.store, component)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            fault = translate_engine_error(name, exc, start_timeout_ms)
            if isinstance(fault, ExtensionTimeout):
                raise ExtensionLoadError(
                    name, f"instantiating the component took more than {start_timeout_ms} ms (a start function that "
                    "does not end?)"
                ) from None
            raise ExtensionLoadError(name, f"cannot instantiate the component: {first_line(str(exc))}") from None
        guest = instance.get_export_index(self.store, GUEST_INTERFACE)
        if guest is None:
            raise ExtensionFailed(name, f"the component does not export {GUEST_INTERFACE}")

        def func(name_: str) -> _Caller:
            index = instance.get_export_index(self.store, name_, guest)
            found = instance.get_func(self.store, index) if index is not None else None
            if found is None:
                raise ExtensionFailed(name, f"the component does not export {GUEST_INTERFACE}#{name_}")
            return _Caller(found, self.store)

        self._register = func("register")
        self._invoke = func("invoke")
        self._poll = func("poll")

    def _run(self, fn: _Caller, call: _Call, *args: object) -> object:
        call.begin()
        _current.call = call
        try:
            result = fn(self.store, *args)
            fn.func.post_return(self.store)
            return result
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise translate_engine_error(self.name, exc, call.timeout_ms) from None
        finally:
            _current.call = None
            call.end()

    def register(self, source: str, context: RegisterContext, call: CallContext, timeout_ms: int) -> str:
        result = self._run(
            self._register, _Call(self.store, call, timeout_ms, self.waits), source, context.model_dump_json()
        )
        assert isinstance(result, cm.Variant)
        if result.tag == "err":
            raise ExtensionFailed(self.name, f"registration failed: {guest_text(str(result.payload))}")
        return str(result.payload)

    def flight(self, handler: int, args_json: str, call: CallContext, timeout_ms: int) -> Flight:
        """A call of handler number `handler`, to be started by `advance`."""
        return Flight(_Call(self.store, call, timeout_ms, self.waits), handler, args_json)

    def _step(self, flight: Flight) -> None:
        invoked = flight.ticket is None
        flight.seen = self.waits.deliveries
        if flight.ticket is None:
            self.waits.crossed += len(flight.args_json)
            state = self._run(self._invoke, flight.call, flight.handler, flight.args_json)
        else:
            state = self._run(self._poll, flight.call, flight.ticket)
        assert isinstance(state, cm.Variant)
        if state.tag == "pending":
            flight.ticket = int(str(state.payload))
            if invoked:
                flight.seen = -1  # its own promise jobs ran after `invoke` answered: poll once
        elif state.tag == "failed":
            error = translate_guest_error(self.name, str(state.payload))
            if isinstance(error, ExtensionFault):
                raise error  # the guest's runtime ran out of memory or stack: poisoned
            flight.error = error
        else:
            flight.result = str(state.payload)
            self.waits.crossed += len(flight.result)

    def advance(self, flights: Sequence[Flight]) -> None:
        """One thread hop: invoke the flights not started and poll the pending ones that could
        have changed (`Flight.needs_poll`; all of them when completions wait to be read), round
        after round (at most `MAX_POLLS`), until every flight is done or waits for something.
        A fault raises: the instance must not be used again."""
        waits = self.waits
        for _ in range(MAX_POLLS):
            ready = waits.ready  # a poll would hand the guest what completed: poll them all
            todo = [flight for flight in flights if flight.needs_poll(waits) or (ready and flight.pending)]
            if not todo:
                return
            for flight in todo:
                self._step(flight)

    def invoke(self, handler: int, args_json: str, call: CallContext, timeout_ms: int) -> str:
        """Run a handler to completion on this thread; returns its JSON result text ("" for
        nothing). What it waits for is waited for here, holding the thread (the pool's async
        driver does not: `host.runtime.pool`)."""
        flight = self.flight(handler, args_json, call, timeout_ms)
        try:
            while True:
                self.advance([flight])
                if not flight.pending or flight.needs_poll(self.waits) or not self.waits.outstanding:
                    break
                if call.remaining() <= 0:
                    raise ExtensionTimeout(self.name, wall_timeout_message(self.name))
                self.waits.run_blocking(call.remaining())
        finally:
            self.waits.cancel()
        return flight_result(self.name, flight)


def wall_timeout_message(name: str) -> str:
    return f'Extension "{name}" did not finish within its wall-clock time limit'


def stalled(flight: Flight, waits: Waits) -> bool:
    """A pending flight that nothing can change any more: no poll could, and nothing is awaited."""
    return flight.pending and not flight.needs_poll(waits) and not waits.outstanding


def flight_result(name: str, flight: Flight) -> str:
    """What a finished (or given up) flight answers: its result, or its error raised."""
    if flight.error is not None:
        raise flight.error
    if flight.result is None:
        raise ExtensionFailed(name, "the handler's promise never settled")
    return flight.result
