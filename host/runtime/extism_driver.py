"""The Extism driver: core-module extensions (AssemblyScript, C, Zig, Rust, Go, ...)
speaking the exthost Extism ABI (docs/languages.md, "The Extism ABI"):

- exports `register` (input: `RegisterContext` JSON; output: `Registration` JSON,
  `kind` and `name` may be left out) and `invoke` (input
  `{"handler": n, "args": [...]}`; output `{"done": value}`, `{}` for nothing
  returned, or `{"failed": GuestError}`);
- host functions in the `directus:api` namespace: `log(msg)`, `sleep(ms)`,
  `request(url, options)`, each returning a block whose first byte is 0 (ok,
  then the value) or 1 (err, then the message): errors travel in-band, a guest
  can catch them.

Limits: `memory.max_pages` from the memory limit and the module's own memories and
tables (`footprint.extism_budget`: all of them together); guest time is enforced by a
watchdog that cancels the call (time spent in host functions does not count,
as with components); the wall-clock time limit is the manifest's `timeout_ms`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import extism

from host.capabilities import CallContext, CapabilitySet
from host.errors import CapabilityDenied, ExtensionFailed, ExtensionLoadError, InvalidExtensionOutput
from host.jsontext import JsonRefused, JsonTooDeep, loads
from host.runtime import footprint
from host.runtime.faults import output_refused, translate_extism_error, translate_guest_error
from host.runtime.preflight import check_initialization
from host.types import RegisterContext

if TYPE_CHECKING:
    from host.runtime.loader import Runtime

NAMESPACE = "directus:api"
WATCH_INTERVAL_S = 0.005
OK, ERR = b"\x00", b"\x01"


@dataclass(eq=False)
class _Call:
    """One guest call: its capabilities and context, and how much of its time was the host's."""

    capabilities: CapabilitySet
    context: CallContext
    timeout_ms: int
    cancel: Any
    started: float = field(default_factory=time.monotonic)
    host_seconds: float = 0.0
    in_host: float | None = None
    timed_out: bool = False

    def guest_ms(self, now: float) -> float:
        in_host = now - self.in_host if self.in_host is not None else 0.0
        return (now - self.started - self.host_seconds - in_host) * 1000


class _Watchdog:
    """One thread for every Extism call in flight: cancels a call past its guest-time budget."""

    def __init__(self) -> None:
        self._calls: set[_Call] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._lock:
            self._calls.add(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="exthost-extism-watchdog", daemon=True)
                self._thread.start()

    def forget(self, call: _Call) -> None:
        with self._lock:
            self._calls.discard(call)

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL_S)
            now = time.monotonic()
            with self._lock:
                late = [c for c in self._calls if c.in_host is None and c.guest_ms(now) > c.timeout_ms]
            for call in late:
                call.timed_out = True
                call.cancel.cancel()


_watchdog = _Watchdog()
_calls_lock = threading.Lock()


def _host_function(name: str, arity: int) -> Any:
    """A `directus:api` host function: pointers in, one pointer out; never raises (extism swallows it)."""

    def run(plugin: Any, inputs: list[Any], outputs: list[Any], *_user_data: Any) -> None:
        call = plugin.host_context()
        if not isinstance(call, _Call):
            plugin.return_bytes(outputs[0], ERR + b"capabilities are not available here")
            return
        entered = time.monotonic()
        call.in_host = entered
        try:
            if name == "sleep":
                args: list[object] = [int(inputs[0].value)]
            else:
                args = [plugin.input_string(value) for value in inputs]
            value = getattr(call.capabilities, name)(call.context, *args)
            reply = OK + (value.encode() if isinstance(value, str) else b"")
        except CapabilityDenied as exc:
            reply = ERR + exc.message.encode()
        except Exception as exc:  # a capability bug must not crash the guest call
            reply = ERR + f"{type(exc).__name__}: {exc}".encode()
        finally:
            call.host_seconds += time.monotonic() - entered
            call.in_host = None
        plugin.return_bytes(outputs[0], reply)

    run.__name__ = name
    pointer = extism.ValType.PTR
    decorate = extism.host_fn(name=name, namespace=NAMESPACE, signature=([pointer] * arity, [pointer]))
    return decorate(run)


_FUNCTIONS: list[Any] = []


def _functions() -> list[Any]:
    """The three host functions, made once per process (extism keeps them in a global registry)."""
    with _calls_lock:
        if not _FUNCTIONS:
            _FUNCTIONS.extend(
                [_host_function("log", 1), _host_function("sleep", 1), _host_function("request", 2)]
            )
        return _FUNCTIONS


def _configure_cache(cache_dir: Path | None) -> None:
    """Point Extism's wasmtime at an on-disk code cache (else it writes under ~/.cache)."""
    if "EXTISM_CACHE_CONFIG" in os.environ:
        return
    if cache_dir is None:
        os.environ["EXTISM_CACHE_CONFIG"] = ""
        return
    directory = cache_dir / "extism"
    directory.mkdir(parents=True, exist_ok=True)
    config = cache_dir / "extism-cache.toml"  # outside the cache directory, whose cleaner deletes strangers
    if not config.exists():
        config.write_text(f'[cache]\ndirectory = "{directory.resolve()}"\n', encoding="utf-8")
    os.environ["EXTISM_CACHE_CONFIG"] = str(config.resolve())


class ExtismInstance:
    """One Extism plugin instance (its own store and memory), for `PooledSandbox`."""

    def __init__(self, compiled: Any, name: str, capabilities: CapabilitySet, json_depth: int, max_size: int) -> None:
        self.name = name
        self._capabilities = capabilities
        self._json_depth = json_depth
        self._max_size = max_size
        try:
            self._plugin = extism.Plugin(compiled, functions=_functions())
        except extism.Error as exc:
            raise ExtensionLoadError(name, f"cannot instantiate the Extism plugin: {exc}") from None
        self._cancel = self._plugin.cancel_handle()

    def _call(self, function: str, data: str, context: CallContext, timeout_ms: int) -> str:
        call = _Call(self._capabilities, context, timeout_ms, self._cancel)
        _watchdog.watch(call)
        try:
            output = self._plugin.call(function, data, host_context=call)
        except extism.Error as exc:
            raise translate_extism_error(self.name, exc, timeout_ms, cancelled=call.timed_out) from None
        finally:
            _watchdog.forget(call)
        try:
            return bytes(output).decode("utf-8")
        except UnicodeDecodeError:
            raise ExtensionFailed(self.name, f'Extension "{self.name}" returned output that is not UTF-8') from None

    def register(self, source: str, context: RegisterContext, call: CallContext, timeout_ms: int) -> str:
        if not self._plugin.function_exists("register") or not self._plugin.function_exists("invoke"):
            raise ExtensionLoadError(
                self.name, "the Extism plugin must export `register` and `invoke` (see docs/languages.md)"
            )
        try:
            text = self._call("register", context.model_dump_json(), call, timeout_ms)
        except ExtensionFailed as exc:
            raise ExtensionFailed(self.name, f"registration failed: {exc.message}") from None
        try:
            registration = self._decode(text)
        except JsonRefused as exc:
            raise ExtensionLoadError(self.name, f"`register` returned output that {exc.reason}") from None
        if not isinstance(registration, dict):
            raise ExtensionLoadError(self.name, "`register` must return a JSON object")
        return json.dumps({"kind": context.kind.value, "name": context.name, **registration})

    def invoke(self, handler: int, args_json: str, call: CallContext, timeout_ms: int) -> str:
        text = self._call("invoke", f'{{"handler":{handler},"args":{args_json}}}', call, timeout_ms)
        try:
            state = self._decode(text)
        except JsonTooDeep:
            raise InvalidExtensionOutput(
                self.name, f'Extension "{self.name}" returned JSON nested deeper than MAX_JSON_DEPTH '
                f"({self._json_depth} levels)"
            ) from None
        except JsonRefused as exc:
            message = f'Extension "{self.name}" returned {output_refused(exc)}'
            raise InvalidExtensionOutput(self.name, message) from None
        if not isinstance(state, dict):
            raise ExtensionFailed(self.name, f'Extension "{self.name}" returned a call state that is not an object')
        if "failed" in state:
            failed = state["failed"]
            error = failed if isinstance(failed, dict) else {"message": str(failed)}
            raise translate_guest_error(self.name, json.dumps(error))
        if "done" in state:
            return json.dumps(state["done"], allow_nan=False)
        return ""

    def _decode(self, text: str) -> Any:
        """The call state, read with room for its `{"done": ...}` wrapper and an endpoint's
        `{status, body}`; the pool checks the value itself against `MAX_JSON_DEPTH`. Decoded, it
        may take no more host memory than the instance may have (`EXTENSIONS_SANDBOX_MEMORY`)."""
        return loads(text, self._json_depth + 2, self._max_size)


def extism_factory(runtime: Runtime, name: str, filename: str, wasm: bytes, capabilities: CapabilitySet) -> Any:
    """Compile the plugin once; return a factory of `ExtismInstance`s."""
    _configure_cache(runtime.settings.cache_path)
    limits = runtime.limits
    try:
        budget = footprint.extism_budget(footprint.core_module(wasm), limits.memory_bytes)
    except footprint.MalformedArtifact as exc:
        raise ExtensionLoadError(name, f"{filename} is not a usable Extism plugin: {exc}") from None
    except footprint.ArtifactRefused as exc:
        limit = runtime.settings.extensions_sandbox_memory
        raise ExtensionLoadError(
            name, f"{filename} cannot run within EXTENSIONS_SANDBOX_MEMORY ({limit} MB): {exc}"
        ) from None
    check_initialization(
        runtime.engine, name, filename, wasm, limits.memory_bytes, runtime.settings.extensions_register_timeout
    )
    manifest = {
        "wasm": [{"data": wasm}],
        # the growth of all the plugin's memories together; vars (host memory) are not part of the ABI
        "memory": {"max_pages": budget.max_pages, "max_var_bytes": 0},
        "timeout_ms": limits.wall_timeout_ms,
    }
    try:
        # WASI (preview 1, no files, no environment) only for modules that import it
        wasi = b"wasi_snapshot_preview1" in wasm
        compiled = extism.extism.CompiledPlugin(manifest, wasi=wasi, functions=_functions())
    except extism.Error as exc:
        raise ExtensionLoadError(name, f"{filename} is not a usable Extism plugin: {exc}") from None

    def factory() -> ExtismInstance:
        return ExtismInstance(compiled, name, capabilities, limits.json_depth, limits.memory_bytes)

    return factory
