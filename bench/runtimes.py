"""Per runtime (JS source, Python source, JS component, Python component,
AssemblyScript, C): invoke latency of the echo endpoint (in-process, through
`PooledSandbox.call_sync`), load time cold (empty compiled-code cache) and
cached, artifact size and memory per instance.

The extensions are the conformance suite's (tests/conformance/cases), built
once and cached under data/test-cache/conformance/.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Row, call_latencies_us, rss_bytes
from host.capabilities import build_capabilities
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import PooledSandbox
from host.types import ExtensionKind
from tests.conformance.artifacts import RUNTIMES, artifact
from tests.support import make_settings

CALLS = 2000
WARMUP = 100
INSTANCES = 8
REQUEST = json.dumps([{"url": "/echo/1?q=a", "method": "GET", "path": "/echo/1", "params": {"id": "1"},
                       "query": {"q": "a"}, "headers": {}, "body": None, "accountability": None}])
RUNTIME_COMPONENTS = {
    "js": SDK_PATH / "js" / "dist" / "runtime.wasm",
    "python": SDK_PATH / "python" / "dist" / "runtime.wasm",
}


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} MB"


def _open(runtime: Runtime, label: str, path: Path) -> PooledSandbox:
    capabilities = build_capabilities(label, Scopes(), runtime.settings)
    return runtime.open(label, ExtensionKind.endpoint, path, capabilities)


def _measure(label: str, path: Path, work: Path) -> list[Row]:
    rows: list[Row] = []
    cache = work / "cache"
    (cache / "extism").mkdir(parents=True)
    config = cache / "extism-cache.toml"
    config.write_text(f'[cache]\ndirectory = "{cache / "extism"}"\n')
    os.environ["EXTISM_CACHE_CONFIG"] = str(config)  # Extism's code cache, per measured runtime
    settings = make_settings(work, extensions_cache_path=cache)
    timings = []
    for _attempt in ("cold", "cached"):
        runtime = Runtime(settings, SDK_PATH)  # a new process-level runtime: only the disk cache carries over
        started = time.perf_counter()
        sandbox = _open(runtime, label, path)
        timings.append(time.perf_counter() - started)
        if _attempt == "cached":
            break
        sandbox.close()
        runtime.close()
    rows.append((f"{label}: load cold / cached", f"{timings[0] * 1000:.0f} / {timings[1] * 1000:.0f} ms"))

    handler = next(r.handler for r in sandbox.registration.routes if r.method == "GET" and r.path == "/echo/:id")
    latencies = call_latencies_us(sandbox, handler, REQUEST, CALLS, WARMUP)
    cuts = statistics.quantiles(latencies, n=100)
    rows.append((f"{label}: echo invoke p50 / p99", f"{cuts[49]:.0f} / {cuts[98]:.0f} us"))

    size = path.stat().st_size
    base = RUNTIME_COMPONENTS.get(label)
    shown = f"{_size(size)} + {_size(base.stat().st_size)} runtime" if base else _size(size)
    rows.append((f"{label}: artifact size", shown))

    gc.collect()
    before = rss_bytes()
    extra = [_open(runtime, label, path) for _ in range(INSTANCES)]  # code is shared; each adds an instance
    gc.collect()
    rows.append((f"{label}: memory per instance", _size(max(0, rss_bytes() - before) / INSTANCES)))
    for s in extra:
        s.close()
    sandbox.close()
    runtime.close()
    return rows


def run() -> list[Row]:
    rows: list[Row] = []
    for runtime in RUNTIMES:
        try:
            path = artifact(runtime, "endpoint")
        except Exception as error:
            rows.append((f"{runtime.label}", f"not built: {str(error).splitlines()[0][:60]}"))
            continue
        work = Path(tempfile.mkdtemp(prefix=f"exthost-bench-{runtime.label}-"))
        try:
            rows.extend(_measure(runtime.label, path, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return rows


if __name__ == "__main__":
    for label, value in run():
        print(f"  {label:<40} {value:>24}")
