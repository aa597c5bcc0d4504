"""Shared pieces of the benchmarks: a server in a subprocess, HTTP load (wrk), percentiles, memory."""

from __future__ import annotations

import json
import os
import shutil
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
        deadline = time.monotonic() + 300  # a first start compiles the runtimes (tens of seconds each)
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


WRK = "wrk"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
WRK_THREADS = 1
"""One wrk thread: on this 2-core machine the other core is the server's. Nothing is pinned to a CPU."""


class LoadGeneratorMissing(RuntimeError):
    """No `wrk` on PATH: the HTTP figures cannot be measured honestly (`make bench` installs it)."""


def load_stats(
    url: str,
    seconds: float = 5,
    concurrency: int = 16,
    *,
    method: str = "GET",
    body: Path | None = None,
    content_type: str = "application/json",
    allow_failures: bool = False,
) -> dict[str, float]:
    """`{ok, failed, rps, p50_ms, p99_ms}` of `wrk -t1 -c<concurrency>` (keep-alive, closed loop) on
    `url` for `seconds`; `body` is a file sent as every request's body. Raises when any request
    failed, unless `allow_failures` (then the caller reports `failed`); always when none succeeded."""
    if shutil.which(WRK) is None:
        raise LoadGeneratorMissing("wrk is not installed (Debian package `wrk`; `make bench` installs it)")
    env = {**os.environ, "WRK_METHOD": method, "WRK_BODY_FILE": str(body) if body else "",
           "WRK_CONTENT_TYPE": content_type}
    out = subprocess.run(
        [WRK, f"-t{WRK_THREADS}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
         "--latency", "-s", str(WRK_SCRIPT), url],
        capture_output=True, text=True, check=True, env=env,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no report for {url}: {out.stdout}{out.stderr}")
    result: dict[str, float] = json.loads(line.removeprefix("WRK_JSON "))
    if (result["failed"] and not allow_failures) or not result["ok"]:
        raise RuntimeError(f"{url}: {result['failed']} failed requests, {result['ok']} answered")
    return result


def load(url: str, seconds: float = 5, concurrency: int = 16) -> float:
    """Requests/s of 2xx/3xx responses at `url`."""
    return load_stats(url, seconds, concurrency)["rps"]


def load_row(label: str, stats: dict[str, float], baseline: dict[str, float] | None = None) -> Row:
    """`label: 1,234 req/s (p50 1.2 / p99 3.4 ms)`, with `0.50x` of `baseline` in front when given."""
    figures = f"{stats['rps']:,.0f} req/s, p50 {stats['p50_ms']:.2f} / p99 {stats['p99_ms']:.2f} ms"
    if baseline is not None:
        figures = f"{stats['rps'] / baseline['rps']:.2f}x  ({figures})"
    return label, figures


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
