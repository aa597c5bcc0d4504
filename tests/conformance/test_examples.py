"""The per-language examples in extensions/ build and behave as their docs say."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from host.app import create_app
from host.config import Settings
from host.extensions.build import build_extension
from host.extensions.loader import load_extension
from host.extensions.manifest import read_manifest
from host.extensions.namespace import HostNamespace
from host.paths import PROJECT_ROOT, SDK_PATH
from host.runtime import Runtime
from host.sandbox import Sandbox
from tests.support import make_settings

EXAMPLES = PROJECT_ROOT / "extensions"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("examples"))


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    found = Runtime(settings, SDK_PATH)
    yield found
    found.close()


def load(name: str, runtime: Runtime, settings: Settings) -> Sandbox:
    folder = EXAMPLES / name
    build_extension(folder, read_manifest(folder))
    extension = load_extension(folder, runtime, settings, HostNamespace.of_routes(create_app(settings).routes))
    assert extension.error is None and extension.sandbox is not None, extension.error
    return extension.sandbox


def request(path: str, params: dict[str, str], body: object = None, method: str = "GET") -> dict[str, object]:
    return {"url": path, "method": method, "path": path, "params": params, "query": {}, "headers": {},
            "body": body, "accountability": None}


def test_python_endpoint(runtime: Runtime, settings: Settings) -> None:
    sandbox = load("python-hello", runtime, settings)
    assert sandbox.runtime == "python"
    routes = {(r.method, r.path): r.handler for r in sandbox.registration.routes}
    greet = asyncio.run(sandbox.call(routes["GET", "/greet/:name"], [request("/greet/ada", {"name": "ada"})]))
    assert greet == {"status": 200, "body": {"greeting": "Hello, ada."}}
    reverse = asyncio.run(sandbox.call(routes["POST", "/reverse"], [request("/reverse", {}, "abc", "POST")]))
    assert reverse == {"status": 200, "body": "cba"}


def test_assemblyscript_hook(runtime: Runtime, settings: Settings) -> None:
    sandbox = load("as-slug", runtime, settings)
    assert sandbox.runtime == "extism"
    handler = sandbox.registration.filters[0].handler
    meta = {"event": "items.create", "collection": "posts"}
    created = asyncio.run(sandbox.call(handler, [{"title": "Hello, World!"}, meta, {}]))
    assert created == {"title": "Hello, World!", "slug": "hello-world"}
    assert not asyncio.run(sandbox.call(handler, [{"title": "x", "slug": "kept"}, meta, {}]))


def test_c_operation(runtime: Runtime, settings: Settings) -> None:
    sandbox = load("c-sum", runtime, settings)
    assert sandbox.registration.operation is not None
    handler = sandbox.registration.operation.handler
    context = {"data": {}, "accountability": None}
    assert asyncio.run(sandbox.call(handler, [{"numbers": [1, 2.5, -3]}, context])) == {"sum": 0.5, "count": 3}
    with pytest.raises(Exception, match="must be a number"):
        asyncio.run(sandbox.call(handler, [{"numbers": [1, "two"]}, context]))
