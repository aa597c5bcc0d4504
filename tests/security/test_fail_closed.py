"""Fail closed: callers cannot switch an extension off, and what an unavailable extension
guards stays guarded (docs/security.md, "Fail closed").

- A filter hook of a quarantined or disabled extension rejects the write (503
  `EXTENSION_UNAVAILABLE`, nothing written), for every write and every runtime; so does
  a filter-event flow whose extension operation is unavailable, reject path or not.
- Quarantine backs off: it rests `EXTENSIONS_QUARANTINE_BACKOFF` ms, then ONE call probes
  (the others still get 503); a failed probe doubles the rest up to one hour, a good one
  closes the breaker. Only an administrator's disable is indefinite.
- The state is in the database: it survives a restart, and a guest call reads none of it.
- Globals the sandbox does not provide are absent or throw a catchable error naming the
  sandbox; using one, caught or not, is never a fault.

Every host here is real (real wasm, the real app over HTTP); quarantines are timed by a
`FakeClock` given to `create_app`, except in one test that waits on a small real back-off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event

from host.app import create_app
from host.extensions.circuit import MAX_BACKOFF_MS
from tests.flows.conftest import Api
from tests.security.holding import LOOPBACK_ALLOWED, FakeClock, HoldingServer
from tests.support import ADMIN, make_settings, wait_for, write_extension

BASE: dict[str, Any] = {"extensions_sandbox_timeout": 150, "extensions_quarantine_after": 3}

VALIDATOR = """
const check = (payload) => {
  if (payload && payload.loop) while (true) {}
  if (payload && payload.price < 0) throw new Error('price must not be negative');
  return payload;
};
export default ({ filter }) => {
  filter('items.create', check);
  filter('items.update', check);
  filter('items.delete', (keys) => keys);
};
"""

FLAKY = """
import { request } from 'directus:api';
export default (router) => {
  router.get('/loop', () => { while (true) {} });
  router.get('/throw', () => { throw new Error('thrown, not a fault'); });
  router.get('/ok', () => ({ status: 200, body: { ok: true } }));
  router.get('/hold', async (req) => ({ status: 200, body: (await request(req.query.url)).data }));
};
"""

HEALTHY = "export default (router) => router.get('/', () => ({ status: 200, body: 'fine' }));"


def error(response: Response) -> tuple[int, str, str]:
    body = response.json()["errors"][0]
    return response.status_code, body["extensions"]["code"], body["message"]


def listed(client: TestClient, name: str) -> dict[str, Any]:
    found: dict[str, Any] = {e["name"]: e for e in client.get("/extensions", headers=ADMIN).json()["data"]}[name]
    return found


def instances_made(client: TestClient, name: str) -> int:
    sandbox: Any = client.app.state.registry.get(name).sandbox  # type: ignore[attr-defined]
    return int(sandbox.inner.instances_made)


def set_enabled(client: TestClient, name: str, enabled: bool) -> dict[str, Any]:
    response = client.patch(f"/extensions/{name}", json={"meta": {"enabled": enabled}}, headers=ADMIN)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


Start = Callable[..., Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start(tmp_path: Path, extensions_dir: Path, clock: FakeClock) -> Start:
    """`with start(**settings) as client:` a real host over `extensions_dir` (same DATA_PATH each time)."""

    @contextmanager
    def run(real_clock: bool = False, **overrides: Any) -> Iterator[TestClient]:
        settings = make_settings(tmp_path, extensions_dir, **{**BASE, **overrides})
        app = create_app(settings) if real_clock else create_app(settings, clock=clock)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client

    return run


def quarantine(client: TestClient, path: str = "/flaky/loop", faults: int = 3) -> None:
    for _ in range(faults):
        assert error(client.get(path))[:2] == (504, "EXTENSION_TIMEOUT")


# -- filter hooks fail closed ---------------------------------------------------------


def test_faults_cannot_switch_a_validating_filter_off(extensions_dir: Path, start: Start) -> None:
    """The attack of issue 8: a few writes that make the validator time out quarantine it;
    the write it would have refused must still be refused."""
    write_extension(extensions_dir, "validator", "hook", VALIDATOR)
    write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
    with start() as client:
        assert error(client.post("/items/prices", json={"price": -5}, headers=ADMIN))[:2] == (400, "INVALID_PAYLOAD")
        for _ in range(3):
            assert error(client.post("/items/prices", json={"loop": True}, headers=ADMIN))[0] == 504
        assert listed(client, "validator")["status"] == "quarantined"
        for body in ({"price": -5}, {"price": 10}, {"loop": True}):
            status, code, message = error(client.post("/items/prices", json=body, headers=ADMIN))
            assert (status, code) == (503, "EXTENSION_UNAVAILABLE")
            assert 'Extension "validator" is quarantined after 3 faults in a row' in message
        assert client.get("/items/prices", headers=ADMIN).status_code == 404  # nothing was ever written
        assert client.get("/healthy").text == "fine"
        assert client.get("/server/health").status_code == 200


@pytest.mark.parametrize("how", ["quarantined", "disabled"])
@pytest.mark.parametrize("write", ["create", "update", "delete"])
def test_every_write_is_refused_while_its_filter_is_unavailable(
    extensions_dir: Path, start: Start, how: str, write: str
) -> None:
    write_extension(extensions_dir, "validator", "hook", VALIDATOR)
    with start() as client:
        created = client.post("/items/stock", json={"price": 1}, headers=ADMIN)
        assert created.status_code == 200, created.text
        key = created.json()["data"]["id"]
        if how == "quarantined":
            for _ in range(3):
                assert error(client.post("/items/stock", json={"loop": True}, headers=ADMIN))[0] == 504
        else:
            assert set_enabled(client, "validator", False)["status"] == "disabled"
        if write == "create":
            response = client.post("/items/stock", json={"price": 2}, headers=ADMIN)
        elif write == "update":
            response = client.patch(f"/items/stock/{key}", json={"price": 3}, headers=ADMIN)
        else:
            response = client.delete(f"/items/stock/{key}", headers=ADMIN)
        status, code, message = error(response)
        assert (status, code) == (503, "EXTENSION_UNAVAILABLE")
        assert f'Extension "validator" is {how}' in message
        assert client.get("/items/stock", headers=ADMIN).json()["data"] == [{"id": key, "price": 1}]


def test_a_collection_scoped_filter_fails_closed_and_leaves_other_collections_alone(
    extensions_dir: Path, start: Start
) -> None:
    scoped = "export default ({ filter }) => filter('orders.items.create', (p) => { if (p.loop) while (true) {} return p; });"
    write_extension(extensions_dir, "orders-check", "hook", scoped)
    with start() as client:
        for _ in range(3):
            assert error(client.post("/items/orders", json={"loop": True}, headers=ADMIN))[0] == 504
        assert error(client.post("/items/orders", json={"n": 1}, headers=ADMIN))[:2] == (503, "EXTENSION_UNAVAILABLE")
        assert client.get("/items/orders", headers=ADMIN).status_code == 404
        assert client.post("/items/notes", json={"n": 1}, headers=ADMIN).status_code == 200  # not guarded by it


def test_a_python_filter_fails_closed_too(extensions_dir: Path, start: Start) -> None:
    source = """
from directus_api import filter

@filter("items.create")
def check(payload, meta):
    if payload.get("loop"):
        while True:
            pass
    return payload
"""
    write_extension(extensions_dir, "py-check", "hook", source, filename="index.py")
    with start() as client:
        assert client.post("/items/py", json={"n": 1}, headers=ADMIN).status_code == 200
        for _ in range(3):
            assert error(client.post("/items/py", json={"loop": True}, headers=ADMIN))[0] == 504
        assert error(client.post("/items/py", json={"n": 2}, headers=ADMIN))[:2] == (503, "EXTENSION_UNAVAILABLE")
        assert client.get("/items/py", headers=ADMIN).json()["data"] == [{"id": 1, "n": 1}]


def test_actions_of_an_unavailable_extension_are_skipped_not_failed(extensions_dir: Path, start: Start) -> None:
    source = "export default ({ action }) => action('items.create', () => { while (true) {} });"
    write_extension(extensions_dir, "spinner", "hook", source)
    with start() as client:
        set_enabled(client, "spinner", False)
        assert client.post("/items/log", json={"n": 1}, headers=ADMIN).status_code == 200
        client.portal.call(client.app.state.emitter.drain)  # type: ignore[attr-defined,union-attr]
        assert listed(client, "spinner")["faults_in_a_row"] == 0  # it was not called


# -- flows fail closed ------------------------------------------------------------------

CHECK_OPERATION = """
export default {
  id: 'check-op',
  handler: (options) => {
    if (options.mode === 'loop') while (true) {}
    if (options.qty <= 0) throw new Error('qty must be positive');
    return { checked: true };
  },
};
"""


@pytest.mark.parametrize("how", ["quarantined", "disabled"])
def test_a_filter_flow_fails_closed_when_its_extension_operation_is_unavailable(
    extensions_dir: Path, start: Start, how: str
) -> None:
    """The flow's reject path only logs (an author who wanted to let rejected writes through
    with a note): an unavailable check is no answer, so the run ends and the write is refused."""
    write_extension(extensions_dir, "check-op", "operation", CHECK_OPERATION)
    with start() as client:
        api = Api(client)
        api.build(
            {
                "name": "orders are checked",
                "trigger": "event",
                "options": {"type": "filter", "scope": ["items.create"], "collections": ["orders"]},
            },
            [
                {"key": "check", "type": "check-op", "options": {"mode": "{{ $trigger.payload.mode }}", "qty": "{{ $trigger.payload.qty }}"}},
                {"key": "note", "type": "log", "options": {"message": "check failed: {{ check.message }}"}},
            ],
            links=[("check", "reject", "note")],
        )
        assert client.post("/items/orders", json={"qty": 1}, headers=ADMIN).status_code == 200
        if how == "quarantined":
            for _ in range(3):  # each times out, takes the reject path, and is let through by the author
                assert client.post("/items/orders", json={"mode": "loop", "qty": 1}, headers=ADMIN).status_code == 200
            assert listed(client, "check-op")["status"] == "quarantined"
        else:
            set_enabled(client, "check-op", False)
        before = client.get("/items/orders", headers=ADMIN).json()["data"]
        status, code, message = error(client.post("/items/orders", json={"qty": 5}, headers=ADMIN))
        assert (status, code) == (503, "EXTENSION_UNAVAILABLE")
        assert f'Extension "check-op" is {how}' in message
        assert client.get("/items/orders", headers=ADMIN).json()["data"] == before


# -- the circuit breaker ----------------------------------------------------------------


def test_backoff_doubles_per_failed_probe_up_to_one_hour_and_a_good_probe_resets_it(
    extensions_dir: Path, start: Start, clock: FakeClock
) -> None:
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start(extensions_quarantine_backoff=30_000) as client:
        quarantine(client)
        state = listed(client, "flaky")
        assert (state["status"], state["faults_in_a_row"], state["backoff_ms"], state["probe"]) == (
            "quarantined", 3, 30_000, "waiting"
        )
        rests = []
        for _ in range(9):
            clock.advance(listed(client, "flaky")["backoff_ms"] / 1000 - 0.001)
            status, _, message = error(client.get("/flaky/ok"))  # still resting: refused, not run
            assert status == 503 and "the next probe call is allowed at" in message
            clock.advance(0.001)
            assert listed(client, "flaky")["probe"] == "allowed"
            assert error(client.get("/flaky/loop"))[:2] == (504, "EXTENSION_TIMEOUT")  # the probe ran, and faulted
            rests.append(listed(client, "flaky")["backoff_ms"])
        assert rests == [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, MAX_BACKOFF_MS, MAX_BACKOFF_MS, MAX_BACKOFF_MS]
        assert listed(client, "flaky")["faults_in_a_row"] == 12
        clock.advance(MAX_BACKOFF_MS / 1000)
        assert client.get("/flaky/ok").json() == {"ok": True}  # a good probe closes the breaker
        state = listed(client, "flaky")
        assert (state["status"], state["faults_in_a_row"], state["backoff_ms"], state["next_probe_at"]) == (
            "ready", 0, None, None
        )
        quarantine(client)
        assert listed(client, "flaky")["backoff_ms"] == 30_000  # the rest starts over


def test_one_call_probes_while_every_other_call_is_refused(
    extensions_dir: Path, start: Start, clock: FakeClock
) -> None:
    with HoldingServer() as server:
        write_extension(extensions_dir, "flaky", "endpoint", FLAKY, scopes=server.scope())
        write_extension(extensions_dir, "healthy", "endpoint", HEALTHY)
        with start(**LOOPBACK_ALLOWED) as client:
            quarantine(client)
            clock.advance(30)
            probe: list[Response] = []
            prober = threading.Thread(target=lambda: probe.append(client.get("/flaky/hold", params={"url": server.url})))
            prober.start()
            wait_for(lambda: server.held == 1, "the probe call to wait in request()")
            assert listed(client, "flaky")["probe"] == "running"
            for path in ("/flaky/ok", "/flaky/loop", "/flaky/hold"):
                status, code, message = error(client.get(path, params={"url": server.url}))
                assert (status, code) == (503, "EXTENSION_UNAVAILABLE")
                assert "a probe call is running" in message
            assert server.arrived == 1  # none of them reached the guest
            assert client.get("/healthy").status_code == 200
            server.release()
            prober.join(60)
            assert probe[0].status_code == 200 and probe[0].text == "released"
            state = listed(client, "flaky")
            assert (state["status"], state["faults_in_a_row"], state["backoff_ms"], state["probe"]) == (
                "ready", 0, None, None
            )
            assert client.get("/flaky/ok").status_code == 200


def test_a_probe_whose_handler_throws_closes_the_breaker(extensions_dir: Path, start: Start, clock: FakeClock) -> None:
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start() as client:
        quarantine(client)
        clock.advance(30)
        assert error(client.get("/flaky/throw"))[:2] == (500, "EXTENSION_FAILED")  # ran: a handler error, no fault
        assert listed(client, "flaky")["status"] == "ready"


def test_the_probe_waits_for_a_small_real_backoff(extensions_dir: Path, start: Start) -> None:
    """With the real clock: poll until the probe is allowed, never assert how long it took."""
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start(real_clock=True, extensions_quarantine_backoff=200) as client:
        quarantine(client)
        assert listed(client, "flaky")["backoff_ms"] == 200
        wait_for(lambda: listed(client, "flaky")["probe"] == "allowed", "the probe to be allowed")
        assert client.get("/flaky/ok").json() == {"ok": True}
        assert listed(client, "flaky")["status"] == "ready"


def test_only_an_administrators_disable_is_indefinite(extensions_dir: Path, start: Start, clock: FakeClock) -> None:
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start() as client:
        quarantine(client)
        disabled = set_enabled(client, "flaky", False)
        assert (disabled["status"], disabled["enabled"]) == ("disabled", False)
        clock.advance(10 * 24 * 3600)  # ten days: far past any back-off
        status, code, message = error(client.get("/flaky/ok"))
        assert (status, code) == (503, "EXTENSION_UNAVAILABLE")
        assert message == 'Extension "flaky" is disabled by an administrator'
        enabled = set_enabled(client, "flaky", True)  # re-enabling resets faults and back-off
        assert (enabled["status"], enabled["faults_in_a_row"], enabled["backoff_ms"], enabled["next_probe_at"]) == (
            "ready", 0, None, None
        )
        assert client.get("/flaky/ok").status_code == 200
        quarantine(client)
        assert set_enabled(client, "flaky", True)["status"] == "ready"  # enabling lifts a quarantine at once


@pytest.mark.parametrize(
    "body",
    [{}, {"meta": {}}, {"meta": {"enabled": "maybe"}}, {"meta": {"enabled": None}}, {"enabled": False}, []],
)
def test_a_malformed_patch_changes_nothing(extensions_dir: Path, start: Start, body: Any) -> None:
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start() as client:
        response = client.patch("/extensions/flaky", json=body, headers=ADMIN)
        assert error(response)[:2] == (400, "INVALID_PAYLOAD")
        assert listed(client, "flaky")["status"] == "ready"
        assert client.patch("/extensions/flaky", json={"meta": {"enabled": False}}).status_code == 401
        assert client.get("/flaky/ok").status_code == 200


# -- state in the database ---------------------------------------------------------------


def test_quarantine_and_backoff_survive_a_restart(extensions_dir: Path, start: Start, clock: FakeClock) -> None:
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start() as client:
        quarantine(client)
        clock.advance(30)
        assert error(client.get("/flaky/loop"))[0] == 504  # a failed probe: 60 s now
        before = listed(client, "flaky")
    with start() as client:
        after = listed(client, "flaky")
        assert {k: after[k] for k in ("status", "faults_in_a_row", "backoff_ms", "next_probe_at", "error")} == {
            k: before[k] for k in ("status", "faults_in_a_row", "backoff_ms", "next_probe_at", "error")
        }
        assert (after["status"], after["faults_in_a_row"], after["backoff_ms"]) == ("quarantined", 4, 60_000)
        assert error(client.get("/flaky/ok"))[:2] == (503, "EXTENSION_UNAVAILABLE")
        clock.advance(60)
        assert client.get("/flaky/ok").status_code == 200  # the probe, after the restart
    with start() as client:
        assert listed(client, "flaky")["status"] == "ready"


def test_a_disable_survives_a_restart_and_so_does_the_enable(extensions_dir: Path, start: Start) -> None:
    write_extension(extensions_dir, "validator", "hook", VALIDATOR)
    with start() as client:
        set_enabled(client, "validator", False)
    with start() as client:
        assert listed(client, "validator")["status"] == "disabled"
        assert error(client.post("/items/p", json={"price": -1}, headers=ADMIN))[:2] == (503, "EXTENSION_UNAVAILABLE")
        set_enabled(client, "validator", True)
    with start() as client:
        assert listed(client, "validator")["status"] == "ready"
        assert error(client.post("/items/p", json={"price": -1}, headers=ADMIN))[:2] == (400, "INVALID_PAYLOAD")
        assert client.post("/items/p", json={"price": 1}, headers=ADMIN).status_code == 200


def test_guest_calls_read_no_state_from_the_database(extensions_dir: Path, start: Start) -> None:
    """The table is read at load (and when another process changed it); a change is computed
    from the stored row, locked: a call that changes nothing costs no query."""
    write_extension(extensions_dir, "flaky", "endpoint", FLAKY)
    with start() as client:
        statements: list[str] = []
        engine = client.app.state.db.engine  # type: ignore[attr-defined]

        def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if "exthost_extension_state" in statement:
                statements.append(statement.split()[0].upper())

        event.listen(engine, "before_cursor_execute", seen)
        try:
            for _ in range(20):
                assert client.get("/flaky/ok").status_code == 200
                assert client.get("/flaky/throw").status_code == 500
            assert statements == []
            assert error(client.get("/flaky/loop"))[0] == 504
            assert statements[0] == "UPDATE" and set(statements) <= {"UPDATE", "INSERT", "SELECT"}  # counted in the row
            statements.clear()
            assert client.get("/flaky/ok").status_code == 200  # the reset of the count is written once
            written = list(statements)
            assert written[0] == "UPDATE" and written[-1] == "UPDATE"
            assert client.get("/flaky/ok").status_code == 200
            assert statements == written
        finally:
            event.remove(engine, "before_cursor_execute", seen)


# -- globals the sandbox does not provide ---------------------------------------------------

GLOBALS = """
const uses = {
  fetch: () => fetch('https://example.com/'),
  setTimeout: () => setTimeout(() => {}, 10),
  setInterval: () => setInterval(() => {}, 10),
  'import': () => import('node:fs'),
  'eval-import': () => eval("import('node:fs')"),
  'function-import': () => new Function("return import('node:fs')")(),
  'async-function-import': () => (async () => {}).constructor("return await import('node:fs')")(),
  setImmediate: () => setImmediate(() => {}),
  require: () => require('fs'),
  process: () => process.env,
  Buffer: () => Buffer.from('x'),
  XMLHttpRequest: () => new XMLHttpRequest(),
  WebSocket: () => new WebSocket('wss://example.com/'),
  Deno: () => Deno.readTextFile('/etc/passwd'),
  Bun: () => Bun.file('/etc/passwd'),
  WebAssembly: () => WebAssembly.compile(new Uint8Array(8)),
  Worker: () => new Worker('x.js'),
  module: () => module.exports,
  global: () => global.process,
  listener: () => {
    const target = new EventTarget();
    target.addEventListener('x', () => { throw new Error('listener'); });
    target.dispatchEvent(new Event('x'));
    throw new Error('the listener threw inside dispatchEvent, which went on');
  },
};
export default (router) => {
  router.get('/caught/:name', async (req) => {
    const name = req.params.name;
    try {
      await uses[name]();
      return { status: 200, body: { threw: false } };
    } catch (e) {
      return { status: 200, body: { threw: true, name: e.name, message: e.message, type: typeof globalThis[name] } };
    }
  });
  router.get('/uncaught/:name', async (req) => { await uses[req.params.name](); return { status: 200, body: 'no error' }; });
  router.get('/provided', async () => {
    const micro = await new Promise((resolve) => queueMicrotask(() => resolve('microtask ran')));
    return { status: 200, body: { micro, evaluated: eval('1 + 1'), built: new Function('a', 'return a * 2')(21) } };
  });
  router.get('/api-import', async () => ({ status: 200, body: typeof (await import('directus:api')).log }));
};
"""

THROW = ["fetch", "setTimeout", "setInterval", "import", "eval-import", "function-import", "async-function-import"]
ABSENT = ["setImmediate", "require", "process", "Buffer", "XMLHttpRequest", "WebSocket", "Deno", "Bun", "WebAssembly", "Worker", "module", "global"]
EXPECTED_MESSAGE = {
    "fetch": "fetch is not available in the exthost sandbox: use request() from directus:api",
    "setTimeout": "setTimeout is not available in the exthost sandbox: use sleep() from directus:api",
    "setInterval": "setInterval is not available in the exthost sandbox: use sleep() from directus:api",
}
IMPORT_MESSAGE = "import() is not available in the exthost sandbox: bundle dependencies into the extension (exthost build)"


@pytest.fixture
def globals_host(extensions_dir: Path, start: Start) -> Iterator[TestClient]:
    write_extension(extensions_dir, "globals", "endpoint", GLOBALS)
    with start(extensions_quarantine_after=1) as client:  # a single fault would quarantine it
        yield client


@pytest.mark.parametrize("name", THROW)
def test_unsupported_js_globals_throw_a_catchable_error_naming_the_sandbox(globals_host: TestClient, name: str) -> None:
    made = instances_made(globals_host, "globals")
    caught = globals_host.get(f"/globals/caught/{name}").json()
    assert caught["threw"] is True
    assert caught["message"] == EXPECTED_MESSAGE.get(name, IMPORT_MESSAGE)
    status, code, message = error(globals_host.get(f"/globals/uncaught/{name}"))
    assert (status, code, message) == (500, "EXTENSION_FAILED", caught["message"])
    state = listed(globals_host, "globals")
    assert (state["status"], state["faults_in_a_row"]) == ("ready", 0)
    assert instances_made(globals_host, "globals") == made  # no trap: the same instance goes on


@pytest.mark.parametrize("name", ABSENT)
def test_node_deno_and_bun_globals_are_absent(globals_host: TestClient, name: str) -> None:
    made = instances_made(globals_host, "globals")
    caught = globals_host.get(f"/globals/caught/{name}").json()
    assert (caught["threw"], caught["type"], caught["name"]) == (True, "undefined", "ReferenceError")
    assert caught["message"] == f"{name} is not defined"
    assert error(globals_host.get(f"/globals/uncaught/{name}"))[:2] == (500, "EXTENSION_FAILED")
    assert listed(globals_host, "globals")["faults_in_a_row"] == 0
    assert instances_made(globals_host, "globals") == made


def test_a_throwing_event_listener_does_not_trap(globals_host: TestClient) -> None:
    made = instances_made(globals_host, "globals")
    caught = globals_host.get("/globals/caught/listener").json()
    assert caught["message"] == "the listener threw inside dispatchEvent, which went on"
    assert listed(globals_host, "globals")["faults_in_a_row"] == 0
    assert instances_made(globals_host, "globals") == made


def test_what_the_sandbox_does_provide_still_works(globals_host: TestClient) -> None:
    assert globals_host.get("/globals/provided").json() == {"micro": "microtask ran", "evaluated": 2, "built": 42}
    assert globals_host.get("/globals/api-import").text == "function"  # import('directus:api') resolves


PYTHON_PROBE = """
from directus_api import router

SNIPPETS = {
    "socket": "import socket",
    "open": "open('/etc/passwd').read()",
    "open-write": "open('/tmp/x', 'w').write('x')",
    "listdir": "import os; os.listdir('/')",
    "threading": "import threading; threading.Thread(target=print).start()",
    "thread": "import _thread; _thread.start_new_thread(print, ())",
    "subprocess": "import subprocess; subprocess.run(['ls'])",
    "urllib": "import urllib.request; urllib.request.urlopen('http://example.com')",
    "ctypes": "import ctypes",
    "time-sleep": "import time; time.sleep(60)",
    "select": "import select; select.select([], [], [], 60)",
    "exit": "import os; os._exit(3)",
    "abort": "import os; os.abort()",
}

def caught(req):
    try:
        exec(SNIPPETS[req["params"]["name"]], {})
    except Exception as e:
        return {"status": 200, "body": {"threw": True, "type": type(e).__name__, "message": str(e)}}
    return {"status": 200, "body": {"threw": False}}

def uncaught(req):
    exec(SNIPPETS[req["params"]["name"]], {})
    return {"status": 200, "body": "no error"}

def environ(req):
    import os
    return {"status": 200, "body": dict(os.environ)}

router.get("/caught/:name", caught)
router.get("/uncaught/:name", uncaught)
router.get("/environ", environ)
"""

PYTHON_REFUSALS = {
    "socket": ("ModuleNotFoundError", "No module named 'socket'"),
    "open": ("FileNotFoundError", "No such file or directory"),
    "open-write": ("FileNotFoundError", "No such file or directory"),
    "listdir": ("FileNotFoundError", "No such file or directory"),
    "threading": ("ModuleNotFoundError", "No module named 'threading'"),
    "thread": ("RuntimeError", "can't start new thread"),
    "subprocess": ("ModuleNotFoundError", "No module named 'subprocess'"),
    "urllib": ("ModuleNotFoundError", "No module named 'urllib.request'"),
    "ctypes": ("ModuleNotFoundError", "No module named 'ctypes'"),
    "time-sleep": ("RuntimeError", "time.sleep is not available in the exthost sandbox: use sleep() from directus_api"),
    "select": ("RuntimeError", "select.select is not available in the exthost sandbox"),
    "exit": ("RuntimeError", "os._exit is not available in the exthost sandbox"),
    "abort": ("RuntimeError", "os.abort is not available in the exthost sandbox"),
}


@pytest.fixture
def python_host(extensions_dir: Path, start: Start) -> Iterator[TestClient]:
    write_extension(extensions_dir, "py-probe", "endpoint", PYTHON_PROBE, filename="index.py")
    with start(extensions_quarantine_after=1, extensions_sandbox_timeout=1000) as client:
        yield client


@pytest.mark.parametrize("name", list(PYTHON_REFUSALS))
def test_python_refusals_are_catchable_exceptions_not_traps(python_host: TestClient, name: str) -> None:
    made = instances_made(python_host, "py-probe")
    caught = python_host.get(f"/py-probe/caught/{name}").json()
    kind, text = PYTHON_REFUSALS[name]
    assert caught["threw"] is True and caught["type"] == kind and text in caught["message"]
    status, code, message = error(python_host.get(f"/py-probe/uncaught/{name}"))
    assert (status, code) == (500, "EXTENSION_FAILED") and text in message
    state = listed(python_host, "py-probe")
    assert (state["status"], state["faults_in_a_row"]) == ("ready", 0)
    assert instances_made(python_host, "py-probe") == made


def test_python_sees_an_empty_environment(python_host: TestClient) -> None:
    assert python_host.get("/py-probe/environ").json() == {}
