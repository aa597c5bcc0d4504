"""Shared pieces of the benchmarks: a server in a subprocess, load, percentiles, memory."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from host.runtime.pool import PooledSandbox

BENCH_DIR = Path(__file__).resolve().parent
Row = tuple[str, str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def server(app_factory: str, env: dict[str, str]) -> Iterator[str]:
    """Run `uvicorn --factory app_factory` in a subprocess; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", app_factory, "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/server/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{app_factory} did not start")
        yield base
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """End a server subprocess: SIGTERM, then SIGKILL if it has not ended within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def load_stats(url: str, seconds: float = 5, concurrency: int = 16) -> dict[str, float]:
    """`{ok, failed, rps, p50_ms, p99_ms}` of a closed loop on `url`, from node (bench/load.mjs)."""
    out = subprocess.run(
        ["node", str(BENCH_DIR / "load.mjs"), url, str(seconds), str(concurrency)],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    if result["failed"]:
        raise RuntimeError(f"{url}: {result['failed']} failed requests")
    return result


def load(url: str, seconds: float = 5, concurrency: int = 16) -> float:
    """Requests/s of 200 responses at `url`."""
    return load_stats(url, seconds, concurrency)["rps"]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def call_latencies_us(sandbox: PooledSandbox, handler: int, args_json: str, calls: int, warmup: int) -> list[float]:
    """Microseconds of each of `calls` in-process calls, after `warmup` unmeasured ones."""
    for _ in range(warmup):
        sandbox.call_sync(handler, args_json)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        sandbox.call_sync(handler, args_json)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0
