"""Issue 2 figures: greet over HTTP vs native, invoke latency, load time, memory per extension."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.common import Row, call_latencies_us, load, percentile, rss_bytes, server
from host.capabilities import build_capabilities
from host.config import Settings
from host.extensions.manifest import Scopes
from host.paths import PROJECT_ROOT, SDK_PATH
from host.runtime import Runtime
from host.types import ExtensionKind

GREET = PROJECT_ROOT / "extensions" / "greet" / "dist" / "index.js"


def http_throughput(seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        extensions = Path(tmp) / "extensions"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
        env = {"EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(Path(tmp) / "data"),
               "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache")}
        with server("bench.apps:host_with_native_routes", env) as base:
            load(f"{base}/greet", 1)  # warm up both paths
            load(f"{base}/native/greet", 1)
            sandboxed = load(f"{base}/greet", seconds)
            native = load(f"{base}/native/greet", seconds)
    return [
        ("greet over HTTP, sandboxed (req/s)", f"{sandboxed:,.0f}"),
        ("greet over HTTP, native FastAPI (req/s)", f"{native:,.0f}"),
        ("sandboxed / native", f"{sandboxed / native:.2f}x"),
    ]


def settings(cache: Path) -> Settings:
    return Settings(_env_file=None, extensions_cache_path=cache)


def invoke_latency(calls: int = 3000) -> list[Row]:
    s = settings(PROJECT_ROOT / "data" / "cache")
    runtime = Runtime(s, SDK_PATH)
    sandbox = runtime.open("greet", ExtensionKind.endpoint, GREET, build_capabilities("greet", Scopes(), s))
    request = json.dumps([{"url": "/", "method": "GET", "path": "/", "params": {}, "query": {}, "headers": {},
                           "body": None, "accountability": None}])
    samples = call_latencies_us(sandbox, sandbox.registration.routes[0].handler, request, calls, warmup=200)
    runtime.close()
    return [
        ("JS invoke p50 (us)", f"{percentile(samples, 0.50):.0f}"),
        ("JS invoke p99 (us)", f"{percentile(samples, 0.99):.0f}"),
    ]


def load_times() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        for label in ("cold (compile)", "from compiled-code cache"):
            s = settings(cache)
            started = time.perf_counter()
            runtime = Runtime(s, SDK_PATH)
            runtime.open("greet", ExtensionKind.endpoint, GREET, build_capabilities("greet", Scopes(), s))
            rows.append((f"JS extension load, {label} (s)", f"{time.perf_counter() - started:.3f}"))
            runtime.close()
    return rows


def memory_per_extension(count: int = 20) -> list[Row]:
    s = settings(PROJECT_ROOT / "data" / "cache")
    runtime = Runtime(s, SDK_PATH)
    caps = build_capabilities("greet", Scopes(), s)
    runtime.open("warm", ExtensionKind.endpoint, GREET, caps)
    before = rss_bytes()
    sandboxes = [runtime.open(f"greet-{i}", ExtensionKind.endpoint, GREET, caps) for i in range(count)]
    after = rss_bytes()
    del sandboxes
    runtime.close()
    return [(f"RSS per loaded JS extension, one instance (MB, n={count})", f"{(after - before) / count / 2**20:.1f}")]


def run(seconds: float = 5) -> list[Row]:
    return [*http_throughput(seconds), *invoke_latency(), *load_times(), *memory_per_extension()]
