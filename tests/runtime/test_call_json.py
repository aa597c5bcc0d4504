"""`Sandbox.call_json` and `decode_result`: the arguments' JSON text in, the result's text out,
read with the same limits as `call` (real wasm)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import InvalidExtensionOutput
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import PooledSandbox
from host.types import UNDEFINED, ExtensionKind
from tests.support import make_settings

SOURCE = """
export default (router) => {
  router.post('/echo', (req) => ({ status: 200, body: req.body }));
  router.get('/nothing', () => {});
  router.get('/deep', () => { let v = 1; for (let i = 0; i < 150; i++) v = [v]; return { status: 200, body: v }; });
};
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PooledSandbox]:
    root = tmp_path_factory.mktemp("call-json")
    settings: Settings = make_settings(root, max_json_depth=100)
    runtime = Runtime(settings, SDK_PATH)
    path = Path(root) / "index.js"
    path.write_text(SOURCE, encoding="utf-8")
    yield runtime.open("echo", ExtensionKind.endpoint, path, build_capabilities("echo", Scopes(), settings))
    runtime.close()


def test_the_arguments_text_goes_in_and_the_result_text_comes_out(sandbox: PooledSandbox) -> None:
    args = '[{"url": "/echo", "body": {"word": "\u00e9t\u00e9", "n": [1, 2.5, null]}}]'
    text = asyncio.run(sandbox.call_json(0, args))
    assert json.loads(text) == {"status": 200, "body": {"word": "\u00e9t\u00e9", "n": [1, 2.5, None]}}
    assert sandbox.decode_result(text) == json.loads(text)
    assert asyncio.run(sandbox.call(0, [json.loads(args)[0]])) == json.loads(text)


def test_nothing_returned_is_empty_text_and_undefined(sandbox: PooledSandbox) -> None:
    text = asyncio.run(sandbox.call_json(1, "[{}]"))
    assert text == ""
    assert sandbox.decode_result(text) is UNDEFINED


def test_decode_result_refuses_as_call_does(sandbox: PooledSandbox) -> None:
    text = asyncio.run(sandbox.call_json(2, "[{}]"))
    with pytest.raises(InvalidExtensionOutput) as refused:
        sandbox.decode_result(text)
    with pytest.raises(InvalidExtensionOutput) as by_call:
        asyncio.run(sandbox.call(2, [{}]))
    assert refused.value.message == by_call.value.message
    assert "MAX_JSON_DEPTH" in refused.value.message
    assert asyncio.run(sandbox.call(1, [{}])) is UNDEFINED  # the instance is kept and serves on
