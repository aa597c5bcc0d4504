"""The WebAssembly component driver: one `extension` world instance per store.

Used for the JS and Python runtime components (which get the extension's
source in `register`) and for components built from an extension's own code.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as cm
from wasmtime.component._enter import enter_wasm

from host.capabilities import CallContext, CapabilitySet
from host.errors import CapabilityDenied, ExtensionFailed, ExtensionLoadError, ExtensionTimeout
from host.runtime.engine import Engine
from host.runtime.faults import first_line, translate_engine_error, translate_guest_error
from host.runtime.footprint import StoreBudget
from host.sandbox import guest_text
from host.types import RegisterContext

API_INTERFACE = "exthost:extension/api@0.1.0"
GUEST_INTERFACE = "exthost:extension/guest@0.1.0"
MAX_POLLS = 64


@dataclass
class _Call:
    """Book-keeping of the call running on this thread: guest time excludes time spent in the host."""

    store: wasmtime.Store
    context: CallContext
    timeout_ms: int
    started: float = field(default_factory=time.monotonic)
    host_seconds: float = 0.0

    def rearm(self) -> None:
        used_ms = (time.monotonic() - self.started - self.host_seconds) * 1000
        self.store.set_epoch_deadline(Engine.ticks(max(1.0, self.timeout_ms - used_ms)))


_current = threading.local()


def _import(capability: Callable[..., object], returns_value: bool) -> Callable[..., object]:
    """Wrap a capability as a WIT import returning `result<_, string>` / `result<string, string>`."""

    def host_function(_store: object, *args: object) -> object:
        call: _Call | None = getattr(_current, "call", None)
        if call is None:
            return cm.Variant("err", "capabilities are not available here") if returns_value else "unavailable"
        entered = time.monotonic()
        try:
            value = capability(call.context, *args)
        except CapabilityDenied as exc:
            return cm.Variant("err", exc.message) if returns_value else exc.message
        except Exception as exc:  # a capability bug must not crash the guest call
            message = f"{type(exc).__name__}: {exc}"
            return cm.Variant("err", message) if returns_value else message
        finally:
            call.host_seconds += time.monotonic() - entered
            call.rearm()
        return cm.Variant("ok", value) if returns_value else None

    return host_function


def build_linker(engine: Engine, capabilities: CapabilitySet) -> cm.Linker:
    linker = cm.Linker(engine.wasm)
    linker.add_wasip2()
    with linker.root() as root, root.add_instance(API_INTERFACE) as api:
        api.add_func("log", _import(capabilities.log, returns_value=False))
        api.add_func("sleep", _import(capabilities.sleep, returns_value=False))
        api.add_func("request", _import(capabilities.request, returns_value=True))
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
        call.rearm()
        _current.call = call
        try:
            result = fn(self.store, *args)
            fn.func.post_return(self.store)
            return result
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            raise translate_engine_error(self.name, exc, call.timeout_ms) from None
        finally:
            _current.call = None

    def register(self, source: str, context: RegisterContext, call: CallContext, timeout_ms: int) -> str:
        result = self._run(
            self._register, _Call(self.store, call, timeout_ms), source, context.model_dump_json()
        )
        assert isinstance(result, cm.Variant)
        if result.tag == "err":
            raise ExtensionFailed(self.name, f"registration failed: {guest_text(str(result.payload))}")
        return str(result.payload)

    def invoke(self, handler: int, args_json: str, call: CallContext, timeout_ms: int) -> str:
        """Run a handler to completion; returns its JSON result text ("" for nothing)."""
        budget = _Call(self.store, call, timeout_ms)
        state = self._run(self._invoke, budget, handler, args_json)
        polls = 0
        while isinstance(state, cm.Variant) and state.tag == "pending":
            polls += 1
            if polls > MAX_POLLS:
                raise ExtensionFailed(self.name, "the handler's promise never settled")
            state = self._run(self._poll, budget, state.payload)
        assert isinstance(state, cm.Variant)
        if state.tag == "failed":
            raise translate_guest_error(self.name, str(state.payload))
        return str(state.payload)
