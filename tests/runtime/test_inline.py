"""A handler proven fast has its first slice run inline on the event loop (no thread hand-off),
cut short at `INLINE_MS`: a call that does not fit, or makes an import that may not run inline,
runs again on a call thread, once, with the right answer, and the handler stays there (real wasm)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.capabilities import build_capabilities
from host.config import Settings
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import INLINE_MS, INLINE_STREAK, PooledSandbox
from host.types import ExtensionKind
from tests.support import make_settings

SPINNER = """
import { log, sleep } from 'directus:api';
let calls = 0;
export default {
  id: 'spinner',
  handler: async ({ spin, say, nap }) => {
    calls += 1;
    if (spin) { const end = Date.now() + spin; while (Date.now() < end); }
    if (say) log(say);
    if (nap) await sleep(nap);
    return { calls, spun: spin ?? 0 };
  },
};
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("inline"))


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    found = Runtime(settings, SDK_PATH)
    yield found
    found.close()


@pytest.fixture
def sandbox(runtime: Runtime, tmp_path: Path) -> Iterator[PooledSandbox]:
    path = tmp_path / "spinner.js"
    path.write_text(SPINNER, encoding="utf-8")
    scopes = Scopes.model_validate({"log": {}, "sleep": {}})
    opened = runtime.open("spinner", ExtensionKind.operation, path, build_capabilities("spinner", scopes, runtime.settings))
    yield opened
    opened.close()


def prove_fast(sandbox: PooledSandbox) -> None:
    """Call until the handler runs inline (a slice slowed by a loaded machine restarts the count)."""
    operation = sandbox.registration.operation
    assert operation is not None
    for _ in range(100):
        calls(sandbox, [{}] * INLINE_STREAK)
        if sandbox.runs_inline(operation.handler):
            return
    raise AssertionError(f"the handler never ran inline: {sandbox.inline_calls} inline calls")


def calls(sandbox: PooledSandbox, args: list[dict[str, Any]]) -> list[Any]:
    operation = sandbox.registration.operation
    assert operation is not None

    async def run() -> list[Any]:
        return [await sandbox.call(operation.handler, [arg]) for arg in args]

    return asyncio.run(run())


def test_a_fast_handler_runs_inline_once_proven(sandbox: PooledSandbox) -> None:
    prove_fast(sandbox)
    inline_before = sandbox.inline_calls
    answers = calls(sandbox, [{}] * 20)
    assert all(answer["spun"] == 0 and answer["calls"] > 0 for answer in answers)
    assert sandbox.inline_calls + sandbox.inline_fallbacks > inline_before


def test_a_call_that_does_not_fit_runs_again_on_a_thread_and_the_handler_stays_there(sandbox: PooledSandbox) -> None:
    prove_fast(sandbox)
    inline_before, fallbacks_before, made_before = sandbox.inline_calls, sandbox.inline_fallbacks, sandbox.instances_made
    # far past the inline bound (so a loaded machine cannot let it fit), within the guest-time limit
    spin = int(INLINE_MS * 30)
    [answer] = calls(sandbox, [{"spin": spin}])
    assert answer["spun"] == spin
    assert answer["calls"] == 1  # run again from the start on a new instance: the cut slice left nothing
    assert sandbox.inline_fallbacks == fallbacks_before + 1
    assert sandbox.instances_made == made_before + 1
    answers = calls(sandbox, [{}] * 10)
    assert [answer["calls"] for answer in answers] == list(range(2, 12))
    assert sandbox.inline_calls == inline_before  # demoted: on the call threads from now on


def test_an_import_that_leaves_a_trace_is_never_made_twice(
    sandbox: PooledSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    prove_fast(sandbox)
    fallbacks_before = sandbox.inline_fallbacks
    with caplog.at_level(logging.INFO, logger="exthost.extension.spinner"):
        answers = calls(sandbox, [{"say": f"line {n}"} for n in range(5)])
    assert len(answers) == 5
    said = [record.getMessage() for record in caplog.records if record.name == "exthost.extension.spinner"]
    assert said == [f"line {n}" for n in range(5)]  # each once: the inline slice escaped before writing
    assert sandbox.inline_fallbacks == fallbacks_before + 1


def test_a_call_that_waits_after_an_inline_slice_completes(sandbox: PooledSandbox) -> None:
    prove_fast(sandbox)
    went_inline = sandbox.inline_calls + sandbox.inline_fallbacks
    [answer] = calls(sandbox, [{"nap": 5}])
    assert answer["calls"] > 0 and answer["spun"] == 0
    assert sandbox.inline_calls + sandbox.inline_fallbacks == went_inline + 1
