"""Endpoint figures: greet over HTTP vs native, invoke latency, load and start-up time, memory per
extension, and how fast large bodies cross the sandbox boundary.

Every HTTP figure is wrk (`-t1 -c16`, bench/common.py `load_stats`) against the same server
process, as a ratio to a native FastAPI route of that server measured in the same run, the
absolute figures beside it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import (
    LoadGeneratorMissing,
    Row,
    call_latencies_us,
    free_port,
    load_row,
    load_stats,
    percentile,
    rss_bytes,
    server,
    stop,
)
from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import ExtensionFault
from host.extensions.manifest import Scopes
from host.paths import PROJECT_ROOT, SDK_PATH
from host.runtime import Runtime
from host.types import ExtensionKind, Json
from tests.support import write_extension

GREET = PROJECT_ROOT / "extensions" / "greet" / "dist" / "index.js"
CACHE = PROJECT_ROOT / "data" / "cache"
SIZES = (1 << 20, 5 << 20)
GREET_SOURCE = "export default { id: 'greet-%d', handler: (router) => router.get('/', (req, res) => res.send('Hi')) };"
BODIES_JS = """export default { id: 'bodies-js', handler: (router) => {
  router.post('/in', (req, res) => res.send(String(req.body.length)));
  router.get('/out/:n', (req, res) => res.send('x'.repeat(Number(req.params.n))));
} };
"""
BODIES_PY = """from directus_api import endpoint

router = endpoint("bodies-py")


@router.post("/in")
def body_in(req):
    return {"status": 200, "body": str(len(req["body"]))}


@router.get("/out/:n")
def body_out(req):
    return {"status": 200, "body": "x" * int(req["params"]["n"])}
"""
BODY_EXTENSIONS = (("JS", "bodies-js", BODIES_JS, "index.js"), ("Python", "bodies-py", BODIES_PY, "index.py"))


def _mb(size: int) -> str:
    return f"{size >> 20} MB"


def _extensions(root: Path) -> Path:
    extensions = root / "extensions"
    shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
    for _, name, source, filename in BODY_EXTENSIONS:
        write_extension(extensions, name, "endpoint", source, filename=filename)
    return extensions


def http_figures(seconds: float) -> list[Row]:
    """greet at -c16, then each body size at -c1 (one body at a time: MB/s of one request stream)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = {"EXTENSIONS_PATH": str(_extensions(Path(tmp))), "DATA_PATH": str(Path(tmp) / "data"),
               "EXTENSIONS_CACHE_PATH": str(CACHE), "MAX_PAYLOAD_SIZE": str(2 * SIZES[-1])}
        with server("bench.apps:host_with_native_routes", env) as base:
            load_stats(f"{base}/greet", 1)  # warm up both paths
            load_stats(f"{base}/native/greet", 1)
            native = load_stats(f"{base}/native/greet", seconds)
            sandboxed = load_stats(f"{base}/greet", seconds)
            rows.append(load_row("greet over HTTP, native FastAPI route (baseline)", native))
            rows.append(load_row("greet over HTTP, sandboxed JS / native", sandboxed, native))
            for size in SIZES:
                body = Path(tmp) / f"body-{size}"
                body.write_bytes(b"y" * size)
                way_in = load_stats(f"{base}/native/in", seconds, 1, method="POST", body=body,
                                    content_type="text/plain")
                way_out = load_stats(f"{base}/native/out/{size}", seconds, 1)
                rows.append(_mbps_row(f"{_mb(size)} request body over HTTP, native (baseline)", way_in, size))
                for label, name, _, _ in BODY_EXTENSIONS:
                    stats = load_stats(f"{base}/{name}/in", seconds, 1, method="POST", body=body,
                                       content_type="text/plain", allow_failures=True)
                    rows.append(_mbps_row(f"{_mb(size)} request body over HTTP, {label} / native", stats, size, way_in))
                rows.append(_mbps_row(f"{_mb(size)} response body over HTTP, native (baseline)", way_out, size))
                for label, name, _, _ in BODY_EXTENSIONS:
                    stats = load_stats(f"{base}/{name}/out/{size}", seconds, 1, allow_failures=True)
                    label_out = f"{_mb(size)} response body over HTTP, {label} / native"
                    rows.append(_mbps_row(label_out, stats, size, way_out))
    return rows


def _mbps_row(label: str, stats: dict[str, float], size: int, baseline: dict[str, float] | None = None) -> Row:
    mbps = stats["rps"] * size / 2**20
    figures = f"{mbps:,.0f} MB/s, p50 {stats['p50_ms']:.1f} / p99 {stats['p99_ms']:.1f} ms"
    if stats["failed"]:
        figures += f", {stats['failed']:.0f} of {stats['ok'] + stats['failed']:.0f} failed"
    if baseline is not None:
        figures = f"{stats['rps'] / baseline['rps']:.2f}x  ({figures})"
    return label, figures


def settings(cache: Path) -> Settings:
    return Settings(_env_file=None, extensions_cache_path=cache)


def invoke_latency(calls: int = 3000) -> list[Row]:
    s = settings(CACHE)
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


def boundary_in_process(repeats: int = 5) -> list[Row]:
    """MB/s of `sandbox.call` as the web layer makes it (arguments encoded, the call on the
    sandbox's thread, the result decoded by the host), best of `repeats`: a body of each size
    into the handler (it answers the length) and out of it."""
    rows: list[Row] = []
    s = settings(CACHE)
    runtime = Runtime(s, SDK_PATH)
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, source, filename in BODY_EXTENSIONS:
            folder = write_extension(Path(tmp), name, "endpoint", source, filename=filename)
            sandbox = runtime.open(name, ExtensionKind.endpoint, folder / "dist" / filename,
                                   build_capabilities(name, Scopes(), s))
            handlers = {route.path: route.handler for route in sandbox.registration.routes}

            async def best(handler: int, message: Json) -> float:
                """The fastest of `repeats` calls; a call that faults (a JS instance out of memory after
                several large bodies: docs/performance.md) is left out, and is replaced by the pool."""
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    try:
                        await sandbox.call(handler, [message])  # noqa: B023 (awaited before the loop goes on)
                    except ExtensionFault:
                        continue
                    times.append(time.perf_counter() - started)
                return min(times) if times else float("nan")

            for size in SIZES:
                request: dict[str, Json] = {"url": "/in", "method": "POST", "path": "/in", "params": {}, "query": {},
                                            "headers": {}, "body": "y" * size, "accountability": None}
                seconds_in = asyncio.run(best(handlers["/in"], request))
                rows.append((f"{_mb(size)} request body into {label}, sandbox.call (MB/s)",
                             f"{size / seconds_in / 2**20:,.0f}  ({seconds_in * 1000:.0f} ms)"))
                request = {**request, "url": f"/out/{size}", "method": "GET", "path": f"/out/{size}",
                           "params": {"n": str(size)}, "body": None}
                seconds_out = asyncio.run(best(handlers["/out/:n"], request))
                rows.append((f"{_mb(size)} response body out of {label}, sandbox.call (MB/s)",
                             f"{size / seconds_out / 2**20:,.0f}  ({seconds_out * 1000:.0f} ms)"))
    runtime.close()
    return rows


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


def _start_until_healthy(extensions: Path, data: Path, check: str | None = None) -> float:
    """Seconds from starting `uvicorn --factory host.app:create_app` until /server/health answers 200
    (the host answers only once every extension is loaded); then `check`, a path, must answer 200."""
    port = free_port()
    env = {"EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(data), "EXTENSIONS_CACHE_PATH": str(CACHE)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "host.app:create_app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env},
    )
    try:
        with httpx.Client(timeout=1) as client:
            deadline = started + 300
            while time.perf_counter() < deadline:
                try:
                    if client.get(f"http://127.0.0.1:{port}/server/health").status_code == 200:
                        seconds = time.perf_counter() - started
                        if check and client.get(f"http://127.0.0.1:{port}{check}").status_code != 200:
                            raise RuntimeError(f"{check} does not answer: an extension did not load")
                        return seconds
                except httpx.HTTPError:
                    time.sleep(0.02)
        raise RuntimeError(f"the host did not answer /server/health with {extensions}")
    finally:
        stop(process)


def startup_times(counts: tuple[int, ...] = (0, 1, 10, 50)) -> list[Row]:
    """Process start until /server/health answers, with N JS endpoints like `greet` (each its own
    id), the compiled-code cache warm (one start before the measured ones fills it)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warm = root / "warm"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", warm / "greet")
        _start_until_healthy(warm, root / "data-warm")
        for count in counts:
            extensions = root / f"n{count}"
            extensions.mkdir()
            for i in range(count):
                write_extension(extensions, f"greet-{i}", "endpoint", GREET_SOURCE % i)
            seconds = _start_until_healthy(extensions, root / f"data-{count}", f"/greet-{count - 1}" if count else None)
            label = f"host start-up until /server/health, {count} JS extensions, warm cache (s)"
            rows.append((label, f"{seconds:.2f}"))
    return rows


def memory_per_extension(count: int = 20) -> list[Row]:
    s = settings(CACHE)
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
    try:
        http = http_figures(seconds)
    except LoadGeneratorMissing as exc:
        http = [("HTTP figures", f"skipped: {exc}")]
    return [*http, *invoke_latency(), *boundary_in_process(), *load_times(), *startup_times(),
            *memory_per_extension()]
