"""Hook overhead on `items.create`: requests/s through real HTTP with 0, 1 and 5 sandboxed filters.

Each case runs the host in its own uvicorn process (so the client does not share its
GIL) over a fresh SQLite database, with 0, 1 or 5 hook extensions that each register
one JS filter on `items.create`. The client sends a bounded number of POSTs with a
fixed concurrency, after a warm-up that fills the instance pools.

`run()` returns `(label, value)` rows; `python -m bench.items` prints them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import stop
from host.paths import PROJECT_ROOT

TOKEN = "bench-admin-token"
REQUESTS = 600
WARMUP = 60
CONCURRENCY = 8
FILTER = "export default ({ filter }) => { filter('items.create', (payload) => ({ ...payload, n%d: true })); };"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_hook(root: Path, name: str, source: str) -> None:
    folder = root / name
    (folder / "dist").mkdir(parents=True)
    (folder / "dist" / "index.js").write_text(source, encoding="utf-8")
    spec = {"type": "hook", "path": "dist/index.js", "host": "^11.0.0", "sandbox": {"enabled": True}}
    manifest = {"name": name, "version": "1.0.0", "directus:extension": spec}
    (folder / "package.json").write_text(json.dumps(manifest), encoding="utf-8")


def _start(root: Path, filters: int) -> tuple[subprocess.Popen[bytes], str]:
    extensions = root / "extensions"
    extensions.mkdir()
    for index in range(filters):
        _write_hook(extensions, f"filter-{index}", FILTER % index)
    port = _free_port()
    env = {
        **os.environ,
        "EXTENSIONS_PATH": str(extensions),
        "DATA_PATH": str(root / "data"),
        "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache"),
        "ADMIN_TOKEN": TOKEN,
        "DB_URL": "",
    }
    command = [sys.executable, "-m", "uvicorn", "host.app:create_app", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


async def _wait_ready(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the host exited with {process.returncode}")
        try:
            if (await client.get("/server/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the host did not start within 60 s")


async def _post_many(client: httpx.AsyncClient, count: int) -> None:
    remaining = iter(range(count))

    async def worker() -> None:
        for index in remaining:
            response = await client.post("/items/bench", json={"title": f"item {index}", "n": index})
            if response.status_code != 200:
                raise RuntimeError(f"items.create answered {response.status_code}: {response.text}")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def _measure(base_url: str, process: subprocess.Popen[bytes]) -> float:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=30) as client:
        await _wait_ready(client, process)
        await _post_many(client, WARMUP)
        started = time.perf_counter()
        await _post_many(client, REQUESTS)
        return REQUESTS / (time.perf_counter() - started)


def measure(filters: int) -> float:
    """items.create requests/s with `filters` sandboxed filter hooks."""
    with tempfile.TemporaryDirectory(prefix="exthost-bench-items-") as tmp:
        process, base_url = _start(Path(tmp), filters)
        try:
            return asyncio.run(_measure(base_url, process))
        finally:
            stop(process)


def run() -> list[tuple[str, str]]:
    """Rows for `make bench`: requests/s per case and the ratio against no hooks."""
    rates = {filters: measure(filters) for filters in (0, 1, 5)}
    base = rates[0]
    rows = [("items.create, no hooks", f"{base:.0f} req/s")]
    for filters in (1, 5):
        label = f"items.create, {filters} filter hook{'s' if filters > 1 else ''}"
        rows.append((label, f"{rates[filters]:.0f} req/s ({rates[filters] / base:.2f}x no hooks)"))
    return rows


if __name__ == "__main__":
    for label, value in run():
        print(f"{label:<36} {value}")
