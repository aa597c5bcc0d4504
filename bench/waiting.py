"""Issue 13 item 2 figures: threads while hundreds of calls sleep, and what the async call driver
costs a call that does not wait (`PooledSandbox.call` against `call_sync`, the same call run
whole on the calling thread, measured in the same run)."""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Row, call_latencies_us, percentile
from host.capabilities import build_capabilities
from host.config import Settings
from host.extensions.manifest import Scopes
from host.paths import PROJECT_ROOT, SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import PooledSandbox
from host.types import ExtensionKind

GREET = PROJECT_ROOT / "extensions" / "greet" / "dist" / "index.js"
SLEEPER = """
import { sleep } from 'directus:api';
export default { id: 'sleeper', handler: async ({ n }) => { await sleep(1000); return n * 2; } };
"""
EXTENSIONS = 3
CALLS_PER_EXTENSION = 100


def sleeping_calls(runtime: Runtime, folder: Path) -> list[Row]:
    """Threads in the process before, and at most while, 300 calls sleep 1 s each in 3 extensions."""
    sandboxes: list[PooledSandbox] = []
    for index in range(EXTENSIONS):
        path = folder / f"sleeper{index}.js"
        path.write_text(SLEEPER, encoding="utf-8")
        capabilities = build_capabilities(path.stem, Scopes(sleep={}), runtime.settings)
        sandboxes.append(runtime.open(path.stem, ExtensionKind.operation, path, capabilities))
    idle = threading.active_count()
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, threading.active_count())
            time.sleep(0.002)

    async def calls() -> list[object]:
        pending = []
        for sandbox in sandboxes:
            assert sandbox.registration.operation is not None
            handler = sandbox.registration.operation.handler
            pending += [sandbox.call(handler, [{"n": n}, {}]) for n in range(CALLS_PER_EXTENSION)]
        return await asyncio.gather(*pending)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    answers = asyncio.run(calls())
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    for sandbox in sandboxes:
        sandbox.close()
    assert answers == [n * 2 for _ in sandboxes for n in range(CALLS_PER_EXTENSION)]
    total = EXTENSIONS * CALLS_PER_EXTENSION
    return [
        (f"{total} calls sleeping 1 s: threads before", f"{idle}"),
        (f"{total} calls sleeping 1 s: threads at most", f"{peak}"),
        (f"{total} calls sleeping 1 s: all answered in (s)", f"{took:.2f}"),
    ]


def call_overhead(runtime: Runtime, calls: int = 3000) -> list[Row]:
    capabilities = build_capabilities("greet", Scopes(), runtime.settings)
    sandbox = runtime.open("greet", ExtensionKind.endpoint, GREET, capabilities)
    handler = sandbox.registration.routes[0].handler
    request: dict[str, object] = {"url": "/", "method": "GET", "path": "/", "params": {}, "query": {}, "headers": {},
               "body": None, "accountability": None}
    on_thread = call_latencies_us(sandbox, handler, json.dumps([request]), calls, warmup=200)

    async def driven() -> list[float]:
        samples = []
        for index in range(calls + 200):
            started = time.perf_counter()
            await sandbox.call(handler, [request])
            if index >= 200:
                samples.append((time.perf_counter() - started) * 1e6)
        return samples

    async_samples = asyncio.run(driven())
    sandbox.close()
    sync_p50, async_p50 = percentile(on_thread, 0.5), percentile(async_samples, 0.5)
    return [
        ("greet call_sync p50 (us)", f"{sync_p50:.0f}"),
        ("greet sandbox.call as the web layer makes it, p50 (us)", f"{async_p50:.0f}"),
        ("call / call_sync", f"{async_p50 / sync_p50:.2f}x"),
    ]


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, extensions_cache_path=PROJECT_ROOT / "data" / "cache",
                            data_path=Path(tmp) / "data")
        runtime = Runtime(settings, SDK_PATH)
        try:
            return [*sleeping_calls(runtime, Path(tmp)), *call_overhead(runtime)]
        finally:
            runtime.close()
