"""Issue 9 figures: endpoint requests/s of `exthost serve` with 1 and with 2 worker processes.

Each figure is a real `exthost serve --workers N` (all N workers ready before the load
starts) serving the `greet` example, loaded by wrk (bench/common.py `load_stats`). The load generator shares
the machine's cores with the workers, so the ratio is what one more worker gains on this
machine, not a bound.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import Row, free_port, load
from host.paths import PROJECT_ROOT

READY = re.compile(r" (\d+) INFO exthost: exthost ready")


@contextmanager
def exthost_serve(env: dict[str, str], workers: int, folder: Path) -> Iterator[str]:
    """`exthost serve --workers N` in a subprocess, once every worker is ready; yields its base URL."""
    port = free_port()
    log_path = folder / f"serve-{workers}.log"
    with log_path.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "serve", "--port", str(port), "--workers", str(workers)],
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}, cwd=folder,
            stdout=sink, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while len(set(READY.findall(log_path.read_text(errors="replace")))) < workers:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"exthost serve --workers {workers} did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def run(seconds: float = 5) -> list[Row]:
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", folder / "extensions" / "greet")
        env = {"EXTENSIONS_PATH": str(folder / "extensions"), "DATA_PATH": str(folder / "data"), "DB_URL": "",
               "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache")}
        for workers in (1, 2):
            with exthost_serve(env, workers, folder) as base:
                load(f"{base}/greet", 1)  # warm up
                rates[workers] = load(f"{base}/greet", seconds, concurrency=32)
    return [
        ("greet, exthost serve --workers 1 (req/s)", f"{rates[1]:,.0f}"),
        ("greet, exthost serve --workers 2 (req/s)", f"{rates[2]:,.0f}"),
        (f"2 workers / 1 worker ({os.cpu_count()} cores, load generator included)", f"{rates[2] / rates[1]:.2f}x"),
    ]
