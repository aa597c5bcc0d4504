"""`kill -9` of a host while it runs queued action events and async flow runs, on
PostgreSQL, with the queue in the database and in Redis Streams: another host on the
same database (and Redis) runs every one of them, at least once, and the ones that were
cut short show as retries (attempt 2), none silently dropped.

Real `exthost serve` OS processes (tests/cluster/processes.py) on a fresh PostgreSQL
database, a real hook extension whose action calls `request`, a real async webhook flow
whose `request` operation does the same, and a local sink server that counts what
arrives and can hold requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.processes import host_env, hosts, start_host
from tests.queue.conftest import queue_settings
from tests.storage.databases import fresh_postgres_database
from tests.support import wait_for, write_extension

__all__ = ["queue_settings"]

LEASE_MS = 3000


@dataclass
class Sink:
    """Records every POST body; while `holding`, answers only once `release` is set."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    held: int = 0
    holding: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)


@pytest.fixture
def sink() -> Iterator[Sink]:
    state = Sink()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(json.loads(body))
                hold = state.holding
                state.held += hold
            if hold:
                state.release.wait(60)
                with state.lock:
                    state.held -= 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the host that asked was killed: nobody reads the answer

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database the two hosts share."""
    with fresh_postgres_database() as url:
        yield url


def test_kill_9_of_a_host_running_queued_work_loses_nothing(
    postgres_database: str, queue_settings: dict[str, str], sink: Sink, tmp_path: Path
) -> None:
    extensions = tmp_path / "extensions"
    source = (
        "import { request } from 'directus:api';\n"
        "export default ({ action }) => action('items.create', async (meta) => {\n"
        f"  await request('{sink.url}/hit', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }},\n"
        "    body: JSON.stringify({ what: 'item', n: meta.key, attempt: meta.job.attempt }) });\n"
        "});\n"
    )
    write_extension(extensions, "sinker", "hook", source, scopes={"request": {"urls": [f"{sink.url}/*"], "methods": ["POST"]}})
    env = host_env(
        tmp_path,
        DB_URL=postgres_database,
        IMPORT_IP_DENY_LIST="192.0.2.1",  # the sink is on 127.0.0.1
        QUEUE_LEASE=str(LEASE_MS),
        QUEUE_CONCURRENCY="4",
        QUEUE_RETRY_DELAY="100",
        **{name.upper(): value for name, value in queue_settings.items()},  # REDIS, QUEUE_NAMESPACE
    )
    with hosts() as started:
        first = start_host({**env, "DATA_PATH": str(tmp_path / "a")})
        started.append(first)
        with first.wait_ready().client() as a:
            flow = a.post("/flows", json={
                "name": "notify", "trigger": "webhook", "accountability": "activity",
                "options": {"method": "POST", "async": True},
            }).json()["data"]
            op = a.post("/operations", json={
                "key": "notify", "type": "request", "flow": flow["id"], "position_x": 1, "position_y": 1,
                "options": {"url": f"{sink.url}/hit", "method": "POST",
                            "body": {"what": "flow", "n": "{{ $trigger.body.n }}"}},
            }).json()["data"]
            assert a.patch(f"/flows/{flow['id']}", json={"operation": op["id"]}).status_code == 200

            sink.holding = True
            # queued in this order, so the first four (two of each) are the ones running at the kill
            for n in range(1, 3):
                assert a.post("/items/things", json={"id": n}).status_code == 200
                assert a.post(f"/flows/trigger/{flow['id']}", json={"n": n}).status_code == 204
            wait_for(lambda: sink.held == 4, "host a to run four jobs at once (held at the sink)")
            for n in range(3, 9):
                assert a.post("/items/things", json={"id": n}).status_code == 200
            for n in range(3, 5):
                assert a.post(f"/flows/trigger/{flow['id']}", json={"n": n}).status_code == 204
        first.kill()
        in_flight = sink.seen()
        assert len(in_flight) == 4  # nothing else ran: host a was busy with these
        sink.holding = False
        sink.release.set()

        second = start_host({**env, "DATA_PATH": str(tmp_path / "b")})
        started.append(second)
        second.wait_ready()

        def everything_ran() -> bool:
            seen = sink.seen()
            items = {r["n"] for r in seen if r["what"] == "item"}
            flows = {r["n"] for r in seen if r["what"] == "flow"}
            return items == set(range(1, 9)) and flows == {1, 2, 3, 4}

        wait_for(everything_ran, "host b to run every queued job", timeout=90)
        with second.client() as b:
            wait_for(lambda: b.get("/jobs").json()["data"] == [], "the queue to empty (nothing failed)")
            runs = b.get(f"/flows/{flow['id']}/runs").json()["data"]

    seen = sink.seen()
    items = [r for r in seen if r["what"] == "item"]
    # the two actions cut short by the kill ran again as attempt 2; the others once, as attempt 1
    assert sorted((r["n"], r["attempt"]) for r in items) == [(1, 1), (1, 2), (2, 1), (2, 2)] + [
        (n, 1) for n in range(3, 9)
    ]
    assert sorted(r["n"] for r in seen if r["what"] == "flow") == [1, 1, 2, 2, 3, 4]
    # the flow run log shows which runs were retries: two runs of attempt 2 (their first
    # attempts never finished, so never logged) and two first runs
    assert sorted(run["job"]["attempt"] for run in runs) == [1, 1, 2, 2]
    assert all(run["job"]["key"].startswith("flow:") for run in runs)
