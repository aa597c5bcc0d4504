"""The Python runtime's event loop (sdk/python/directus_api/_loop.py) on its own, in CPython.

The loop is plain Python over asyncio; here its host imports are a fake that
records the waits started and completes them when the test says so. The same
loop in the real runtime component, with the real host, is tested in
tests/runtime/test_python_async.py.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from host.paths import SDK_PATH

sys.path.insert(0, str(SDK_PATH / "python"))

from directus_api import HostError, request, sleep
from directus_api._loop import SandboxLoop


class FakeHost:
    """`sleep-start`/`request-start`: a handle per wait, refused when `refuse` is set."""

    def __init__(self) -> None:
        self.started: dict[int, tuple[str, Any]] = {}
        self.refuse: str | None = None
        self._next = 0

    def _start(self, what: str, detail: Any) -> int:
        if self.refuse:
            raise HostError(self.refuse)
        self._next += 1
        self.started[self._next] = (what, detail)
        return self._next

    def sleep_start(self, ms: int) -> int:
        return self._start("sleep", ms)

    def request_start(self, url: str, options: str) -> int:
        return self._start("request", (url, json.loads(options)))


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


@pytest.fixture
def loop(host: FakeHost) -> Iterator[SandboxLoop]:
    yield SandboxLoop(host)  # type: ignore[abstract]  # the unused network and process methods


def start(loop: SandboxLoop, awaitable: Any) -> asyncio.Future[Any]:
    with loop.running():
        task = loop.start(awaitable)
        loop.run_ready()
    return task


def complete(loop: SandboxLoop, *entries: tuple[int, bool, str]) -> None:
    with loop.running():
        loop.complete(entries)
        loop.run_ready()


def test_an_awaited_sleep_is_a_handle_and_the_task_resumes_when_it_completes(loop: SandboxLoop,
                                                                              host: FakeHost) -> None:
    async def handler() -> str:
        await sleep(250)
        return "rested"

    task = start(loop, handler())
    assert not task.done()
    assert host.started == {1: ("sleep", 250)}
    assert loop.waiting == 1
    complete(loop, (1, True, ""))
    assert task.result() == "rested"
    assert loop.waiting == 0


def test_gather_starts_both_sleeps_before_waiting(loop: SandboxLoop, host: FakeHost) -> None:
    async def handler() -> list[Any]:
        return list(await asyncio.gather(sleep(100), asyncio.sleep(0.1, "timer")))

    task = start(loop, handler())
    assert sorted(host.started.values()) == [("sleep", 100), ("sleep", 100)]  # both waits run at once
    complete(loop, (2, True, ""))
    assert not task.done()
    complete(loop, (1, True, ""))
    assert task.result() == [None, "timer"]


def test_a_generator_expression_in_an_async_function_starts_every_wait(loop: SandboxLoop, host: FakeHost) -> None:
    async def handler() -> list[Any]:
        return list(await asyncio.gather(*(request(f"http://example.test/{n}") for n in range(3))))

    task = start(loop, handler())
    assert [detail[0] for _, detail in host.started.values()] == [f"http://example.test/{n}" for n in range(3)]
    reply = json.dumps({"status": 200, "statusText": "OK", "headers": {}, "data": None})
    complete(loop, *((h, True, reply) for h in host.started))
    assert [r.status for r in task.result()] == [200, 200, 200]


def test_many_calls_wait_in_one_loop_and_finish_in_the_order_their_waits_complete(loop: SandboxLoop,
                                                                                  host: FakeHost) -> None:
    async def handler(n: int) -> int:
        await sleep(10)
        return n

    tasks = [start(loop, handler(n)) for n in range(5)]
    assert loop.waiting == 5
    complete(loop, (4, True, ""), (2, True, ""))  # handle n + 1 is call n's
    assert [t.done() for t in tasks] == [False, True, False, True, False]
    assert tasks[3].result() == 3
    complete(loop, (1, True, ""), (3, True, ""), (5, True, ""), (99, True, ""))  # an unknown handle is ignored
    assert [t.result() for t in tasks] == [0, 1, 2, 3, 4]


def test_a_request_reply_and_a_request_error(loop: SandboxLoop, host: FakeHost) -> None:
    async def handler() -> Any:
        reply = await request("http://example.test/x", method="post", body={"a": 1})
        try:
            await request("http://example.test/y")
        except HostError as error:
            return [reply.status, reply.data, str(error)]
        return None

    task = start(loop, handler())
    assert host.started[1] == ("request", ("http://example.test/x", {
        "method": "POST", "headers": {"Content-Type": "application/json"}, "body": '{"a": 1}'}))
    complete(loop, (1, True, json.dumps({"status": 201, "statusText": "Created", "headers": {}, "data": {"ok": 1}})))
    assert not task.done()
    complete(loop, (2, False, "the request timed out"))
    assert task.result() == [201, {"ok": 1}, "the request timed out"]


def test_a_refusal_is_raised_where_the_wait_is_started(loop: SandboxLoop, host: FakeHost) -> None:
    host.refuse = 'No permission to access "sleep"'

    async def handler() -> str:
        try:
            await sleep(5)
        except HostError as error:
            return str(error)
        return "slept"

    task = start(loop, handler())
    assert task.result() == 'No permission to access "sleep"'


def test_an_unawaited_request_says_to_await_it(loop: SandboxLoop) -> None:
    async def handler() -> Any:
        reply = request("http://example.test/")
        return reply.status

    task = start(loop, handler())
    with pytest.raises(AttributeError, match="write `reply = await request"):
        task.result()


def test_a_plain_function_called_by_a_task_waits_in_the_backend(loop: SandboxLoop, host: FakeHost,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import directus_api._api as api

    blocking: list[int] = []
    monkeypatch.setattr(api._backend, "sleep", blocking.append)

    def helper() -> None:
        sleep(7)  # a plain function cannot await: the blocking import, as before

    async def handler() -> str:
        helper()
        return "done"

    assert start(loop, handler()).result() == "done"
    assert blocking == [7]
    assert host.started == {}


def test_a_cancelled_timer_is_not_fired(loop: SandboxLoop, host: FakeHost) -> None:
    async def handler() -> str:
        try:
            await asyncio.wait_for(sleep(1000), timeout=0.05)
        except TimeoutError:
            return "timed out"
        return "slept"

    task = start(loop, handler())
    assert sorted(what for what, _ in host.started.values()) == ["sleep", "sleep"]
    timer = next(h for h, (_, ms) in host.started.items() if ms == 50)
    complete(loop, (timer, True, ""))
    assert task.result() == "timed out"
    complete(loop, *((h, True, "") for h in host.started if h != timer))  # the abandoned sleep ends later
    assert loop.waiting == 0
