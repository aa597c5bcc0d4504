"""From an artifact on disk to a running `PooledSandbox`."""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path

from wasmtime import WasmtimeError
from wasmtime import component as cm

from host.capabilities import CapabilitySet
from host.config import Settings
from host.errors import ExtensionLoadError
from host.runtime.component import ComponentInstance, build_linker
from host.runtime.engine import Engine, EngineSettings
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
    )


class Runtime:
    """The engine, and the prebuilt language runtimes compiled once and shared."""

    def __init__(self, settings: Settings, sdk_path: Path) -> None:
        self.settings = settings
        self.sdk_path = sdk_path
        self.engine = Engine(EngineSettings(), settings.cache_path)
        self.limits = limits_from(settings)
        self._components: dict[Path, cm.Component] = {}
        self._lock = threading.Lock()

    def runtime_component(self, kind: RuntimeKind) -> cm.Component:
        paths = {
            RuntimeKind.js: self.sdk_path / "js" / "dist" / "runtime.wasm",
            RuntimeKind.python: self.sdk_path / "python" / "dist" / "runtime.wasm",
        }
        path = paths[kind]
        if not path.exists():
            raise ExtensionLoadError(
                kind.value, f"the {kind.value} runtime component {path} is not built (run `make build`)"
            )
        return self._compile(path)

    def _compile(self, path: Path) -> cm.Component:
        with self._lock:
            if path not in self._components:
                try:
                    self._components[path] = self.engine.component(path.read_bytes())
                except WasmtimeError as exc:
                    raise ExtensionLoadError(path.name, f"{path.name} is not a valid component: {exc}") from None
            return self._components[path]

    def open(
        self,
        name: str,
        kind: ExtensionKind,
        artifact: Path,
        capabilities: CapabilitySet,
    ) -> PooledSandbox:
        runtime = detect_runtime(artifact)
        context = RegisterContext(kind=kind, name=name)
        if runtime is RuntimeKind.extism:
            from host.runtime.extism_driver import extism_factory

            factory = extism_factory(self, name, artifact, capabilities)
            source = ""
        else:
            if runtime is RuntimeKind.component:
                component = self._compile(artifact)
                source = ""
            else:
                component = self.runtime_component(runtime)
                try:
                    source = artifact.read_text(encoding="utf-8")
                except UnicodeDecodeError as exc:
                    raise ExtensionLoadError(name, f"{artifact.name} is not UTF-8 text: {exc}") from None
            linker = build_linker(self.engine, capabilities)
            memory = self.limits.memory_bytes

            def factory() -> ComponentInstance:
                return ComponentInstance(self.engine, component, linker, name, memory)

        return PooledSandbox(
            name,
            runtime.value,
            factory,
            source,
            context,
            self.limits,
            self.settings.extensions_register_timeout,
        )

    def close(self) -> None:
        self.engine.close()
