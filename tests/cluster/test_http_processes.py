"""HTTP behaviour that needs real processes or a real database going away: JSON log lines
with request ids and no token, `LOG_LEVEL`, the rate limiter's budget shared through Redis
by two hosts, and `/server/health` degraded while the database is unreachable."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from host.health import check_redis
from tests.cluster.processes import HostProcess, host_env, hosts, start_host
from tests.storage.databases import REDIS_URL, fresh_postgres_database, fresh_redis_namespace, postgres_problem
from tests.support import ADMIN, ADMIN_TOKEN, make_settings, running_host, wait_for

USER_TOKEN = "user-token-never-logged-77"


def wait_pong(host: HostProcess) -> None:
    """Ready: `/server/ping` answers (it does not count against the rate limiter)."""

    def ready() -> bool:
        if host.process.poll() is not None:
            raise AssertionError(f"host exited:\n{host.log()[-3000:]}")
        try:
            return httpx.get(f"{host.url}/server/ping", timeout=5).text == "pong"
        except httpx.HTTPError:
            return False

    wait_for(ready, f"host on port {host.port}", 120)


def test_raw_logs_are_json_lines_with_request_ids_and_no_token(tmp_path: Path) -> None:
    env = host_env(tmp_path / "raw", LOG_STYLE="raw", USER_TOKENS=f"{USER_TOKEN}:ann:editor")
    quiet_env = host_env(tmp_path / "quiet", LOG_LEVEL="warn")
    with hosts() as started:
        raw, quiet = start_host(env), start_host(quiet_env)
        started += [raw, quiet]
        raw.wait_ready()
        quiet.wait_ready()
        answers = [
            httpx.get(f"{raw.url}/server/info", headers={"X-Request-Id": "trace-one"}),
            httpx.get(f"{raw.url}/extensions?access_token={ADMIN_TOKEN}", headers={"X-Request-Id": "trace-two"}),
            httpx.get(f"{raw.url}/items/x?access_token={USER_TOKEN}&limit=1", headers={"X-Request-Id": "trace-three"}),
            httpx.get(f"{raw.url}/server/info", headers={"Authorization": f"Bearer {USER_TOKEN}",
                                                         "X-Request-Id": "trace-four"}),
        ]
        assert [a.headers["x-request-id"] for a in answers] == ["trace-one", "trace-two", "trace-three", "trace-four"]
        assert answers[1].status_code == 200
        httpx.get(f"{quiet.url}/server/info", headers={"X-Request-Id": "trace-quiet"})

        def logged() -> list[dict[str, object]]:
            lines = [json.loads(line) for line in raw.log().splitlines() if line.strip()]  # every line is JSON
            return lines if {"trace-one", "trace-four"} <= {line.get("request_id") for line in lines} else []

        lines = wait_for(logged, "the access log lines of the four requests")
        assert stop_ok(raw) and stop_ok(quiet)
    for line in lines:
        assert {"time", "level", "pid", "logger", "msg"} <= set(line), line
    by_id = {line["request_id"]: line for line in lines if "request_id" in line}
    assert set(by_id) >= {"trace-one", "trace-two", "trace-three", "trace-four"}
    assert by_id["trace-one"]["logger"] == "uvicorn.access" and "/server/info" in str(by_id["trace-one"]["msg"])
    assert any(line["msg"] == "Application startup complete." for line in lines)
    text = raw.log()
    assert ADMIN_TOKEN not in text and USER_TOKEN not in text
    assert "GET /extensions?access_token=--redacted-- " in str(by_id["trace-two"]["msg"])
    quiet_log = quiet.log()
    assert "trace-quiet" not in quiet_log and "GET /server/info" not in quiet_log  # LOG_LEVEL=warn: no access log


def stop_ok(host: HostProcess) -> bool:
    host.stop()
    return True


def test_the_rate_limit_budget_is_shared_through_redis(tmp_path: Path) -> None:
    with fresh_redis_namespace() as namespace, hosts() as started:
        env = host_env(tmp_path, REDIS=REDIS_URL, QUEUE_NAMESPACE=namespace, RATE_LIMITER_ENABLED="true",
                       RATE_LIMITER_POINTS="5", RATE_LIMITER_DURATION="3600")
        a, b = start_host(env), start_host(env)
        started += [a, b]
        wait_pong(a)
        wait_pong(b)
        codes = [httpx.get(f"{host.url}/server/info", timeout=30).status_code for host in (a, b, a, b, a)]
        assert codes == [200] * 5
        for host in (b, a):  # the sixth request, on either host, is over the shared budget
            refused = httpx.get(f"{host.url}/server/info", timeout=30)
            assert refused.status_code == 429
            assert refused.json()["errors"][0]["extensions"]["code"] == "REQUESTS_EXCEEDED"
            assert 3000 < int(refused.headers["retry-after"]) <= 3600
        assert httpx.get(f"{a.url}/server/ping", timeout=30).text == "pong"


class TcpProxy:
    """127.0.0.1:<port> forwarded to `target`; `down()` refuses and cuts every connection, `up()`
    listens again on the same port: a database that becomes unreachable, then comes back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._open:
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


@contextmanager
def proxied_postgres() -> Iterator[tuple[TcpProxy, str]]:
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    with fresh_postgres_database() as url:
        parsed = make_url(url)
        proxy = TcpProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
        proxy.up()
        try:
            yield proxy, parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        finally:
            proxy.down()


def test_health_reports_the_database_down_and_back(tmp_path: Path) -> None:
    with proxied_postgres() as (proxy, url), running_host(make_settings(tmp_path, db_url=url)) as client:
        healthy = client.get("/server/health", headers=ADMIN)
        assert healthy.status_code == 200 and healthy.json()["status"] == "ok"
        assert healthy.json()["checks"]["postgresql:responseTime"][0]["status"] == "ok"
        proxy.down()
        down = client.get("/server/health", headers=ADMIN)
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/health+json"
        report = down.json()
        assert report["status"] == "error"
        [check] = report["checks"]["postgresql:responseTime"]
        assert check["status"] == "error" and check["componentType"] == "datastore" and check["output"]
        anonymous = client.get("/server/health")
        assert anonymous.status_code == 503 and anonymous.json() == {"status": "error"}
        assert client.get("/server/ping").text == "pong"  # the process itself still answers
        proxy.up()
        wait_for(lambda: client.get("/server/health").status_code == 200, "the database to be healthy again")
        assert client.get("/server/health", headers=ADMIN).json()["status"] in ("ok", "warn")


def test_health_checks_redis_when_it_is_set(tmp_path: Path) -> None:
    with fresh_redis_namespace() as namespace, running_host(
        make_settings(tmp_path, redis=REDIS_URL, queue_namespace=namespace)
    ) as client:
        report = client.get("/server/health", headers=ADMIN).json()
        assert set(report["checks"]) == {"sqlite:responseTime", "redis:responseTime"}
        assert report["checks"]["redis:responseTime"][0]["status"] in ("ok", "warn")


def test_an_unreachable_redis_is_an_error_check() -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    check = asyncio.run(check_redis(f"redis://127.0.0.1:{port}/0"))
    assert check["status"] == "error" and check["componentType"] == "datastore"
    assert "Connection" in check["output"] or "refused" in check["output"], check
