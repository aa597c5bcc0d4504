"""The jobs table: claims, leases, retries, the failed list, the bound and idempotency,
on SQLite and PostgreSQL. Time is a clock the tests move (leases and back-off are
compared with it), never a sleep."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from host.errors import QueueFull
from host.queue import NewJob
from host.queue.database import DatabaseStore
from tests.queue.conftest import POLICY
from tests.security.holding import FakeClock


def jobs(count: int, kind: str = "test") -> list[NewJob]:
    return [NewJob(kind, {"n": n}) for n in range(count)]


def test_concurrent_claims_hand_each_job_to_exactly_one_worker(store: DatabaseStore) -> None:
    async def scenario() -> list[list[str]]:
        assert await store.put(jobs(60)) == 60
        batches = await asyncio.gather(*(store.claim(f"worker-{i}", 4) for i in range(12)))
        more = await asyncio.gather(*(store.claim(f"worker-{i}", 4) for i in range(12)))
        return [[job.id for job in batch] for batch in [*batches, *more]]

    claimed = [job_id for batch in asyncio.run(scenario()) for job_id in batch]
    assert len(claimed) == len(set(claimed)) == 60  # nobody got a job twice, nothing was left
    assert asyncio.run(store.claim("late", 10)) == []


def test_a_claimed_job_carries_its_payload_and_first_attempt(store: DatabaseStore) -> None:
    async def scenario() -> None:
        await store.put([NewJob("flow", {"flow": "f1", "trigger": {"a": [1, "ü"]}}, key="mine")])
        [job] = await store.claim("w1", 5)
        assert (job.kind, job.key, job.attempt) == ("flow", "mine", 1)
        assert job.payload == {"flow": "f1", "trigger": {"a": [1, "ü"]}}
        row = await store.get(job.id)
        assert row is not None and (row["state"], row["claimed_by"], row["attempts"]) == ("running", "w1", 1)
        await store.done([job], "w1")
        assert await store.get(job.id) is None and await store.active() == 0

    asyncio.run(scenario())


def test_an_expired_lease_is_claimed_again_as_the_next_attempt(store: DatabaseStore, clock: FakeClock) -> None:
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

    asyncio.run(scenario())


def test_renewing_keeps_the_lease_of_a_long_job(store: DatabaseStore, clock: FakeClock) -> None:
    async def scenario() -> None:
        await store.put(jobs(1))
        [job] = await store.claim("busy", 1)
        for _ in range(5):
            clock.advance(POLICY.lease_ms / 1000 / 2)
            await store.renew("busy")
            assert await store.claim("other", 1) == []
        clock.advance(POLICY.lease_ms / 1000 + 0.001)
        assert [j.id for j in await store.claim("other", 1)] == [job.id]

    asyncio.run(scenario())


def test_failures_are_retried_with_back_off_then_failed_and_listed(store: DatabaseStore, clock: FakeClock) -> None:
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
        assert not await store.retry(job.id)  # only a failed job is retried
        assert not await store.delete(job.id)  # a running one is not deleted
        await store.fail(job, "w", "again", final=True)  # an error no retry can mend
        [failed] = await store.listing("failed")
        assert failed["attempts"] == 1
        assert await store.delete(failed["id"]) and await store.get(failed["id"]) is None

    asyncio.run(scenario())


def test_a_lease_that_expires_on_the_last_attempt_fails_the_job(store: DatabaseStore, clock: FakeClock) -> None:
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

    asyncio.run(scenario())


def test_a_full_queue_refuses_the_whole_batch(db: object, clock: FakeClock, store: DatabaseStore) -> None:
    small = DatabaseStore(store.db, dataclasses.replace(POLICY, max_pending=3), clock, recover_every_ms=0)

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

    asyncio.run(scenario())


def test_an_idempotency_key_is_queued_once(store: DatabaseStore) -> None:
    async def scenario() -> None:
        assert await store.put([NewJob("flow", {"n": 1}, key="schedule:f:12:00")]) == 1
        assert await store.put([NewJob("flow", {"n": 2}, key="schedule:f:12:00")]) == 0
        batch = [NewJob("flow", {}, key="schedule:f:12:00"), NewJob("flow", {}, key="schedule:f:12:01")]
        assert await store.put(batch) == 1
        [first, second] = await store.claim("w", 5)
        assert first.payload == {"n": 1} or second.payload == {"n": 1}
        await store.done([first], "w")
        await store.done([second], "w")
        assert await store.put([NewJob("flow", {}, key="schedule:f:12:00")]) == 1  # once it ran, it may again

    asyncio.run(scenario())


def test_stopping_hands_unfinished_jobs_back_at_once(store: DatabaseStore) -> None:
    async def scenario() -> None:
        await store.put(jobs(2))
        claimed = await store.claim("stopping", 2)
        await store.release(claimed, "stopping")
        again = await store.claim("other", 2)
        assert sorted(j.id for j in again) == sorted(j.id for j in claimed)
        assert all(j.attempt == 2 for j in again)

    asyncio.run(scenario())
