"""Hot reload: a changed extension serves its new code without a restart; a call in flight
finishes on the version it started on; a broken new version leaves the old one serving;
every process of a cluster follows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.cluster.processes import host_env, hosts, start_host
from tests.support import ADMIN, wait_for, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]


def endpoint(body: str) -> str:
    return f"export default (router) => router.get('/', () => ({{ status: 200, body: '{body}' }}));"


def test_auto_reload_serves_the_new_code_and_keeps_the_old_when_broken(extensions_dir: Path,
                                                                        host: HostFactory) -> None:
    folder = write_extension(extensions_dir, "live-ext", "endpoint", endpoint("v1"))
    with host(extensions_auto_reload=True) as client:
        assert client.get("/live-ext").text == "v1"
        (folder / "dist" / "index.js").write_text(endpoint("version two"))
        wait_for(lambda: client.get("/live-ext").text == "version two", "the edited extension to be served")
        (folder / "dist" / "index.js").write_text("export default (router) => { router.get('/', ")

        def reported() -> str | None:
            error: str | None = client.get("/extensions/live-ext", headers=ADMIN).json()["data"]["reload_error"]
            return error

        assert "does not parse" in wait_for(reported, "the broken edit to be reported")
        assert client.get("/live-ext").text == "version two"  # the previous version keeps serving
        logs = client.get("/extensions/live-ext/logs", params={"level": "error"}, headers=ADMIN).json()["data"]
        assert any("reload failed" in line["message"] for line in logs)


@contextmanager
def gate() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A local server whose answer waits until the test releases it: (url, arrived, release)."""
    arrived, release = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            arrived.set()
            release.wait(120)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"released")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wait", arrived, release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_call_in_flight_finishes_on_the_old_version(extensions_dir: Path, host: HostFactory) -> None:
    with gate() as (url, arrived, release):
        slow = (f"import {{ request }} from 'directus:api';\n"
                f"export default (router) => router.get('/', async () => "
                f"({{ status: 200, body: 'old ' + (await request('{url}')).data }}));")
        folder = write_extension(extensions_dir, "flight-ext", "endpoint", slow,
                                 scopes={"request": {"urls": ["http://127.0.0.1:*/*"], "methods": ["GET"]}})
        with host(import_ip_deny_list=["192.0.2.1"], request_timeout=120_000,
                  extensions_sandbox_wall_timeout=120_000) as client:
            outcome: dict[str, str] = {}
            caller = threading.Thread(target=lambda: outcome.update(text=client.get("/flight-ext").text))
            caller.start()
            assert arrived.wait(120), "the first call never reached its request"
            (folder / "dist" / "index.js").write_text(endpoint("new"))
            assert client.post("/extensions/reload", headers=ADMIN).status_code == 200
            assert client.get("/flight-ext").text == "new"  # the next call runs the new code
            release.set()
            caller.join(120)
            assert outcome["text"] == "old released"  # the call in flight finished on the old version


def test_every_process_of_a_cluster_follows_a_reload(tmp_path: Path) -> None:
    env = host_env(tmp_path, DB_URL=f"sqlite:///{tmp_path / 'shared.db'}")
    extensions = Path(env["EXTENSIONS_PATH"])
    folder = write_extension(extensions, "cluster-ext", "endpoint", endpoint("v1"))
    with hosts() as started:
        a, b = start_host(env), start_host(env)
        started += [a, b]
        a.wait_ready()
        b.wait_ready()
        assert httpx.get(f"{b.url}/cluster-ext").text == "v1"
        (folder / "dist" / "index.js").write_text(endpoint("v2"))
        assert httpx.post(f"{a.url}/extensions/reload", headers=ADMIN, timeout=60).status_code == 200
        assert httpx.get(f"{a.url}/cluster-ext").text == "v2"
        wait_for(lambda: httpx.get(f"{b.url}/cluster-ext").text == "v2", "the other process to reload")
        revoke = httpx.patch(f"{a.url}/extensions/cluster-ext", json={"meta": {"enabled": False}}, headers=ADMIN)
        assert revoke.status_code == 200
        wait_for(lambda: httpx.get(f"{b.url}/cluster-ext").status_code == 503, "the other process to disable it")


def test_a_reloaded_hook_replaces_its_listeners_and_a_removed_one_leaves(extensions_dir: Path,
                                                                          host: HostFactory) -> None:
    def hook(value: int) -> str:
        return f"export default ({{ filter }}) => {{ filter('items.create', (p) => ({{ ...p, stamp: {value} }})); }};"

    folder = write_extension(extensions_dir, "stamp-hook", "hook", hook(1))
    with host() as client:
        assert client.post("/items/notes", json={"t": "a"}, headers=ADMIN).json()["data"]["stamp"] == 1
        (folder / "dist" / "index.js").write_text(hook(2))
        client.post("/extensions/reload", json={"names": ["stamp-hook"]}, headers=ADMIN)
        assert client.post("/items/notes", json={"t": "b"}, headers=ADMIN).json()["data"]["stamp"] == 2
        assert client.delete("/extensions/stamp-hook", headers=ADMIN).status_code == 204
        assert "stamp" not in client.post("/items/notes", json={"t": "c"}, headers=ADMIN).json()["data"]
        assert client.get("/extensions/stamp-hook", headers=ADMIN).status_code == 404


def test_a_reloaded_operation_runs_its_new_code_in_flows(extensions_dir: Path, host: HostFactory) -> None:
    from tests.flows.conftest import Api

    def operation(word: str) -> str:
        return f"export default {{ id: 'word-op', handler: () => ({{ word: '{word}' }}) }};"

    folder = write_extension(extensions_dir, "word-op", "operation", operation("first"))
    with host() as client:
        api = Api(client)
        flow_id, _ = api.build({"name": "word", "trigger": "webhook", "options": {"method": "POST"}},
                               [{"key": "w", "type": "word-op", "options": {}}])
        assert client.post(f"/flows/trigger/{flow_id}", json={}).json() == {"word": "first"}
        (folder / "dist" / "index.js").write_text(operation("second"))
        client.post("/extensions/reload", headers=ADMIN)
        assert client.post(f"/flows/trigger/{flow_id}", json={}).json() == {"word": "second"}


def test_a_new_version_claiming_a_taken_name_keeps_the_old_one_serving(extensions_dir: Path,
                                                                       host: HostFactory) -> None:
    write_extension(extensions_dir, "first-ext", "endpoint", endpoint("first"))
    second = write_extension(extensions_dir, "second-ext", "endpoint", endpoint("second"))
    with host() as client:
        (second / "dist" / "index.js").write_text(
            "export default { id: 'first-ext', handler: (router) => router.get('/', () => 'stolen') };")
        client.post("/extensions/reload", headers=ADMIN)
        assert client.get("/first-ext").text == "first" and client.get("/second-ext").text == "second"
        error = client.get("/extensions/second-ext", headers=ADMIN).json()["data"]["reload_error"]
        assert "already claimed" in error and "first-ext" in error
