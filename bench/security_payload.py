"""Security, oversized bodies: the peak RSS of a real host (uvicorn, in a subprocess) while
anonymous clients send bodies far past `MAX_PAYLOAD_SIZE` (by `Content-Length` and chunked,
to a webhook, an endpoint extension, the items API and an unknown route), against the peak
of the same process under normal load. The host must stay near its normal-load peak."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.common import Row, free_port
from host.paths import PROJECT_ROOT

ADMIN_TOKEN = "bench-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ATTACKERS = 16
OFFERED = 256 * 1024 * 1024
"""Bytes each attacking connection tries to send (256 MB)."""
PIECE = 64 * 1024

SINK = """
export default (router) => {
  router.post('/', (req) => ({ status: 200, body: { size: JSON.stringify(req.body).length } }));
};
"""


@contextmanager
def host_process(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`uvicorn --factory host.app:create_app` in a subprocess; yields its URL and pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "host.app:create_app", "--port", str(port),
         "--log-level", "critical", "--no-access-log"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/server/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the host did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak so far) of `pid`, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) / 1024
    return found


def webhook(client: httpx.Client) -> str:
    flow = client.post("/flows", json={"name": "bench", "trigger": "webhook", "status": "active",
                                       "accountability": None, "options": {"method": "POST"}}, headers=ADMIN)
    flow_id: str = flow.json()["data"]["id"]
    operation = client.post("/operations", json={"key": "echo", "type": "transform", "flow": flow_id,
                                                 "options": {"json": {"size": "{{ $trigger.body.n }}"}}},
                            headers=ADMIN)
    client.patch(f"/flows/{flow_id}", json={"operation": operation.json()["data"]["id"]}, headers=ADMIN)
    return flow_id


def normal_load(base: str, flow_id: str, requests: int = 200) -> None:
    """What a busy legitimate host sees: items of 200 kB, webhook calls, endpoint calls."""
    item = json.dumps({"text": "x" * 200_000})

    def one(index: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            client.post("/items/bench", content=item, headers=ADMIN).raise_for_status()
            client.post(f"/flows/trigger/{flow_id}", json={"n": index, "pad": "p" * 50_000}).raise_for_status()
            client.post("/sink", json={"pad": "s" * 100_000}).raise_for_status()
            client.get("/greet").raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(requests // 4)))


def attack(base: str, path: str, chunked: bool) -> int:
    """One anonymous connection offering `OFFERED` bytes; returns how many it got to send."""
    url = httpx.URL(base)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {OFFERED}"
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    data = b"[" * PIECE
    piece = f"{PIECE:x}\r\n".encode() + data + b"\r\n" if chunked else data
    sent = 0
    try:
        with socket.create_connection((url.host, url.port or 80), timeout=30) as conn:
            conn.sendall(head.encode())
            while sent < OFFERED:
                conn.sendall(piece)
                sent += PIECE
    except OSError:
        pass
    return sent


def under_attack(base: str, pid: int, paths: list[str]) -> tuple[float, int, int]:
    """Peak RSS (MB) sampled while `ATTACKERS` connections per path and framing flood the host;
    also the bytes offered and the bytes the clients got to send."""
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, memory_mb(pid)["VmRSS"])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    jobs = [(path, chunked) for path in paths for chunked in (False, True) for _ in range(ATTACKERS)]
    try:
        with ThreadPoolExecutor(ATTACKERS) as pool:
            sent = sum(pool.map(lambda job: attack(base, *job), jobs))
    finally:
        done.set()
        sampler.join()
    return max(peak, memory_mb(pid)["VmHWM"]), len(jobs) * OFFERED, sent


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        extensions = Path(tmp) / "extensions"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
        sink = extensions / "sink"
        (sink / "dist").mkdir(parents=True)
        (sink / "dist" / "index.js").write_text(SINK, encoding="utf-8")
        (sink / "package.json").write_text(json.dumps({"name": "sink", "version": "1.0.0", "directus:extension": {
            "type": "endpoint", "path": "dist/index.js", "host": "^11.0.0",
            "sandbox": {"enabled": True, "requestedScopes": {}}}}), encoding="utf-8")
        env = {"EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(Path(tmp) / "data"), "ADMIN_TOKEN": ADMIN_TOKEN,
               "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache"), "MAX_PAYLOAD_SIZE": "1mb"}
        with host_process(env) as (base, pid), httpx.Client(base_url=base, timeout=60) as client:
            flow_id = webhook(client)
            idle = memory_mb(pid)["VmRSS"]
            normal_load(base, flow_id)
            normal = memory_mb(pid)["VmHWM"]
            paths = [f"/flows/trigger/{flow_id}", "/sink", "/items/bench", "/no-such-route"]
            attacked, offered, sent = under_attack(base, pid, paths)
            healthy = client.get("/server/health").status_code == 200
    return [
        ("host RSS idle (MB)", f"{idle:.0f}"),
        ("host peak RSS, normal load (MB)", f"{normal:.0f}"),
        (f"host peak RSS, {ATTACKERS * len(paths) * 2} oversized-body connections (MB)", f"{attacked:.0f}"),
        ("  bodies offered / bytes the clients got to send (MB)", f"{offered / 2**20:,.0f} / {sent / 2**20:,.0f}"),
        ("peak under attack / peak under normal load", f"{attacked / normal:.2f}x"),
        ("host healthy afterwards", "yes" if healthy else "NO"),
    ]
