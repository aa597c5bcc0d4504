"""Starvation: one extension cannot starve another (docs/security.md, "Starvation").

Each sandbox runs its guest code on its own threads, at most `EXTENSIONS_SANDBOX_POOL_SIZE`
of them, and a call that waits (`request`, `sleep`) holds none (host/runtime/pool.py). So with
20 extensions x 4 calls waiting a healthy extension is served while they all still wait, and
calls beyond an extension's pool size wait together instead of queueing or failing. Ordering and conditions only, no
durations: the latency figures are in `make bench` (bench/security_starvation.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from host.capabilities import netguard
from tests.security.holding import LOOPBACK_ALLOWED, HoldingServer
from tests.support import make_settings, running_host, wait_for, write_extension

EXTENSIONS = 20
POOL = 4

WAITS_IN_REQUEST = """
import { request } from 'directus:api';
export default (router) => router.get('/', async (req) => ({ status: 200, body: (await request(req.query.url)).data }));
"""

SLEEPS = """
import { log, sleep } from 'directus:api';
export default (router) => router.get('/', async () => {
  log('asleep');
  await sleep(10000);
  log('awake');
  return { status: 200, body: 'rested' };
});
"""

HEALTHY = "export default (router) => router.get('/', () => ({ status: 200, body: 'fine' }));"

LONG_WAITS: dict[str, Any] = {
    "extensions_sandbox_pool_size": POOL,
    "extensions_sandbox_wall_timeout": 120_000,
    "request_timeout": 120_000,
}


class Calls:
    """Requests sent from their own threads; their responses once they end."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.responses: list[Response] = []
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def send(self, path: str, **params: str) -> None:
        def run() -> None:
            response = self.client.get(path, params=params)
            with self._lock:
                self.responses.append(response)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    @property
    def done(self) -> int:
        with self._lock:
            return len(self.responses)

    def join(self) -> list[Response]:
        for thread in self.threads:
            thread.join(150)
        return self.responses


@contextmanager
def host(tmp_path: Path, source: str, scopes: dict[str, Any], count: int = EXTENSIONS, **settings: Any) -> Iterator[TestClient]:
    extensions = tmp_path / "extensions"
    for index in range(count):
        write_extension(extensions, f"waiter-{index:02d}", "endpoint", source, scopes=scopes)
    write_extension(extensions, "healthy", "endpoint", HEALTHY)
    with running_host(make_settings(tmp_path, extensions, **{**LONG_WAITS, **settings})) as client:
        yield client


def served_now(client: TestClient, still: Callable[[], bool]) -> Response:
    """Call the healthy extension; checks `still()` (the waiters are still waiting) when it answers."""
    answer: list[tuple[Response, bool]] = []
    caller = threading.Thread(target=lambda: answer.append((client.get("/healthy"), still())), daemon=True)
    caller.start()
    wait_for(lambda: answer, "the healthy extension to answer")
    response, waiting = answer[0]
    assert waiting, "the waiting calls ended before the healthy one was served"
    return response


def guest_threads(name: str) -> int:
    return sum(1 for thread in threading.enumerate() if thread.name.startswith(f"exthost-{name}_"))


def test_a_healthy_extension_is_served_while_80_calls_wait_in_request(tmp_path: Path) -> None:
    with HoldingServer() as server, host(tmp_path, WAITS_IN_REQUEST, server.scope(), **LOOPBACK_ALLOWED) as client:
        calls = Calls(client)
        for index in range(EXTENSIONS * POOL):
            calls.send(f"/waiter-{index % EXTENSIONS:02d}", url=server.url)
        wait_for(lambda: server.held == EXTENSIONS * POOL, "every call to wait in request()")
        response = served_now(client, lambda: server.held == EXTENSIONS * POOL and calls.done == 0)
        assert (response.status_code, response.text) == (200, "fine")
        for index in range(EXTENSIONS):
            assert guest_threads(f"waiter-{index:02d}") <= POOL  # each holds its own threads, no more
        server.release()
        responses = calls.join()
        assert [(r.status_code, r.text) for r in responses] == [(200, "released")] * EXTENSIONS * POOL


def test_a_healthy_extension_is_served_while_80_calls_sleep(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="exthost.extension")

    def said(word: str) -> int:
        return sum(1 for record in list(caplog.records) if record.getMessage() == word)

    with host(tmp_path, SLEEPS, {"log": {}, "sleep": {}}) as client:
        calls = Calls(client)
        for index in range(EXTENSIONS * POOL):
            calls.send(f"/waiter-{index % EXTENSIONS:02d}")
        wait_for(lambda: said("asleep") == EXTENSIONS * POOL, "every call to fall asleep")
        response = served_now(client, lambda: said("awake") == 0 and calls.done == 0)
        assert (response.status_code, response.text) == (200, "fine")
        responses = calls.join()
        assert [(r.status_code, r.text) for r in responses] == [(200, "rested")] * EXTENSIONS * POOL


def test_calls_beyond_the_pool_size_wait_together_on_the_pool_threads(tmp_path: Path) -> None:
    with HoldingServer() as server, host(
        tmp_path, WAITS_IN_REQUEST, server.scope(), count=1, extensions_sandbox_pool_size=2, **LOOPBACK_ALLOWED
    ) as client:
        calls = Calls(client)
        for _ in range(6):
            calls.send("/waiter-00", url=server.url)
        # a waiting call holds no thread: all six wait in request() at once, none failed
        wait_for(lambda: server.held == 6, "six calls (three times the pool size) to wait in request()")
        response = served_now(client, lambda: server.held == 6 and calls.done == 0)
        assert response.status_code == 200
        assert guest_threads("waiter-00") <= 2
        server.release()
        responses = calls.join()
        assert [(r.status_code, r.text) for r in responses] == [(200, "released")] * 6
        assert server.arrived == 6


class SlowDNS:
    """A `netguard.Resolver`: `slow.test` answers only once released, any other name at once (127.0.0.1)."""

    def __init__(self) -> None:
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.waiting = 0

    def __call__(self, host: str, port: int, timeout: float | None) -> list[str]:
        if host == "slow.test":
            with self._lock:
                self.waiting += 1
            self._released.wait(120)
            with self._lock:
                self.waiting -= 1
        return ["127.0.0.1"]

    def release(self) -> None:
        self._released.set()


def test_slow_name_lookups_of_one_extension_do_not_delay_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lookups used to share 8 threads: 3 extensions x 4 calls resolving a name that never answers
    held them all, and every other extension's `request` waited for DNS until it timed out."""
    dns = SlowDNS()
    monkeypatch.setattr(netguard, "resolve", dns)
    with HoldingServer() as server:
        server.release()  # answers at once
        port = server.url.split(":")[2].split("/")[0]
        scope = {"request": {"urls": ["http://*:*/*"], "methods": ["GET"]}}
        extensions = tmp_path / "extensions"
        write_extension(extensions, "resolves-fast", "endpoint", WAITS_IN_REQUEST, scopes=scope)
        with host(tmp_path, WAITS_IN_REQUEST, scope, count=3, **LOOPBACK_ALLOWED) as client:
            calls = Calls(client)
            for index in range(3 * POOL):
                calls.send(f"/waiter-{index % 3:02d}", url=f"http://slow.test:{port}/hold")
            wait_for(lambda: dns.waiting >= 8, "the slow lookups to take 8 lookup threads")
            answer: list[tuple[Response, bool]] = []

            def healthy() -> None:
                response = client.get("/resolves-fast", params={"url": f"http://fast.test:{port}/hold"})
                answer.append((response, calls.done == 0 and dns.waiting >= 8))

            threading.Thread(target=healthy, daemon=True).start()
            try:
                wait_for(lambda: answer, "the healthy extension's request", timeout=60)
            finally:
                dns.release()
            response, still_waiting = answer[0]
            assert (response.status_code, response.text) == (200, "released")
            assert still_waiting, "the slow lookups ended before the healthy request was served"
            assert [(r.status_code, r.text) for r in calls.join()] == [(200, "released")] * 3 * POOL
