"""The queue's stores: claims, leases, retries, the failed list, the bound and idempotency,
on SQLite, PostgreSQL and Redis Streams. Time is a clock the tests move (back-off, and
the database's leases, are compared with it), never a sleep; Redis leases are idle times
kept by the server, so their test waits on a condition with a short lease."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from host.errors import QueueFull
from host.queue import JobStore, NewJob
from tests.queue.conftest import POLICY, Backend, only
from tests.security.holding import FakeClock


def jobs(count: int, kind: str = "test") -> list[NewJob]:
    return [NewJob(kind, {"n": n}) for n in range(count)]


def test_concurrent_claims_hand_each_job_to_exactly_one_worker(backend: Backend) -> None:
    workers = [backend.make() for _ in range(4)]  # four processes' stores on one queue

    async def scenario() -> list[str]:
        assert await workers[0].put(jobs(60)) == 60
        claimed: list[str] = []
        for _ in range(2):
            batches = await asyncio.gather(*(workers[i % 4].claim(f"worker-{i}", 4) for i in range(12)))
            claimed += [job.id for batch in batches for job in batch]
        assert await workers[1].claim("late", 10) == []
        return claimed

    claimed = backend.run(scenario)
    assert len(claimed) == len(set(claimed)) == 60  # nobody got a job twice, nothing was left


def test_a_claimed_job_carries_its_payload_and_first_attempt(backend: Backend, store: JobStore) -> None:
    async def scenario() -> None:
        await store.put([NewJob("flow", {"flow": "f1", "trigger": {"a": [1, "ü"]}}, key="mine")])
        [job] = await store.claim("w1", 5)
        assert (job.kind, job.key, job.attempt) == ("flow", "mine", 1)
        assert job.payload == {"flow": "f1", "trigger": {"a": [1, "ü"]}}
        row = await store.get(job.id)
        assert row is not None and (row["state"], row["claimed_by"], row["attempts"]) == ("running", "w1", 1)
        await store.done([job], "w1")
        assert await store.get(job.id) is None and await store.active() == 0

    backend.run(scenario)


def test_an_expired_lease_is_claimed_again_as_the_next_attempt(
    backend: Backend, store: JobStore, clock: FakeClock
) -> None:
    only(backend, "sqlite", "postgresql")

    async def scenario() -> None:
        await store.put([NewJob("test", {}, key="k")])
        [first] = await store.claim("dead-process", 1)
        clock.advance(POLICY.lease_ms / 1000 - 0.001)
        assert await store.claim("other", 1) == []  # still leased
        clock.advance(0.002)
        [again] = await store.claim("other", 1)
        assert (again.id, again.key, again.attempt) == (first.id, "k", 2)
        row = await store.get(again.id)
        assert row is not None and row["claimed_by"] == "other"
        assert "attempt 1 did not finish: the lease of dead-process expired" in str(row["last_error"])
        await store.done([first], "dead-process")  # the old claim finishing late changes nothing
        assert await store.get(again.id) is not None
        await store.done([again], "other")
        assert await store.active() == 0

    backend.run(scenario)


def test_renewing_keeps_the_lease_of_a_long_job(backend: Backend, store: JobStore, clock: FakeClock) -> None:
    only(backend, "sqlite", "postgresql")

    async def scenario() -> None:
        await store.put(jobs(1))
        [job] = await store.claim("busy", 1)
        for _ in range(5):
            clock.advance(POLICY.lease_ms / 1000 / 2)
            await store.renew("busy")
            assert await store.claim("other", 1) == []
        clock.advance(POLICY.lease_ms / 1000 + 0.001)
        assert [j.id for j in await store.claim("other", 1)] == [job.id]

    backend.run(scenario)


def test_a_lease_that_expires_on_the_last_attempt_fails_the_job(
    backend: Backend, store: JobStore, clock: FakeClock
) -> None:
    only(backend, "sqlite", "postgresql")

    async def scenario() -> None:
        await store.put([NewJob("test", {}, key="crashy")])
        for attempt in range(1, POLICY.max_attempts + 1):
            [job] = await store.claim(f"process-{attempt}", 1)
            assert job.attempt == attempt
            clock.advance(POLICY.lease_ms / 1000 + 1)  # each process dies while running it
        assert await store.claim("survivor", 1) == []
        [failed] = await store.listing("failed")
        assert failed["attempts"] == POLICY.max_attempts
        assert "the lease of process-3 expired" in str(failed["last_error"])

    backend.run(scenario)


def test_redis_leases_expire_on_their_idle_time_and_the_last_one_fails_the_job(backend: Backend) -> None:
    only(backend, "redis")
    policy = dataclasses.replace(POLICY, lease_ms=300, max_attempts=2)
    dead, survivor = backend.make(policy, real_time=True), backend.make(policy, real_time=True)

    async def until_claimed(store: JobStore, worker: str) -> list[int]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            claimed = await store.claim(worker, 1)
            if claimed:
                return [job.attempt for job in claimed]
            await asyncio.sleep(0.05)
        raise AssertionError(f"{worker} never claimed the job")

    async def scenario() -> None:
        await dead.put([NewJob("test", {}, key="crashy")])
        assert [job.attempt for job in await dead.claim("dead-process", 1)] == [1]
        assert await until_claimed(survivor, "survivor") == [2]  # XAUTOCLAIM after the lease
        deadline = time.monotonic() + 30
        while not await survivor.listing("failed"):  # the survivor died too: attempt 2 was the last
            assert time.monotonic() < deadline, "the job never failed"
            await survivor.claim("third", 1)
            await asyncio.sleep(0.05)
        [failed] = await survivor.listing("failed")
        assert failed["attempts"] == 2 and "did not finish: the lease of its process expired" in failed["last_error"]
        assert await survivor.active() == 0

    backend.run(scenario)


def test_failures_are_retried_with_back_off_then_failed_and_listed(
    backend: Backend, store: JobStore, clock: FakeClock
) -> None:
    async def scenario() -> None:
        await store.put([NewJob("test", {"x": 1}, key="flaky")])
        delays = []
        for attempt in range(1, POLICY.max_attempts + 1):
            [job] = await store.claim("w", 1)
            assert job.attempt == attempt
            outcome = await store.fail(job, "w", f"boom {attempt}")
            if attempt < POLICY.max_attempts:
                delays.append(outcome.retry_in_ms)
                assert not outcome.failed
                [waiting] = await store.listing("pending")
                assert (waiting["attempts"], waiting["last_error"]) == (attempt, f"boom {attempt}")
                clock.advance(outcome.retry_in_ms / 1000 - 0.001)
                assert await store.claim("w", 1) == []  # not due yet
                clock.advance(0.001)
            else:
                assert outcome.failed
        assert delays == [1000, 2000]
        assert await store.claim("w", 1) == [] and await store.active() == 0
        [failed] = await store.listing("failed")
        assert (failed["key"], failed["attempts"], failed["last_error"]) == ("flaky", 3, "boom 3")
        assert await store.listing("pending") == []

        retried = await store.retry(failed["id"])  # the administrator queues it again
        assert retried is not None and (retried["state"], retried["attempts"]) == ("pending", 0)
        [job] = await store.claim("w", 1)
        assert job.attempt == 1
        assert await store.retry(job.id) is None  # only a failed job is retried
        assert not await store.delete(job.id)  # a running one is not deleted
        await store.fail(job, "w", "again", final=True)  # an error no retry can mend
        [failed] = await store.listing("failed")
        assert failed["attempts"] == 1
        assert await store.delete(failed["id"]) and await store.get(failed["id"]) is None

    backend.run(scenario)


def test_a_full_queue_refuses_the_whole_batch(backend: Backend) -> None:
    small = backend.make(dataclasses.replace(POLICY, max_pending=3))

    async def scenario() -> None:
        assert await small.put(jobs(2)) == 2
        with pytest.raises(QueueFull) as refused:
            await small.put(jobs(2))
        assert refused.value.status == 503 and "QUEUE_MAX_PENDING is 3" in refused.value.message
        assert await small.active() == 2  # nothing of the refused batch was queued
        assert await small.put(jobs(1)) == 1
        [job] = await small.claim("w", 1)
        await small.fail(job, "w", "gone", final=True)  # failed jobs do not count against the bound
        assert await small.put(jobs(1)) == 1

    backend.run(scenario)


def test_an_idempotency_key_is_queued_once(backend: Backend, store: JobStore) -> None:
    async def scenario() -> None:
        assert await store.put([NewJob("flow", {"n": 1}, key="schedule:f:12:00")]) == 1
        assert await store.put([NewJob("flow", {"n": 2}, key="schedule:f:12:00")]) == 0
        batch = [NewJob("flow", {}, key="schedule:f:12:00"), NewJob("flow", {}, key="schedule:f:12:01")]
        assert await store.put(batch) == 1
        claimed = await store.claim("w", 5)
        assert sorted(job.key for job in claimed) == ["schedule:f:12:00", "schedule:f:12:01"]
        assert {"n": 1} in [job.payload for job in claimed]
        await store.done(claimed, "w")
        assert await store.put([NewJob("flow", {}, key="schedule:f:12:00")]) == 1  # once it ran, it may again

    backend.run(scenario)


def test_stopping_hands_unfinished_jobs_back_at_once(backend: Backend) -> None:
    stopping, other = backend.make(), backend.make()

    async def scenario() -> None:
        await stopping.put(jobs(2))
        claimed = await stopping.claim("stopping", 2)
        await stopping.release(claimed, "stopping")
        again = await other.claim("other", 2)
        assert sorted(j.key for j in again) == sorted(j.key for j in claimed)
        assert all(j.attempt == 2 for j in again)

    backend.run(scenario)
