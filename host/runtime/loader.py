"""From an artifact on disk to a running `PooledSandbox`."""

from __future__ import annotations

import dataclasses
import threading
from enum import StrEnum
from pathlib import Path

from wasmtime import WasmtimeError
from wasmtime import component as cm

from host.capabilities import CapabilitySet
from host.config import Settings
from host.errors import ExtensionLoadError
from host.runtime import footprint
from host.runtime.component import ComponentInstance, build_linker
from host.runtime.engine import Engine, EngineSettings
from host.runtime.footprint import ArtifactRefused, Footprint, StoreBudget
from host.runtime.pool import PooledSandbox
from host.sandbox import Limits
from host.types import ExtensionKind, RegisterContext

WASM_MAGIC = b"\0asm"
CORE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_VERSION = b"\x0d\x00\x01\x00"


class RuntimeKind(StrEnum):
    js = "js"
    python = "python"
    component = "component"
    extism = "extism"


def detect_runtime(path: Path) -> RuntimeKind:
    """Choose the runtime from the file: its suffix for source, its header for wasm."""
    suffix = path.suffix.lower()
    if suffix in (".js", ".mjs"):
        return RuntimeKind.js
    if suffix == ".py":
        return RuntimeKind.python
    with path.open("rb") as f:
        header = f.read(8)
    if header[:4] != WASM_MAGIC:
        raise ExtensionLoadError(path.name, f"{path.name} is neither .js, .py nor WebAssembly (no \\0asm header)")
    if header[4:8] == COMPONENT_VERSION:
        return RuntimeKind.component
    if header[4:8] == CORE_VERSION:
        return RuntimeKind.extism
    raise ExtensionLoadError(path.name, f"{path.name} has an unknown WebAssembly version {header[4:8].hex()}")


def limits_from(settings: Settings) -> Limits:
    return Limits(
        memory_bytes=settings.extensions_sandbox_memory * 1024 * 1024,
        timeout_ms=settings.extensions_sandbox_timeout,
        wall_timeout_ms=max(settings.extensions_sandbox_wall_timeout, settings.extensions_sandbox_timeout),
        pool_size=settings.extensions_sandbox_pool_size,
        json_depth=settings.max_json_depth,
    )


def read_artifact(name: str, path: Path, cap: int, setting: str) -> bytes:
    """The artifact's bytes, refused when larger than `cap` (read at most one byte past it)."""
    try:
        with path.open("rb") as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise ExtensionLoadError(name, f"cannot read {path.name}: {exc}") from None
    if len(data) > cap:
        size = path.stat().st_size
        raise ExtensionLoadError(
            name, f"{path.name} is {size} bytes, larger than the {cap} bytes {setting} allows"
        )
    return data


def _refused(name: str, what: str, reason: ArtifactRefused, limit_mb: int) -> ExtensionLoadError:
    return ExtensionLoadError(name, f"{what} cannot run within EXTENSIONS_SANDBOX_MEMORY ({limit_mb} MB): {reason}")


class Runtime:
    """The engine, and the prebuilt language runtimes compiled once and shared."""

    def __init__(self, settings: Settings, sdk_path: Path) -> None:
        self.settings = settings
        self.sdk_path = sdk_path
        self.engine = Engine(EngineSettings(), settings.cache_path)
        self.limits = limits_from(settings)
        self._components: dict[Path, tuple[cm.Component, Footprint]] = {}
        self._lock = threading.Lock()

    def runtime_component(self, kind: RuntimeKind) -> tuple[cm.Component, Footprint]:
        paths = {
            RuntimeKind.js: self.sdk_path / "js" / "dist" / "runtime.wasm",
            RuntimeKind.python: self.sdk_path / "python" / "dist" / "runtime.wasm",
        }
        path = paths[kind]
        if not path.exists():
            raise ExtensionLoadError(
                kind.value, f"the {kind.value} runtime component {path} is not built (run `make build`)"
            )
        return self._compile(path, None)

    def _compile(self, path: Path, wasm: bytes | None) -> tuple[cm.Component, Footprint]:
        """Compile a component (once per path) and read its footprint."""
        with self._lock:
            if path not in self._components:
                data = path.read_bytes() if wasm is None else wasm
                try:
                    compiled = self.engine.component(data)
                except WasmtimeError as exc:
                    raise ExtensionLoadError(path.name, f"{path.name} is not a valid component: {exc}") from None
                try:
                    found = footprint.component(data)
                except ArtifactRefused as exc:
                    raise ExtensionLoadError(path.name, f"{path.name} cannot be analysed: {exc}") from None
                self._components[path] = (compiled, found)
            return self._components[path]

    def store_budget(self, name: str, what: str, found: Footprint) -> StoreBudget:
        try:
            return footprint.component_budget(found, self.limits.memory_bytes)
        except ArtifactRefused as exc:
            raise _refused(name, what, exc, self.settings.extensions_sandbox_memory) from None

    def open(
        self,
        name: str,
        kind: ExtensionKind,
        artifact: Path,
        capabilities: CapabilitySet,
        *,
        single_use: bool = False,
    ) -> PooledSandbox:
        """`single_use`: every call runs in a fresh instance (see `Limits.single_use`)."""
        runtime = detect_runtime(artifact)
        context = RegisterContext(kind=kind, name=name, file=artifact.name)
        if runtime in (RuntimeKind.js, RuntimeKind.python):
            cap, setting = self.settings.extensions_max_source_bytes, "EXTENSIONS_MAX_SOURCE_BYTES"
        else:
            cap, setting = self.settings.extensions_max_wasm_bytes, "EXTENSIONS_MAX_WASM_BYTES"
        data = read_artifact(name, artifact, cap, setting)
        if runtime is RuntimeKind.extism:
            from host.runtime.extism_driver import extism_factory

            factory = extism_factory(self, name, artifact.name, data, capabilities)
            source = ""
        else:
            if runtime is RuntimeKind.component:
                component, found = self._compile(artifact, data)
                budget = self.store_budget(name, artifact.name, found)
                source = ""
            else:
                component, found = self.runtime_component(runtime)
                budget = self.store_budget(name, f"the {runtime.value} runtime", found)
                try:
                    source = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ExtensionLoadError(name, f"{artifact.name} is not UTF-8 text: {exc}") from None
            linker = build_linker(self.engine, capabilities)

            def factory() -> ComponentInstance:
                return ComponentInstance(
                    self.engine, component, linker, name, budget, self.settings.extensions_register_timeout
                )

        return PooledSandbox(
            name,
            runtime.value,
            factory,
            source,
            context,
            dataclasses.replace(self.limits, single_use=True) if single_use else self.limits,
            self.settings.extensions_register_timeout,
        )

    def close(self) -> None:
        self.engine.close()
