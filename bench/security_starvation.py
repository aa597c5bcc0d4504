"""Issue 8, starvation: a healthy endpoint's latency alone vs while 60 calls sleep in
other extensions (15 extensions x pool size 4), over real HTTP (uvicorn, wrk).

The sleepers are kept busy by 60 client threads, each calling its sleeper again as soon
as it answers, so about 60 calls are asleep in `sleep()` during the whole measurement.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path

import httpx

from bench.common import Row, load_stats, server
from host.paths import PROJECT_ROOT

SLEEPERS = 15
POOL_SIZE = 4
SLEEP_MS = 1000
SECONDS = 5.0
CONCURRENCY = 4

SLEEPER = f"""
import {{ sleep }} from 'directus:api';
export default (router) => router.get('/', async () => {{
  await sleep({SLEEP_MS});
  return {{ status: 200, body: 'rested' }};
}});
"""


def write_sleeper(root: Path, name: str) -> None:
    folder = root / name
    (folder / "dist").mkdir(parents=True)
    (folder / "dist" / "index.js").write_text(SLEEPER, encoding="utf-8")
    spec = {"type": "endpoint", "path": "dist/index.js", "host": "^11.0.0",
            "sandbox": {"enabled": True, "requestedScopes": {"sleep": {}}}}
    manifest = {"name": name, "version": "1.0.0", "directus:extension": spec}
    (folder / "package.json").write_text(json.dumps(manifest), encoding="utf-8")


class Sleepers:
    """`SLEEPERS * POOL_SIZE` closed-loop callers of the sleeping extensions."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.stop = threading.Event()
        self.completed = [0] * (SLEEPERS * POOL_SIZE)
        self.failed = 0
        self.threads = [threading.Thread(target=self._loop, args=(i,), daemon=True) for i in range(len(self.completed))]

    def _loop(self, index: int) -> None:
        url = f"{self.base}/sleeper-{index % SLEEPERS:02d}"
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                if client.get(url).status_code == 200:
                    self.completed[index] += 1
                else:
                    self.failed += 1

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        while not self.stop.wait(0.05) and not all(self.completed):  # every caller has had one full call
            pass

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        extensions = Path(tmp) / "extensions"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
        for index in range(SLEEPERS):
            write_sleeper(extensions, f"sleeper-{index:02d}")
        env = {
            "EXTENSIONS_PATH": str(extensions),
            "DATA_PATH": str(Path(tmp) / "data"),
            "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache"),
            "EXTENSIONS_SANDBOX_POOL_SIZE": str(POOL_SIZE),
        }
        with server("host.app:create_app", env) as base:
            healthy = f"{base}/greet"
            load_stats(healthy, 1, CONCURRENCY)  # warm up
            alone = load_stats(healthy, SECONDS, CONCURRENCY)
            sleepers = Sleepers(base)
            sleepers.start()
            try:
                busy = load_stats(healthy, SECONDS, CONCURRENCY)
            finally:
                sleepers.close()
            slept = sum(sleepers.completed)
            if sleepers.failed:
                raise RuntimeError(f"{sleepers.failed} sleeping calls failed")
    calls = SLEEPERS * POOL_SIZE
    return [
        ("healthy endpoint alone, p50 (ms)", f"{alone['p50_ms']:.2f}"),
        ("healthy endpoint alone, p99 (ms)", f"{alone['p99_ms']:.2f}"),
        (f"healthy endpoint, {calls} calls asleep elsewhere, p50 (ms)", f"{busy['p50_ms']:.2f}"),
        (f"healthy endpoint, {calls} calls asleep elsewhere, p99 (ms)", f"{busy['p99_ms']:.2f}"),
        ("p50 with sleepers / alone", f"{busy['p50_ms'] / alone['p50_ms']:.2f}x"),
        ("p99 with sleepers / alone", f"{busy['p99_ms'] / alone['p99_ms']:.2f}x"),
        ("healthy req/s alone / with sleepers", f"{alone['rps']:,.0f} / {busy['rps']:,.0f}"),
        (f"sleeping calls completed ({SLEEP_MS} ms each)", f"{slept}"),
    ]
