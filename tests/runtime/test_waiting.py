"""Waiting holds no thread: `sleep` and `request` of the JS runtime wait on the event loop
(`sleep-start`, `request-start`), many calls in flight on one instance (real wasm)."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from host.capabilities import CallContext, build_capabilities
from host.capabilities.base import Starter
from host.config import Settings
from host.errors import ExtensionOutOfMemory, ExtensionTimeout, ExtensionUnavailable
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import PooledSandbox
from host.types import ExtensionKind
from tests.flows.servers import GateServer
from tests.support import make_settings, wait_for

CALLS_PER_EXTENSION = 100
EXTENSIONS = 3
THREAD_BOUND = 16
"""Threads the 300 waiting calls may add to the process: the extensions' call threads
(3 x the pool size of 4), and a few to spare; not one per call."""

SLEEPER = """
import { sleep } from 'directus:api';
export default {
  id: 'sleeper',
  handler: async ({ n, ms, twice }) => {
    if (twice) await Promise.all([sleep(ms), sleep(ms)]);
    else await sleep(ms);
    return n * 2;
  },
};
"""

FETCHER = """
import { request, sleep } from 'directus:api';
export default {
  id: 'fetcher',
  handler: async ({ url, n }) => {
    try {
      const response = await request(url);
      return { n, status: response.status, data: response.data };
    } catch (e) {
      return { n, error: e.message };
    }
  },
};
"""

REFUSALS = """
import { sleep, request } from 'directus:api';
export default {
  id: 'refusals',
  handler: async ({ what, url }) => {
    try {
      if (what === 'sleep') await sleep(3600 * 1000);
      else await request(url);
      return 'no error';
    } catch (e) {
      return `caught: ${e.message}`;
    }
  },
};
"""

FAULTY = """
import { sleep } from 'directus:api';
let calls = 0;
export default {
  id: 'faulty',
  handler: async ({ what, ms }) => {
    calls += 1;
    if (what === 'bomb') { const keep = []; while (true) keep.push(new ArrayBuffer(8 << 20)); }
    await sleep(ms);
    return calls;
  },
};
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("waiting"), extensions_sandbox_memory=48, import_ip_deny_list=["10.0.0.0/8"]
    )


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    found = Runtime(settings, SDK_PATH)
    yield found
    found.close()


def open_operation(
    runtime: Runtime, folder: Path, name: str, source: str, scopes: dict[str, Any],
    sleep_start: Callable[[Starter], Starter] | None = None, single_use: bool = False,
) -> PooledSandbox:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.js"
    path.write_text(source, encoding="utf-8")
    capabilities = build_capabilities(name, Scopes.model_validate(scopes), runtime.settings)
    if sleep_start is not None:
        capabilities = dataclasses.replace(capabilities, sleep_start=sleep_start(capabilities.sleep_start))
    return runtime.open(name, ExtensionKind.operation, path, capabilities, single_use=single_use)


def handler_of(sandbox: PooledSandbox) -> int:
    operation = sandbox.registration.operation
    assert operation is not None
    return operation.handler


class Gate:
    """Holds every sleep until opened (then the real sleep runs): the test sees the calls waiting
    without a clock. Counts how many sleeps were held at once."""

    def __init__(self) -> None:
        self.opened: asyncio.Event | None = None
        self.held = 0
        self.most_held = 0

    def open(self, loop: LoopThread) -> None:
        def opening() -> None:
            if self.opened is None:
                self.opened = asyncio.Event()
            self.opened.set()

        loop.loop.call_soon_threadsafe(opening)

    def wrap(self, start: Starter) -> Starter:
        def held(ctx: CallContext, *args: object) -> Coroutine[Any, Any, str]:
            wait = start(ctx, *args)  # the real checks, at once

            async def run() -> str:
                if self.opened is None:
                    self.opened = asyncio.Event()
                self.held += 1
                self.most_held = max(self.most_held, self.held)
                try:
                    await self.opened.wait()
                except BaseException:
                    wait.close()  # cancelled while held: the real sleep never starts
                    raise
                finally:
                    self.held -= 1
                return await wait

            return run()

        return held


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.submit(cancel_the_rest()).result(timeout=10)
        self.submit(self.loop.shutdown_asyncgens()).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[LoopThread]:
    found = LoopThread()
    yield found
    found.close()


def test_hundreds_of_sleeping_calls_hold_a_handful_of_threads(
    runtime: Runtime, tmp_path: Path, loop: LoopThread
) -> None:
    gate = Gate()
    sandboxes = [
        open_operation(runtime, tmp_path, f"sleeper{i}", SLEEPER, {"sleep": {}}, gate.wrap) for i in range(EXTENSIONS)
    ]
    try:
        baseline = threading.active_count()  # what earlier tests left running is not counted
        futures = [
            (n, loop.submit(sandbox.call(handler_of(sandbox), [{"n": n, "ms": 10}, {}])))
            for sandbox in sandboxes
            for n in range(CALLS_PER_EXTENSION)
        ]
        total = EXTENSIONS * CALLS_PER_EXTENSION
        wait_for(lambda: sum(sandbox.waiting for sandbox in sandboxes) == total, f"{total} calls waiting")
        threads = threading.active_count() - baseline
        assert gate.held == total
        gate.open(loop)
        answers = [(n, future.result(timeout=60)) for n, future in futures]
    finally:
        for sandbox in sandboxes:
            sandbox.close()
    assert threads < THREAD_BOUND, f"{threads} threads more while {total} calls waited"
    assert all(answer == n * 2 for n, answer in answers)
    # one instance per extension held all its calls at once
    assert all(sandbox.instances_made <= runtime.limits.pool_size for sandbox in sandboxes)


def test_promise_all_of_sleeps_waits_for_them_together(runtime: Runtime, tmp_path: Path, loop: LoopThread) -> None:
    gate = Gate()
    sandbox = open_operation(runtime, tmp_path, "twice", SLEEPER, {"sleep": {}}, gate.wrap)
    try:
        future = loop.submit(sandbox.call(handler_of(sandbox), [{"n": 4, "ms": 5, "twice": True}, {}]))
        wait_for(lambda: gate.held == 2, "both sleeps of one call held at once")
        gate.open(loop)
        assert future.result(timeout=60) == 8
    finally:
        sandbox.close()


def test_real_sleeps_complete(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_operation(runtime, tmp_path, "real", SLEEPER, {"sleep": {}})

    async def many() -> list[object]:
        calls = [sandbox.call(handler_of(sandbox), [{"n": n, "ms": 20, "twice": n % 2 == 0}, {}]) for n in range(50)]
        return await asyncio.gather(*calls)

    try:
        assert asyncio.run(many()) == [n * 2 for n in range(50)]
        # and the blocking path (benchmarks): the same call on one thread
        assert sandbox.call_sync(handler_of(sandbox), '[{"n": 5, "ms": 1}, {}]') == "10"
    finally:
        sandbox.close()


def test_concurrent_requests_are_in_flight_at_once(runtime: Runtime, tmp_path: Path, loop: LoopThread) -> None:
    count = 16  # under the 20 connections a request capability opens at most
    with GateServer() as server:
        sandbox = open_operation(runtime, tmp_path, "fetcher", FETCHER, {"request": {"urls": [f"{server.url}/*"]}})
        try:
            futures = [
                loop.submit(sandbox.call(handler_of(sandbox), [{"url": f"{server.url}/gate/{n}?size={count}", "n": n}, {}]))
                for n in range(count)
            ]
            answers = [future.result(timeout=90) for future in futures]
            host_threads = [t.name for t in threading.enumerate() if t.name.startswith("exthost-fetcher")]
        finally:
            sandbox.close()
    # the gate opens only when all of them are in: they were in flight together
    assert server.most_at_once == count
    assert answers == [{"n": n, "status": 200, "data": {"opened": True}} for n in range(count)]
    assert len(host_threads) <= runtime.limits.pool_size


def test_refusals_are_errors_the_guest_catches(runtime: Runtime, tmp_path: Path) -> None:
    scopes = {"sleep": {}, "request": {"urls": ["https://example.com/*"]}}
    sandbox = open_operation(runtime, tmp_path, "refusals", REFUSALS, scopes)
    unscoped = open_operation(runtime, tmp_path / "none", "unscoped", REFUSALS, {})

    def run(target: PooledSandbox, options: dict[str, Any]) -> object:
        return asyncio.run(target.call(handler_of(target), [options, {}]))

    try:
        assert run(sandbox, {"what": "sleep"}) == "caught: sleep(3600000) would outlast the call's time limit"
        outside = run(sandbox, {"what": "request", "url": "https://example.org/x"})
        assert isinstance(outside, str) and outside.startswith('caught: No permission to access "https://example.org/x"')
        assert run(unscoped, {"what": "sleep"}) == 'caught: No permission to access "sleep"'
        assert run(unscoped, {"what": "request", "url": "https://example.com/"}) == (
            'caught: No permission to access "request"'
        )
    finally:
        sandbox.close()
        unscoped.close()


def test_a_fault_fails_the_calls_in_flight_on_its_instance(
    runtime: Runtime, tmp_path: Path, loop: LoopThread
) -> None:
    gate = Gate()
    sandbox = open_operation(runtime, tmp_path, "faulty", FAULTY, {"sleep": {}}, gate.wrap)
    handler = handler_of(sandbox)
    try:
        waiting = []
        for n in range(1, 6):  # one after the other: each starts on the instance the others wait on
            waiting.append(loop.submit(sandbox.call(handler, [{"what": "wait", "ms": 1}, {}])))
            wait_for(lambda n=n: sandbox.waiting == n, f"{n} calls waiting")  # type: ignore[misc]
        made = sandbox.instances_made
        assert made == 1
        bomb = loop.submit(sandbox.call(handler, [{"what": "bomb"}, {}]))
        with pytest.raises(ExtensionOutOfMemory):
            bomb.result(timeout=60)
        for future in waiting:
            with pytest.raises(ExtensionOutOfMemory):
                future.result(timeout=60)
        assert sandbox.waiting == 0
        # the next call runs on a new instance (its count of calls starts again)
        gate.open(loop)
        assert loop.submit(sandbox.call(handler, [{"what": "wait", "ms": 1}, {}])).result(timeout=60) == 1
        assert sandbox.instances_made == made + 1
    finally:
        sandbox.close()


def test_a_call_waiting_past_its_wall_limit_times_out(tmp_path: Path, loop: LoopThread) -> None:
    settings = make_settings(tmp_path, extensions_sandbox_wall_timeout=300, extensions_sandbox_timeout=200)
    local = Runtime(settings, SDK_PATH)
    gate = Gate()  # never opened
    sandbox = open_operation(local, tmp_path, "stuck", SLEEPER, {"sleep": {}}, gate.wrap)
    try:
        with pytest.raises(ExtensionTimeout):
            loop.submit(sandbox.call(handler_of(sandbox), [{"n": 1, "ms": 10}, {}])).result(timeout=60)
    finally:
        sandbox.close()
        local.close()


def test_single_use_keeps_one_call_per_instance(runtime: Runtime, tmp_path: Path, loop: LoopThread) -> None:
    gate = Gate()
    sandbox = open_operation(runtime, tmp_path, "single", FAULTY, {"sleep": {}}, gate.wrap, single_use=True)
    handler = handler_of(sandbox)
    try:
        futures = [loop.submit(sandbox.call(handler, [{"what": "wait", "ms": 1}, {}])) for _ in range(3)]
        wait_for(lambda: sandbox.waiting == 3, "3 calls waiting")
        gate.open(loop)
        # each ran in a fresh instance: the module's counter is 1 every time
        assert [future.result(timeout=60) for future in futures] == [1, 1, 1]
    finally:
        sandbox.close()


def test_close_fails_the_calls_waiting(runtime: Runtime, tmp_path: Path, loop: LoopThread) -> None:
    gate = Gate()  # never opened
    sandbox = open_operation(runtime, tmp_path, "closing", SLEEPER, {"sleep": {}}, gate.wrap)
    futures = [loop.submit(sandbox.call(handler_of(sandbox), [{"n": n, "ms": 1}, {}])) for n in range(4)]
    wait_for(lambda: sandbox.waiting == 4, "4 calls waiting")
    sandbox.close()
    for future in futures:
        with pytest.raises(ExtensionUnavailable):
            future.result(timeout=60)
    wait_for(lambda: gate.held == 0, "what they waited for to be cancelled")
