"""The worker loop: processes sharing one queue run each job once, with the context it
was queued in; a stopping process hands its unfinished jobs back; failures retry, then
fail. Real stores on SQLite, PostgreSQL and Redis; waits are on conditions, never timings."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from contextvars import ContextVar

from host.errors import FlowRecursion
from host.queue import Job, JobQueue, current_job
from host.queue.carry import carry
from tests.queue.conftest import POLICY, Backend

_tag: ContextVar[str] = ContextVar("test_queue_tag")
carry("test_tag", _tag, str, str)


async def until(check: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def queue(backend: Backend, name: str, **policy: int) -> JobQueue:
    """A process's queue: its own store on the backend's shared queue, on the wall clock."""
    settings = dataclasses.replace(POLICY, **policy)
    store = backend.make(settings, real_time=True)
    return JobQueue(store, concurrency=3, poll_interval_ms=20, lease_ms=settings.lease_ms, worker=name)


def test_processes_sharing_the_queue_run_every_job_once_in_the_context_it_was_queued_in(backend: Backend) -> None:
    ran: list[tuple[str, str, int, str | None, bool]] = []

    def recorder(worker: str) -> Callable[[Job], object]:
        async def handle(job: Job) -> None:
            await asyncio.sleep(0)
            ran.append((worker, job.key, job.attempt, _tag.get(None), current_job() == job))

        return handle

    async def scenario() -> None:
        a, b = queue(backend, "a"), queue(backend, "b")
        for q in (a, b):
            q.handle("test", recorder(q.worker))  # type: ignore[arg-type]
            await q.start()
        try:
            token = _tag.set("queued-with-a-tag")
            for n in range(30):
                await (a if n % 2 else b).enqueue("test", {"n": n}, key=f"job-{n}")
            _tag.reset(token)
            await a.drain()
        finally:
            await a.stop()
            await b.stop()

    backend.run(scenario)
    assert sorted(key for _, key, _, _, _ in ran) == sorted(f"job-{n}" for n in range(30))  # each exactly once
    assert {(attempt, tag, current) for _, _, attempt, tag, current in ran} == {(1, "queued-with-a-tag", True)}


def test_a_stopping_process_hands_its_unfinished_job_to_another(backend: Backend) -> None:
    started = asyncio.Event()
    seen: list[tuple[str, int]] = []

    async def stuck(job: Job) -> None:
        seen.append(("stuck", job.attempt))
        started.set()
        await asyncio.Event().wait()  # never finishes on its own

    async def quick(job: Job) -> None:
        seen.append(("quick", job.attempt))

    async def scenario() -> None:
        first = queue(backend, "first")
        first.handle("test", stuck)
        await first.start()
        await first.enqueue("test", {}, key="long")
        await asyncio.wait_for(started.wait(), 30)
        await first.stop(timeout=0.01)
        second = queue(backend, "second")
        second.handle("test", quick)
        await second.start()
        try:
            await second.drain()
        finally:
            await second.stop()

    backend.run(scenario)
    assert seen == [("stuck", 1), ("quick", 2)]


def test_failures_retry_then_fail_and_an_error_no_retry_mends_fails_at_once(backend: Backend) -> None:
    attempts: list[tuple[str, int]] = []

    async def flaky(job: Job) -> None:
        attempts.append((job.key, job.attempt))
        if job.key == "loop":
            raise FlowRecursion("flows nested too deep")
        if job.attempt < 2:
            raise RuntimeError("transient")

    async def scenario() -> list[dict[str, object]]:
        q = queue(backend, "w", retry_delay_ms=0)
        q.handle("test", flaky)
        await q.start()
        try:
            await q.enqueue("test", {}, key="transient")
            await q.enqueue("test", {}, key="loop")
            await q.enqueue("orphan", {}, key="nobody-runs-me")
            await q.drain()
        finally:
            await q.stop()
        return await backend.make().listing("failed")

    failed = backend.run(scenario)
    assert sorted(attempts) == [("loop", 1), ("transient", 1), ("transient", 2)]
    by_key = {row["key"]: row for row in failed}
    assert set(by_key) == {"loop", "nobody-runs-me"}
    assert by_key["loop"]["attempts"] == 1
    assert by_key["nobody-runs-me"]["attempts"] == POLICY.max_attempts
    assert 'no handler for "orphan" jobs' in str(by_key["nobody-runs-me"]["last_error"])
