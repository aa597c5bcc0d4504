"""Run an Extism plugin's initialization once, under a deadline, before Extism ever sees it.

Extism runs a module's start function and `_initialize` while it creates a plugin
instance, and `__wasm_call_ctors` before a call, without a time limit it lets us
set: a module that loops there would hang loading (or a worker thread) for good.
So the host first runs the same initialization in a throwaway instance of its own
engine, with the registration's time limit and the extension's memory budget, and
every import (host functions and WASI alike) trapping. A module whose
initialization does not finish in time, traps, or calls an import is refused at
load, before Extism instantiates it.

Why one run decides: with no import to call, initialization sees no clock, no
randomness and no input, so it takes the same path under Extism, with one
exception: whether a `memory.grow` succeeds. Extism traps on a grow past its
`max_pages` (it never returns -1), and the preflight allows at least as much, so a
path that differs from the preflight's ends in a trap under Extism, never in a loop.
"""

from __future__ import annotations

import wasmtime

from host.errors import ExtensionLoadError
from host.runtime.engine import Engine
from host.runtime.faults import first_line

INITIALIZERS = ("_initialize", "__wasm_call_ctors")
"""Exports Extism (and WASI reactors) run before the plugin's own functions, in this order."""


def check_initialization(
    engine: Engine, name: str, filename: str, wasm: bytes, memory_bytes: int, timeout_ms: int
) -> None:
    """Raise `ExtensionLoadError` unless `wasm`'s start function and initializers finish within `timeout_ms`."""
    try:
        module = wasmtime.Module(engine.wasm, wasm)
    except wasmtime.WasmtimeError as exc:
        raise ExtensionLoadError(name, f"{filename} is not a usable Extism plugin: {first_line(str(exc))}") from None
    store = wasmtime.Store(engine.wasm)
    store.set_limits(memory_size=memory_bytes)
    linker = wasmtime.Linker(engine.wasm)
    linker.define_unknown_imports_as_traps(module)
    store.set_epoch_deadline(Engine.ticks(timeout_ms))
    step = "its start function"
    try:
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        for export in INITIALIZERS:
            found = exports.get(export)
            if isinstance(found, wasmtime.Func) and not found.type(store).params:
                step = f"`{export}`"
                found(store)
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        text = str(exc)
        if "interrupt" in text or "epoch" in text:
            reason = f"{step} ran longer than EXTENSIONS_REGISTER_TIMEOUT ({timeout_ms} ms)"
        else:
            reason = f"{step} failed: {first_line(text)}"
        raise ExtensionLoadError(
            name,
            f"{filename}: the plugin's initialization must finish on its own, without calling an import "
            f"(host functions, WASI): {reason}",
        ) from None
