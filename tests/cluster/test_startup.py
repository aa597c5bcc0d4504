"""Start-up in parallel: three `exthost serve` processes started at once on one empty database
all come up, the migrations ran once, and the schema is the whole schema; `--workers 2` runs
two worker processes that both answer, a killed one is replaced, and they stop cleanly."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from host.storage.migrations import discover
from tests.cluster.processes import (
    CLEAN_EXIT,
    HostProcess,
    free_port,
    host_env,
    hosts,
    start_host,
)
from tests.storage.databases import fresh_postgres_database
from tests.storage.schemas import applied_versions, complete_schema, schema_at
from tests.support import ADMIN, wait_for


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of one empty database, a SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared' / 'exthost.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


def test_three_hosts_started_at_once_on_an_empty_database_all_come_up(empty_database: str, tmp_path: Path) -> None:
    env = host_env(tmp_path, DB_URL=empty_database)
    with hosts() as started:
        started += [start_host(env) for _ in range(3)]
        for host in started:
            host.wait_ready()
        # they share the one database: an item written through one is read through the others
        created = httpx.post(f"{started[0].url}/items/notes", json={"text": "hello"}, headers=ADMIN, timeout=30)
        assert created.status_code == 200, created.text
        key = created.json()["data"]["id"]
        for host in started[1:]:
            read = httpx.get(f"{host.url}/items/notes/{key}", headers=ADMIN, timeout=30)
            assert read.status_code == 200, read.text
            assert read.json()["data"]["text"] == "hello"
        for host in started:
            assert host.stop() in CLEAN_EXIT, host.log()
    logs = [host.log() for host in started]
    for migration in discover():  # each migration applied by exactly one of them
        assert sum(log.count(f"applied migration {migration.name}") for log in logs) == 1, logs
    assert applied_versions(empty_database) == [m.version for m in discover()]
    assert schema_at(empty_database) == complete_schema()


# host.logformat.PRETTY_FORMAT: "date time pid LEVEL logger [request id]: message"
WORKER_READY = re.compile(r"^\S+ \S+ (\d+) INFO exthost \[-\]: exthost ready", re.MULTILINE)
ACCESS = re.compile(r"^\S+ \S+ (\d+) INFO uvicorn\.access \[\w+\]: .*\"GET /server/health HTTP/1\.1\" 200", re.MULTILINE)
SHUTDOWN = re.compile(r"^\S+ \S+ (\d+) INFO uvicorn\.error \[-\]: Application shutdown complete", re.MULTILINE)


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def ready_workers(host: HostProcess) -> set[int]:
    """The pids that logged "exthost ready" (each worker's lifespan, once it started)."""
    return {int(pid) for pid in WORKER_READY.findall(host.log())}


def pids_answering(host: HostProcess) -> set[int]:
    """The worker pids whose access log shows a `/server/health` answered, after a burst of requests."""
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: httpx.get(f"{host.url}/server/health", timeout=30).status_code, range(32)))
    assert statuses == [200] * 32
    return {int(pid) for pid in ACCESS.findall(host.log())}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_two_workers_both_answer_are_replaced_when_killed_and_stop_cleanly(tmp_path: Path) -> None:
    env = host_env(tmp_path)
    with hosts() as started:
        host = start_host(env, workers=2)
        started.append(host)
        host.wait_ready()
        workers = wait_for(lambda: ready_workers(host) if len(ready_workers(host)) == 2 else None,
                           "both workers to be ready")
        assert host.pid not in workers
        assert workers <= children(host.pid)
        wait_for(lambda: pids_answering(host) == workers, "both workers to answer requests")
        # a worker killed while serving is replaced by a new one
        lost = min(workers)
        os.kill(lost, signal.SIGKILL)
        wait_for(lambda: len(ready_workers(host) - workers) == 1, "a new worker to replace the killed one")
        workers = ready_workers(host) - {lost}
        wait_for(lambda: workers <= pids_answering(host), "the new worker to answer requests")
        assert host.stop() == 0, host.log()
    log = host.log()
    assert {int(pid) for pid in SHUTDOWN.findall(log)} == workers, log  # each worker's lifespan shut down
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # the workers are gone
    # the one database of DATA_PATH, migrated once by one of the two workers
    assert log.count("applied migration m0001_items") == 1, log
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'exthost.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM exthost_migrations")).scalar() == len(discover())
    finally:
        engine.dispose()


def test_workers_that_cannot_start_make_serve_exit_with_an_error(tmp_path: Path) -> None:
    """A worker that fails to start (here: no database at DB_URL) stops them all, and the exit
    code says so, as with one process: a supervisor (systemd, Kubernetes) sees the failure."""
    env = host_env(tmp_path, DB_URL=f"postgresql+psycopg://exthost@127.0.0.1:{free_port()}/nowhere")
    with hosts() as started:
        host = start_host(env, workers=2)
        started.append(host)
        assert host.process.wait(120) == 3, host.log()
    assert "Application startup failed" in host.log()
