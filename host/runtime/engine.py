"""The wasmtime engine: its settings, the epoch ticker that enforces timeouts,
and the on-disk cache of compiled code."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import wasmtime
from wasmtime import component as cm

log = logging.getLogger("exthost.runtime")

EPOCH_TICK_S = 0.005
"""How often the engine's epoch advances; a timeout is enforced to within about this."""


@dataclass(frozen=True)
class EngineSettings:
    epoch_interruption: bool = True
    max_wasm_stack: int = 1 << 20
    cranelift_opt_level: str = "speed"

    def fingerprint(self) -> str:
        data = {**asdict(self), "wasmtime": wasmtime.__version__ if hasattr(wasmtime, "__version__") else "50"}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


class Engine:
    """One wasmtime engine shared by every sandbox, with an epoch ticker thread."""

    def __init__(self, settings: EngineSettings, cache_dir: Path | None) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = settings.epoch_interruption
        config.max_wasm_stack = settings.max_wasm_stack
        config.cranelift_opt_level = settings.cranelift_opt_level
        self.settings = settings
        self.wasm = wasmtime.Engine(config)
        self.cache = CodeCache(cache_dir, settings.fingerprint()) if cache_dir else None
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="exthost-epoch", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(EPOCH_TICK_S):
            self.wasm.increment_epoch()

    @staticmethod
    def ticks(ms: float) -> int:
        return max(1, int(ms / 1000 / EPOCH_TICK_S + 0.999))

    def component(self, wasm: bytes) -> cm.Component:
        """Compile `wasm`, or load its compiled code from the cache."""
        if self.cache is None:
            return cm.Component(self.wasm, wasm)
        return self.cache.component(self.wasm, wasm)

    def close(self) -> None:
        self._stop.set()


class CodeCache:
    """Compiled components on disk, keyed by the wasm bytes and the engine settings."""

    def __init__(self, directory: Path, fingerprint: str) -> None:
        self.directory = directory
        self.fingerprint = fingerprint
        self.hits = 0
        self.misses = 0

    def path_for(self, wasm: bytes) -> Path:
        digest = hashlib.sha256(wasm).hexdigest()
        return self.directory / f"{digest}-{self.fingerprint}.cwasm"

    def component(self, engine: wasmtime.Engine, wasm: bytes) -> cm.Component:
        path = self.path_for(wasm)
        if path.exists():
            try:
                component = cm.Component.deserialize_file(engine, str(path))
                self.hits += 1
                return component
            except wasmtime.WasmtimeError as exc:
                log.warning("discarding unusable cache entry %s: %s", path.name, exc)
                path.unlink(missing_ok=True)
        self.misses += 1
        started = time.perf_counter()
        # a first compile of a language runtime takes tens of seconds: say what is going on
        log.warning("compiling %.1f MB of WebAssembly (once: the result is cached in %s)...",
                    len(wasm) / 1e6, self.directory)
        component = cm.Component(engine, wasm)
        log.info("compiled %d bytes in %.2fs", len(wasm), time.perf_counter() - started)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(component.serialize())
            tmp.replace(path)
        except OSError as exc:
            log.warning("cannot write compiled-code cache %s: %s", path, exc)
        return component
