"""A component instance that received a large share of its memory limit in text is replaced
(`host.runtime.pool.WEAR_SHARE`): large bodies in a row all succeed, on fresh instances, where the
JS runtime's bindings would otherwise run out of memory (componentize-js issue #330). Real wasm."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from host.capabilities import build_capabilities
from host.config import Settings
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import WEAR_SHARE, PooledSandbox
from host.types import ExtensionKind
from tests.support import make_settings

MEMORY_MB = 48

MEASURE = """
export default {
  id: 'measure',
  handler: async ({ text, make }) => make ? 'y'.repeat(make) : ({ length: text.length, last: text.slice(-3) }),
};
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, extensions_sandbox_memory=MEMORY_MB)


def open_measure(settings: Settings, tmp_path: Path) -> tuple[Runtime, PooledSandbox]:
    runtime = Runtime(settings, SDK_PATH)
    path = tmp_path / "measure.js"
    path.write_text(MEASURE, encoding="utf-8")
    sandbox = runtime.open(
        "measure", ExtensionKind.operation, path, build_capabilities("measure", Scopes(), settings)
    )
    return runtime, sandbox


def test_large_arguments_in_a_row_all_succeed_on_replaced_instances(settings: Settings, tmp_path: Path) -> None:
    runtime, sandbox = open_measure(settings, tmp_path)
    operation = sandbox.registration.operation
    assert operation is not None
    body = "x" * (3 * 1024 * 1024 - 3) + "end"  # 3 MB a call, 40 calls: 120 MB through a 48 MB instance

    async def main() -> list[object]:
        return [await sandbox.call(operation.handler, [{"text": body}]) for _ in range(40)]

    try:
        made_before = sandbox.instances_made
        answers = asyncio.run(main())
        assert answers == [{"length": len(body), "last": "end"}] * 40
        # each instance took at most its share of the memory limit, plus the call that passed it
        share = MEMORY_MB * 1024 * 1024 // WEAR_SHARE
        calls_per_instance = share // len(body) + 1
        assert sandbox.instances_made - made_before >= 40 // calls_per_instance - 1
    finally:
        sandbox.close()
        runtime.close()


def test_small_calls_keep_their_instance(settings: Settings, tmp_path: Path) -> None:
    runtime, sandbox = open_measure(settings, tmp_path)
    operation = sandbox.registration.operation
    assert operation is not None

    async def main() -> list[object]:
        return [await sandbox.call(operation.handler, [{"text": f"call {i}"}]) for i in range(200)]

    try:
        made_before = sandbox.instances_made
        answers = asyncio.run(main())
        assert answers[199] == {"length": 8, "last": "199"}
        assert sandbox.instances_made - made_before <= 1  # the first call may make its instance
    finally:
        sandbox.close()
        runtime.close()


def test_large_results_in_a_row_all_succeed_on_replaced_instances(tmp_path: Path) -> None:
    # the default memory limit: making, stringifying and lowering a 3 MB result takes more than 48 MB
    runtime, sandbox = open_measure(make_settings(tmp_path, extensions_sandbox_memory=100), tmp_path)
    operation = sandbox.registration.operation
    assert operation is not None
    size = 3 * 1024 * 1024

    async def main() -> list[object]:
        return [await sandbox.call(operation.handler, [{"make": size}]) for _ in range(40)]

    try:
        answers = asyncio.run(main())
        assert [len(answer) if isinstance(answer, str) else answer for answer in answers] == [size] * 40
    finally:
        sandbox.close()
        runtime.close()
