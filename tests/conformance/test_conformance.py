"""One behaviour, every runtime: the same cases against the conformance extension
written in JS, Python, a JS component, a Python component, AssemblyScript and C.

Endpoints go through a real host over HTTP; hooks and operations are called
through the `Sandbox` protocol (`Runtime.open()` -> `Sandbox.call()`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import ExthostError
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime as HostRuntime
from host.sandbox import Sandbox
from host.types import ExtensionKind, Json, Undefined
from tests.conformance.artifacts import RUNTIMES, Runtime, artifact
from tests.support import make_settings, running_host, write_extension

LABELS = [r.label for r in RUNTIMES]
SCOPES: dict[str, Any] = {"log": {}}
SETTINGS: dict[str, Any] = {"extensions_sandbox_timeout": 500, "extensions_quarantine_after": 1000}
ENDPOINT_IDS = {
    "js": "conformance-js",
    "python": "conformance-py",
    "js-component": "conformance-js-component",
    "python-component": "conformance-py-component",
    "assemblyscript": "conformance-as",
    "c": "conformance-c",
}


class Artifacts:
    """Every runtime's artifact per kind, built once per session (and cached on disk across sessions).

    A runtime whose build fails fails its own tests, with the build error, not the others'."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str], Path | Exception] = {}

    def __getitem__(self, key: tuple[str, str]) -> Path:
        if key not in self._built:
            label, kind = key
            try:
                self._built[key] = artifact(next(r for r in RUNTIMES if r.label == label), kind)
            except Exception as error:
                self._built[key] = error
        found = self._built[key]
        if isinstance(found, Exception):
            raise found
        return found


@pytest.fixture(scope="session")
def artifacts() -> Artifacts:
    return Artifacts()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("conformance")
    return make_settings(root, root / "extensions", **SETTINGS)


@pytest.fixture(scope="module")
def http(settings: Settings, artifacts: Artifacts) -> Iterator[TestClient]:
    """A real host serving every runtime's endpoint extension."""
    for runtime in RUNTIMES:
        try:
            path = artifacts[runtime.label, "endpoint"]
        except Exception:
            continue  # its tests fail with the build error
        name = f"endpoint-{runtime.label}"
        write_extension(settings.extensions_path, name, "endpoint", path.read_bytes(), scopes=SCOPES,
                        filename=f"index{path.suffix}")
    with running_host(settings) as client:
        yield client


@dataclass
class Sandboxes:
    runtime: HostRuntime
    settings: Settings
    artifacts: Artifacts
    opened: dict[tuple[str, str], Sandbox]

    def get(self, label: str, kind: str) -> Sandbox:
        if (label, kind) not in self.opened:
            name = f"{kind}-{label}"
            capabilities = build_capabilities(name, Scopes.model_validate(SCOPES), self.settings)
            self.opened[(label, kind)] = self.runtime.open(
                name, ExtensionKind(kind), self.artifacts[label, kind], capabilities
            )
        return self.opened[(label, kind)]


@pytest.fixture(scope="module")
def sandboxes(settings: Settings, artifacts: Artifacts) -> Iterator[Sandboxes]:
    runtime = HostRuntime(settings, SDK_PATH)
    found = Sandboxes(runtime, settings, artifacts, {})
    yield found
    for sandbox in found.opened.values():
        sandbox.close()
    runtime.close()


# -- outcomes: what every runtime must agree on -----------------------------------


def http_outcome(response: Any) -> tuple[int, str, Json]:
    kind = response.headers.get("content-type", "").split(";")[0]
    body = response.json() if kind == "application/json" else response.text
    if isinstance(body, dict) and "errors" in body:
        body = {"code": body["errors"][0]["extensions"]["code"]}
    return response.status_code, kind, body


def call_outcome(sandbox: Sandbox, handler: int, args: list[Json]) -> tuple[str, Json]:
    try:
        result = asyncio.run(sandbox.call(handler, args))
    except ExthostError as error:
        return type(error).__name__, error.message
    return "ok", None if isinstance(result, Undefined) else result


# -- endpoints, over HTTP ------------------------------------------------------------

ENDPOINT_CASES: dict[str, tuple[Callable[[TestClient, str], Any], tuple[int, str, Json]]] = {
    "echo params and query": (
        lambda c, e: c.get(f"/{e}/echo/42?q=a&q=b&x=1"),
        (200, "application/json", {"params": {"id": "42"}, "query": {"q": ["a", "b"], "x": "1"}}),
    ),
    "JSON body": (
        lambda c, e: c.post(f"/{e}/echo/7?x=1", json={"a": [1, 2.5, None], "b": "ü"}),
        (201, "application/json", {"params": {"id": "7"}, "query": {"x": "1"}, "body": {"a": [1, 2.5, None], "b": "ü"}}),
    ),
    "text body": (
        lambda c, e: c.post(f"/{e}/echo/7", content="hello\nworld", headers={"content-type": "text/plain"}),
        (201, "application/json", {"params": {"id": "7"}, "query": {}, "body": "hello\nworld"}),
    ),
    "text response": (lambda c, e: c.get(f"/{e}/text"), (200, "text/plain", "plain text")),
    "capability used": (lambda c, e: c.get(f"/{e}/log"), (200, "application/json", {"logged": True})),
    "capability denied": (
        lambda c, e: c.get(f"/{e}/denied"),
        (403, "application/json", {"error": 'No permission to access "request"'}),
    ),
    "infinite loop": (lambda c, e: c.get(f"/{e}/loop"), (504, "application/json", {"code": "EXTENSION_TIMEOUT"})),
    "memory bomb": (lambda c, e: c.get(f"/{e}/bomb"), (500, "application/json", {"code": "EXTENSION_OUT_OF_MEMORY"})),
    "serves again after faults": (
        lambda c, e: c.get(f"/{e}/echo/1"),
        (200, "application/json", {"params": {"id": "1"}, "query": {}}),
    ),
}


@pytest.mark.parametrize("case", list(ENDPOINT_CASES))
@pytest.mark.parametrize("label", LABELS)
def test_endpoint(http: TestClient, artifacts: Artifacts, label: str, case: str) -> None:
    artifacts[label, "endpoint"]  # a failed build fails here, with its error
    send, expected = ENDPOINT_CASES[case]
    assert http_outcome(send(http, ENDPOINT_IDS[label])) == expected


def test_every_runtime_loaded_as_expected(http: TestClient, artifacts: Artifacts) -> None:
    for runtime in RUNTIMES:
        artifacts[runtime.label, "endpoint"]
    listed = {e["name"]: e for e in http.get("/extensions", headers={"Authorization": "Bearer test-admin-token"})
              .json()["data"]}
    for runtime in RUNTIMES:
        entry = listed[f"endpoint-{runtime.label}"]
        assert (entry["status"], entry["runtime"]) == ("ready", runtime.expected_runtime)


# -- hooks and operations, through the Sandbox protocol ------------------------------

META = {"event": "items.create", "collection": "articles"}
CONTEXT = {"accountability": None}
OPERATION_CONTEXT = {"data": {"$trigger": {}, "$last": None}, "accountability": None}

HANDLER_CASES: dict[str, tuple[str, Callable[[Sandbox], int], list[Json], tuple[str, Json]]] = {
    "filter modifies": (
        "hook",
        lambda s: next(f.handler for f in s.registration.filters if f.event == "items.create"),
        [{"title": "x", "n": 1}, META, CONTEXT],
        ("ok", {"title": "x", "n": 1, "touched": True}),
    ),
    "filter rejects": (
        "hook",
        lambda s: next(f.handler for f in s.registration.filters if f.event == "items.update"),
        [{"title": "x"}, {**META, "event": "items.update"}, CONTEXT],
        ("ExtensionFailed", "rejected by the conformance hook"),
    ),
    "operation resolves": (
        "operation",
        lambda s: s.registration.operation.handler if s.registration.operation else -1,
        [{"value": {"deep": [1, "two"]}}, OPERATION_CONTEXT],
        ("ok", {"ok": True, "value": {"deep": [1, "two"]}, "keys": 2}),
    ),
    "operation rejects": (
        "operation",
        lambda s: s.registration.operation.handler if s.registration.operation else -1,
        [{"fail": True, "reason": "nope"}, OPERATION_CONTEXT],
        ("ExtensionFailed", "operation rejected: nope"),
    ),
}


@pytest.mark.parametrize("case", list(HANDLER_CASES))
@pytest.mark.parametrize("label", LABELS)
def test_handler(sandboxes: Sandboxes, label: str, case: str) -> None:
    kind, pick, args, expected = HANDLER_CASES[case]
    sandbox = sandboxes.get(label, kind)
    assert call_outcome(sandbox, pick(sandbox), args) == expected


@pytest.mark.parametrize("runtime", RUNTIMES, ids=LABELS)
def test_registration_shape(sandboxes: Sandboxes, runtime: Runtime) -> None:
    hook = sandboxes.get(runtime.label, "hook").registration
    operation = sandboxes.get(runtime.label, "operation").registration
    assert sorted(f.event for f in hook.filters) == ["items.create", "items.update"]
    assert operation.operation is not None and operation.operation.id == "conformance"
    assert sandboxes.get(runtime.label, "hook").runtime == runtime.expected_runtime
