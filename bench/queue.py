"""Action-event throughput through the durable job queue on PostgreSQL.

One host (its own uvicorn process) on a fresh PostgreSQL database with one hook
extension whose `items.create` action does nothing: every item created queues one
`action` job, which a worker claims, runs in the JS sandbox and deletes. Items are
created `BATCH` at a time (`POST /items` with an array: the jobs of a request are queued
in one transaction); the queue is watched by counting its rows in the database.

- queued/s: items created and their jobs committed, per second of the posting phase;
- run/s: jobs claimed, run and deleted, per second from the first post until the queue
  is empty, with `QUEUE_CONCURRENCY` 4 and 16; and once more with the queue in Redis
  Streams (`REDIS`, when a server answers at `EXTHOST_BENCH_REDIS`, default
  `redis://127.0.0.1:6379/0`; the items stay in PostgreSQL).

Skipped (one row saying why) when PostgreSQL is not reachable at `EXTHOST_BENCH_PG`
(default `postgresql+psycopg://postgres@127.0.0.1:5432/test`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.common import Row, free_port, stop
from host.paths import PROJECT_ROOT

PG_URL = os.environ.get("EXTHOST_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EXTHOST_BENCH_REDIS", "redis://127.0.0.1:6379/0")
TOKEN = "bench-admin-token"
JOBS = 4000
BATCH = 100
ACTION = "export default ({ action }) => { action('items.create', () => {}); };"


def _write_hook(root: Path) -> None:
    folder = root / "noop-action"
    (folder / "dist").mkdir(parents=True)
    (folder / "dist" / "index.js").write_text(ACTION, encoding="utf-8")
    spec = '{"type": "hook", "path": "dist/index.js", "host": "^11.0.0", "sandbox": {"enabled": true}}'
    (folder / "package.json").write_text(
        f'{{"name": "noop-action", "version": "1.0.0", "directus:extension": {spec}}}', encoding="utf-8"
    )


def _start(root: Path, db_url: str, concurrency: int, extra: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "EXTENSIONS_PATH": str(root / "extensions"),
        "DATA_PATH": str(root / "data"),
        "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache"),
        "ADMIN_TOKEN": TOKEN,
        "DB_URL": db_url,
        "QUEUE_CONCURRENCY": str(concurrency),
        "QUEUE_MAX_PENDING": str(JOBS * 2),
        **extra,
    }
    command = [sys.executable, "-m", "uvicorn", "host.app:create_app", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the host exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/server/health", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the host did not start within 90 s")


Left = Callable[[], int]
"""Jobs still waiting or running (failed ones raise)."""


def _measure(db_url: str, concurrency: int, extra: dict[str, str], left: Left) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="exthost-bench-queue-") as tmp:
        root = Path(tmp)
        (root / "extensions").mkdir()
        _write_hook(root / "extensions")
        process, base = _start(root, db_url, concurrency, extra)
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
                client.post("/items/warmup", json=[{"n": n} for n in range(BATCH)]).raise_for_status()
                _wait_empty(left)
                started = time.perf_counter()
                for first in range(0, JOBS, BATCH):
                    batch = [{"n": n} for n in range(first, first + BATCH)]
                    client.post("/items/bench", json=batch).raise_for_status()
                posted = time.perf_counter() - started
                _wait_empty(left)
                drained = time.perf_counter() - started
            return JOBS / posted, JOBS / drained
        finally:
            stop(process)


def _wait_empty(left: Left) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if not left():
            return
        time.sleep(0.02)
    raise RuntimeError("the queue did not drain within 600 s")


def _table_left(engine: Engine) -> Left:
    def left() -> int:
        with engine.connect() as conn:
            count = int(conn.execute(text("SELECT count(*) FROM exthost_jobs WHERE state <> 'failed'")).scalar_one())
            failed = int(conn.execute(text("SELECT count(*) FROM exthost_jobs WHERE state = 'failed'")).scalar_one())
        if failed:
            raise RuntimeError(f"{failed} action jobs failed")
        return count

    return left


def _stream_left(client: Any, namespace: str) -> Left:
    def left() -> int:
        if client.hlen(f"{namespace}:queue:failed"):
            raise RuntimeError("action jobs failed")
        return int(client.xlen(f"{namespace}:queue:stream")) + int(client.zcard(f"{namespace}:queue:delayed"))

    return left


def _redis_rows(db_url: str) -> list[Row]:
    import redis

    label = "action jobs run, Redis Streams, QUEUE_CONCURRENCY=16"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        return [(label, f"skipped: Redis not reachable ({type(exc).__name__})")]
    namespace = f"exthost_bench_{uuid.uuid4().hex[:10]}"
    try:
        extra = {"REDIS": REDIS_URL, "QUEUE_NAMESPACE": namespace}
        _, ran = _measure(db_url, 16, extra, _stream_left(client, namespace))
        return [(label, f"{ran:.0f} jobs/s")]
    finally:
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def run() -> list[Row]:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"exthost_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        return [("action events through the queue", f"skipped: PostgreSQL not reachable ({type(exc).__name__})")]
    db_url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    rows: list[Row] = []
    try:
        engine = create_engine(db_url)
        for concurrency in (4, 16):
            queued, ran = _measure(db_url, concurrency, {}, _table_left(engine))
            if concurrency == 4:
                rows.append((f"action events queued ({BATCH} per request)", f"{queued:.0f} jobs/s"))
            rows.append((f"action jobs run, QUEUE_CONCURRENCY={concurrency}", f"{ran:.0f} jobs/s"))
        engine.dispose()
        rows += _redis_rows(db_url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return rows


if __name__ == "__main__":
    for label, value in run():
        print(f"{label:<44} {value}")
