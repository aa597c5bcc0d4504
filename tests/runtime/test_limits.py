"""Faults end one call, the instance is replaced, everyone else goes on (real wasm)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

FAULTY = """
export default (router) => {
  let calls = 0;
  router.get('/loop', () => { while (true) {} });
  router.get('/async-loop', async () => { await null; while (true) {} });
  router.get('/bomb', () => { const keep = []; while (true) keep.push(new ArrayBuffer(8 << 20)); });
  router.get('/recurse', () => { const f = (n) => f(n + 1) + 1; return f(0); });
  router.get('/ok', () => ({ status: 200, body: { ok: true, calls: ++calls } }));
};
"""

HEALTHY = "export default (router) => router.get('/', () => ({ status: 200, body: 'fine' }));"


@pytest.fixture
def faulty(extensions_dir: Path, host: HostFactory) -> TestClient:
    write_extension(extensions_dir, "faulty", "endpoint", FAULTY)
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_sandbox_timeout=300, extensions_sandbox_memory=48, extensions_quarantine_after=3) as client:
        yield client  # type: ignore[misc]


def error_of(response: object) -> dict[str, object]:
    error: dict[str, object] = response.json()["errors"][0]  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize("path", ["/faulty/loop", "/faulty/async-loop"])
def test_infinite_loop_times_out_near_the_limit(faulty: TestClient, path: str) -> None:
    started = time.monotonic()
    response = faulty.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert error_of(response)["extensions"] == {"code": "EXTENSION_TIMEOUT"}
    assert "300 ms" in str(error_of(response)["message"])
    assert elapsed > 0.25  # it did run its 300 ms (a lower bound: noise only makes it longer)
    assert faulty.get("/faulty/ok").status_code == 200


def test_other_extensions_are_served_during_a_loop(faulty: TestClient) -> None:
    results: list[int] = []
    looping = threading.Thread(target=lambda: results.append(faulty.get("/faulty/loop").status_code))
    looping.start()
    time.sleep(0.05)
    served_during = []
    while looping.is_alive():
        response = faulty.get("/healthy")
        served_during.append(response.status_code)
        time.sleep(0.01)
    looping.join()
    assert results == [504]
    assert served_during, "the loop ended before any other request was made"
    assert set(served_during) == {200}


def test_memory_bomb_is_out_of_memory_then_recovers(faulty: TestClient) -> None:
    response = faulty.get("/faulty/bomb")
    assert response.status_code == 500
    assert error_of(response)["extensions"] == {"code": "EXTENSION_OUT_OF_MEMORY"}
    after = faulty.get("/faulty/ok")
    assert after.status_code == 200
    assert after.json()["ok"] is True


def test_stack_overflow_fails_then_recovers(faulty: TestClient) -> None:
    response = faulty.get("/faulty/recurse")
    assert response.status_code == 500
    assert error_of(response)["extensions"] == {"code": "EXTENSION_FAILED"}
    assert "stack" in str(error_of(response)["message"])
    assert faulty.get("/faulty/ok").status_code == 200


def test_faulted_instance_is_replaced(faulty: TestClient) -> None:
    first = faulty.get("/faulty/ok").json()["calls"]
    second = faulty.get("/faulty/ok").json()["calls"]
    assert second == first + 1  # same instance, state kept between calls
    assert faulty.get("/faulty/loop").status_code == 504
    fresh = faulty.get("/faulty/ok").json()["calls"]
    assert fresh == 1  # a new instance: the poisoned one was dropped


def test_repeated_faults_quarantine_until_reenabled(faulty: TestClient) -> None:
    for _ in range(3):
        assert faulty.get("/faulty/loop").status_code == 504
    blocked = faulty.get("/faulty/ok")
    assert blocked.status_code == 503
    assert error_of(blocked)["extensions"] == {"code": "EXTENSION_UNAVAILABLE"}
    listed = {e["name"]: e for e in faulty.get("/extensions", headers=ADMIN).json()["data"]}
    assert listed["faulty"]["status"] == "quarantined"
    assert "time limit" in listed["faulty"]["error"]
    assert listed["healthy"]["status"] == "ready"
    assert faulty.get("/healthy").status_code == 200
    enabled = faulty.patch("/extensions/faulty", json={"meta": {"enabled": True}}, headers=ADMIN)
    assert enabled.json()["data"]["status"] == "ready"
    assert faulty.get("/faulty/ok").status_code == 200


def test_a_success_resets_the_fault_count(faulty: TestClient) -> None:
    for _ in range(2):
        assert faulty.get("/faulty/loop").status_code == 504
    assert faulty.get("/faulty/ok").status_code == 200
    for _ in range(2):
        assert faulty.get("/faulty/loop").status_code == 504
    assert faulty.get("/faulty/ok").status_code == 200


# -- initialization that never ends ------------------------------------------------------------

SPIN = "(func $spin (loop $forever (br $forever)))"
INITIALIZERS = {
    "start-section": "(start $spin)",
    "_initialize": '(export "_initialize" (func $spin))',
    "__wasm_call_ctors": '(export "__wasm_call_ctors" (func $spin))',
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("kind", "initializer"),
    [("component", "start-section"), *(("extism", name) for name in INITIALIZERS)],
)
def test_initialization_that_never_ends_is_refused_at_load(
    extensions_dir: Path, host: HostFactory, kind: str, initializer: str
) -> None:
    """Code a module runs while its instance is made (a start function; for Extism plugins also
    `_initialize` and `__wasm_call_ctors`) gets the registration's time limit: the extension is
    refused with a clear reason and the host serves the others."""
    from tests.security.memory_wat import Component, ExtismModule

    ok = "(local.set $n (i64.const 1))"
    fields = SPIN + INITIALIZERS[initializer]
    if kind == "component":
        wasm = Component("spinner", {"/": ok}, main_fields=fields).wasm()
    else:
        wasm = ExtismModule({"/": ok}, fields=fields).wasm()
    write_extension(extensions_dir, "spinner", "endpoint", wasm, filename="index.wasm")
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with host(extensions_register_timeout=500) as client:
        listed = {e["name"]: e for e in client.get("/extensions", headers=ADMIN).json()["data"]}
        assert listed["spinner"]["status"] == "error"
        assert "500 ms" in listed["spinner"]["error"], listed["spinner"]["error"]
        assert client.get("/healthy/").text == "fine"
        assert client.get("/spinner/").status_code == 404
