"""Reads that run in the database: a filtered, sorted read of 10 items and a filtered aggregate
with groupBy, from collections of 1k and 100k items, on SQLite and PostgreSQL, without and
with an index on the filtered field (declared through `POST /fields` with
`schema.is_indexed`); requests/s and p50 from wrk (bench/common.py `load_stats`), and the host's peak RSS.

The items are written straight into the database before the host starts (seeding is not
what is measured); the host then serves them in its own uvicorn process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bench.common import Row, free_port, load_stats, stop
from host.items.tables import collections, items
from host.paths import PROJECT_ROOT
from host.storage import Database

TOKEN = "bench-query-token"
SIZES = {"1k": 1_000, "100k": 100_000}
PG_URL = os.environ.get("EXTHOST_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECONDS = 3.0
CONCURRENCY = 8
READ = "filter[price][_between]=100,109&sort=-price&limit=10"
AGGREGATE = "filter[price][_between]=100,599&aggregate[count]=*&aggregate[avg]=price&groupBy=category"
CHUNK = 5_000


def _seed(url: str) -> None:
    db = Database(url)
    try:
        db.migrate()
        now = datetime.now(UTC)
        with db.engine.begin() as conn:
            for name, size in SIZES.items():
                conn.execute(insert(collections).values(name=f"q{name}", next_id=size, created_at=now))
                for start in range(0, size, CHUNK):
                    rows = [
                        {"collection": f"q{name}", "key": str(i), "created_at": now, "updated_at": now,
                         "data": {"id": i, "price": i, "category": f"c{i % 50}", "name": f"item {i}",
                                  "stock": i % 7}}
                        for i in range(start, min(size, start + CHUNK))
                    ]
                    conn.execute(insert(items), rows)
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE exthost_items"))
    finally:
        db.close()


@contextmanager
def _postgres() -> Iterator[str | None]:
    name = f"exthost_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no server: the PostgreSQL rows say so
        admin.dispose()
        yield None
        return
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _host(url: str, root: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "DB_URL": url, "DATA_PATH": str(root / "data"), "EXTENSIONS_PATH": str(root / "ext"),
           "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache"), "ADMIN_TOKEN": TOKEN}
    (root / "ext").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "uvicorn", "host.app:create_app", "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the host exited with {process.returncode}")
            try:
                if httpx.get(f"{base}/server/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the host did not start within 60 s")
            time.sleep(0.1)
        yield base, process
    finally:
        stop(process)


def _peak_rss_mb(process: subprocess.Popen[bytes]) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _measure(base: str, collection: str, query: str) -> dict[str, float]:
    url = f"{base}/items/{collection}?{query}&access_token={quote(TOKEN)}"
    check = httpx.get(url, timeout=60)
    if check.status_code != 200 or not check.json()["data"]:
        raise RuntimeError(f"{url}: {check.status_code} {check.text[:200]}")
    return load_stats(url, SECONDS, CONCURRENCY)


def _index(base: str, collection: str) -> None:
    response = httpx.post(f"{base}/fields/{collection}", timeout=600,
                          json={"field": "price", "type": "integer", "schema": {"is_indexed": True}},
                          headers={"Authorization": f"Bearer {TOKEN}"})
    if response.status_code != 200:
        raise RuntimeError(f"POST /fields/{collection}: {response.status_code} {response.text[:200]}")


def _backend(label: str, url: str, root: Path) -> list[Row]:
    _seed(url)
    rows: list[Row] = []
    with _host(url, root) as (base, process):
        results: dict[tuple[str, str, str], dict[str, float]] = {}
        for indexed in ("no index", "indexed"):
            if indexed == "indexed":
                for size in SIZES:
                    _index(base, f"q{size}")
            for size in SIZES:
                for what, query in (("read", READ), ("aggregate", AGGREGATE)):
                    results[(indexed, size, what)] = _measure(base, f"q{size}", query)
            rows.append((f"{label}: host peak RSS after the 100k reads ({indexed})", f"{_peak_rss_mb(process):.0f} MB"))
        for (indexed, size, what), stats in results.items():
            name = "filtered sorted read of 10" if what == "read" else "filtered aggregate+groupBy"
            rows.append((f"{label} {size} {name} ({indexed})",
                         f"{stats['rps']:.0f} req/s, p50 {stats['p50_ms']:.1f} ms"))
        for indexed in ("no index", "indexed"):
            for what in ("read", "aggregate"):
                ratio = results[(indexed, "1k", what)]["rps"] / results[(indexed, "100k", what)]["rps"]
                rows.append((f"{label} {what}: 1k/100k req/s ({indexed})", f"{ratio:.2f}x"))
    return rows


def run() -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="exthost-bench-query-") as tmp:
        root = Path(tmp)
        (root / "sqlite").mkdir()
        rows += _backend("SQLite", f"sqlite:///{root / 'sqlite' / 'bench.db'}", root / "sqlite")
        with _postgres() as url:
            if url is None:
                rows.append(("PostgreSQL", f"skipped: not reachable at {PG_URL}"))
            else:
                (root / "pg").mkdir()
                rows += _backend("PostgreSQL", url, root / "pg")
    return rows


if __name__ == "__main__":
    for label, value in run():
        print(f"{label:<64} {value}")
