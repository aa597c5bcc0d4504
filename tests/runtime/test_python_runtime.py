"""The Python runtime component: registration, handlers, faults (real wasm)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import ExtensionFailed, ExtensionLoadError, ExtensionStackOverflow
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import PooledSandbox
from host.types import UNDEFINED, ExtensionKind
from tests.support import make_settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("python-runtime"), extensions_sandbox_timeout=500)


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    found = Runtime(settings, SDK_PATH)
    yield found
    found.close()


def open_source(runtime: Runtime, tmp_path: Path, kind: str, source: str, scopes: dict[str, Any] | None = None) -> PooledSandbox:
    path = tmp_path / "index.py"
    path.write_text(source, encoding="utf-8")
    capabilities = build_capabilities("py", Scopes.model_validate(scopes or {}), runtime.settings)
    return runtime.open("py", ExtensionKind(kind), path, capabilities)


def call(sandbox: PooledSandbox, handler: int, *args: Any) -> Any:
    return asyncio.run(sandbox.call(handler, list(args)))


def test_router_call_form_async_handlers_and_nothing_returned(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "endpoint", """
from directus_api import router, sleep

async def slow(req):
    await sleep(1)
    return {"status": 200, "body": {"slept": True}}

router.get("/slow", slow)
router.delete("/nothing", lambda req: None)
""", {"sleep": {}})
    assert [(r.method, r.path) for r in sandbox.registration.routes] == [("GET", "/slow"), ("DELETE", "/nothing")]
    assert sandbox.registration.id is None
    assert call(sandbox, 0, {}) == {"status": 200, "body": {"slept": True}}
    assert call(sandbox, 1, {}) is UNDEFINED


def test_denied_capability_is_a_catchable_host_error(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "operation", """
from directus_api import HostError, log, operation

@operation("try-log")
def run(options, context):
    try:
        log("hi")
    except HostError as error:
        return {"error": str(error)}
""")
    assert call(sandbox, 0, {}, {"data": {}}) == {"error": 'No permission to access "log"'}


def test_handlers_get_only_the_arguments_they_take(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "hook", """
from directus_api import action, filter

@filter("items.create")
def one(payload):
    return {**payload, "one": True}

@action("items.create")
def every(*args):
    return len(args)
""")
    assert call(sandbox, 0, {"a": 1}, {"event": "items.create"}, {}) == {"a": 1, "one": True}
    assert call(sandbox, 1, {"event": "items.create"}, {}) == 2


@pytest.mark.parametrize(
    ("kind", "source", "message"),
    [
        ("endpoint", "def broken(:\n", "SyntaxError"),
        ("hook", "from directus_api import router\nrouter.get('/', lambda r: 1)\n", "belongs in a endpoint"),
        ("operation", "x = 1\n", "an operation must register its handler"),
        ("endpoint", "raise RuntimeError('no thanks')\n", "RuntimeError: no thanks"),
        ("endpoint", "import socket\n", "ModuleNotFoundError"),
    ],
)
def test_a_bad_extension_is_rejected_at_load(runtime: Runtime, tmp_path: Path, kind: str, source: str,
                                             message: str) -> None:
    with pytest.raises((ExtensionFailed, ExtensionLoadError), match=message):
        open_source(runtime, tmp_path, kind, source)


def test_errors_and_faults(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "endpoint", """
from directus_api import router

@router.get("/raise")
def fails(req):
    raise KeyError("missing")

@router.get("/recurse")
def recurse(req):
    def deeper(n):
        return deeper(n + 1)
    return deeper(0)

@router.get("/not-json")
def not_json(req):
    return {"status": 200, "body": object()}

@router.get("/ok")
def ok(req):
    return {"status": 200, "body": "fine"}
""")
    with pytest.raises(ExtensionFailed, match="'missing'"):
        call(sandbox, 0, {})
    with pytest.raises(ExtensionStackOverflow):
        call(sandbox, 1, {})
    with pytest.raises(ExtensionFailed, match="cannot be sent as JSON"):
        call(sandbox, 2, {})
    assert call(sandbox, 3, {}) == {"status": 200, "body": "fine"}


def test_print_goes_to_the_host_log(runtime: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sandbox = open_source(runtime, tmp_path, "operation", """
from directus_api import operation

@operation("talk")
def talk(options, context):
    print("said", options["word"])
""", {"log": {}})
    with caplog.at_level("INFO", logger="exthost.extension.py"):
        assert call(sandbox, 0, {"word": "hello"}, {"data": {}}) is UNDEFINED
    assert "said hello" in caplog.text
