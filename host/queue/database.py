"""The job queue in the database (the default, and the only one without `REDIS`).

Claiming is one `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING *` over the due
`pending` jobs: on PostgreSQL the inner select is `FOR UPDATE SKIP LOCKED`, so processes
claiming at once each get other rows without waiting on each other; on SQLite the
statement takes the database's write lock when it starts (one writer at a time), so two
claims never see the same row as free. A claim counts the attempt and sets `claimed_by`
and a lease (`claimed_until`, `QUEUE_LEASE` ms); the process renews the leases of what
it runs, so a job whose lease expired belongs to a process that died (or hung): about
once a second a claim first hands such jobs back (`pending`, due at once; `failed` if
that was their last attempt), and any process claims them again as their next attempt.
Times are epoch milliseconds of the processes' clocks (keep them in sync, as for any
cluster; a lease is many seconds).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import String, and_, case, cast, delete, func, literal, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from host.errors import QueueFull
from host.queue.jobs import Job, NewJob
from host.queue.store import ERROR_CHARS, Outcome, Policy
from host.queue.tables import jobs
from host.storage import Database

T = TypeVar("T")
Clock = Callable[[], float]
"""Wall-clock seconds (tests pass their own)."""

RECOVER_EVERY_MS = 1000
"""How often a claim first looks for jobs whose lease expired (and hands them back)."""


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _aware(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def job_row(row: RowMapping) -> dict[str, Any]:
    """A stored job as the admin API shows it."""
    return {
        "id": row["id"],
        "kind": row["kind"],
        "key": row["key"],
        "state": row["state"],
        "attempts": row["attempts"],
        "run_after": _iso(row["run_after"]),
        "claimed_by": row["claimed_by"],
        "claimed_until": _iso(row["claimed_until"]),
        "last_error": row["last_error"],
        "created_at": _aware(row["created_at"]),
        "updated_at": _aware(row["updated_at"]),
        "payload": row["payload"],
    }


def _job(row: RowMapping) -> Job:
    return Job(id=row["id"], kind=row["kind"], key=row["key"], payload=row["payload"], attempt=row["attempts"])


class DatabaseStore:
    def __init__(
        self, db: Database, policy: Policy, clock: Clock = time.time, *, recover_every_ms: int = RECOVER_EVERY_MS
    ) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        self.recover_every_ms = recover_every_ms
        self._next_recovery = 0

    async def _bookkeeping(self, work: Callable[[Connection], T]) -> T:
        """Run a step whose loss in a database crash only means that a job runs again (a claim,
        a lease renewal, a job marked done or failed): on PostgreSQL its commit does not wait
        for the disk (`synchronous_commit` off for that transaction), which is most of its cost.
        Queueing a job always waits: that is the promise."""

        def run(conn: Connection) -> T:
            if not self.db.is_sqlite:
                conn.execute(text("SET LOCAL synchronous_commit TO OFF"))
            return work(conn)

        return await self.db.run(run)

    def _now(self) -> tuple[int, datetime]:
        seconds = self.clock()
        return int(seconds * 1000), datetime.fromtimestamp(seconds, UTC)

    # -- queueing -------------------------------------------------------------

    async def put(self, new: Sequence[NewJob]) -> int:
        if not new:
            return 0
        now_ms, now = self._now()
        rows = []
        for job in new:
            job_id = str(uuid.uuid4())
            rows.append(
                {
                    "id": job_id,
                    "kind": job.kind,
                    "key": job.key or f"{job.kind}:{job_id}",
                    "payload": job.payload,
                    "state": "pending",
                    "attempts": 0,
                    "run_after": now_ms + max(0, job.delay_ms),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        limit = self.policy.max_pending
        dialect = postgresql if not self.db.is_sqlite else sqlite

        def work(conn: Connection) -> int:
            waiting = conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.state.in_(("pending", "running")))
            ).scalar_one()
            if waiting + len(rows) > limit:
                raise QueueFull(
                    f"The job queue is full: {waiting} jobs are waiting or running and QUEUE_MAX_PENDING "
                    f"is {limit}; nothing was queued, try again later"
                )
            statement = (
                dialect.insert(jobs)
                .values(rows)
                .on_conflict_do_nothing(index_elements=[jobs.c.key])
                .returning(jobs.c.id)
            )
            return len(conn.execute(statement).all())

        return await self.db.run(work)

    # -- running --------------------------------------------------------------

    def _due(self, now_ms: int) -> Any:
        return and_(jobs.c.state == "pending", jobs.c.run_after <= now_ms)

    def _recover(self, conn: Connection, now_ms: int, now: datetime) -> None:
        """Jobs whose lease expired are due again at once (their attempt was counted when they
        were claimed), or failed if that was their last attempt."""
        expired = and_(jobs.c.state == "running", jobs.c.claimed_until < now_ms)
        if conn.execute(select(jobs.c.id).where(expired).limit(1)).first() is None:
            return
        last = self.policy.max_attempts
        conn.execute(
            update(jobs)
            .where(expired)
            .values(
                state=case((jobs.c.attempts >= last, "failed"), else_="pending"),
                run_after=now_ms,
                claimed_by=None,
                claimed_until=None,
                last_error=literal("attempt ")
                + cast(jobs.c.attempts, String)
                + literal(" did not finish: the lease of ")
                + func.coalesce(jobs.c.claimed_by, "?")
                + literal(" expired (its process stopped or hung)"),
                updated_at=now,
            )
        )

    async def claim(self, worker: str, limit: int) -> list[Job]:
        now_ms, now = self._now()
        policy = self.policy
        recover = now_ms >= self._next_recovery
        if recover:
            self._next_recovery = now_ms + self.recover_every_ms

        def work(conn: Connection) -> list[Job]:
            if recover:
                self._recover(conn, now_ms, now)
            # on SQLite a read first: polling an idle queue takes no write lock
            if self.db.is_sqlite and conn.execute(select(jobs.c.id).where(self._due(now_ms)).limit(1)).first() is None:
                return []
            candidates = select(jobs.c.id).where(self._due(now_ms)).order_by(jobs.c.run_after, jobs.c.id).limit(limit)
            if not self.db.is_sqlite:
                candidates = candidates.with_for_update(skip_locked=True)
            claimed = conn.execute(
                update(jobs)
                .where(jobs.c.id.in_(candidates.scalar_subquery()))
                .values(
                    state="running",
                    attempts=jobs.c.attempts + 1,
                    claimed_by=worker,
                    claimed_until=now_ms + policy.lease_ms,
                    updated_at=now,
                )
                .returning(jobs.c.id, jobs.c.kind, jobs.c.key, jobs.c.payload, jobs.c.attempts, jobs.c.run_after)
            ).mappings()
            return sorted((_job(row) for row in claimed), key=lambda job: job.id)

        return await self._bookkeeping(work)

    async def renew(self, worker: str) -> None:
        now_ms, _ = self._now()
        await self._bookkeeping(
            lambda conn: conn.execute(
                update(jobs)
                .where(jobs.c.claimed_by == worker, jobs.c.state == "running")
                .values(claimed_until=now_ms + self.policy.lease_ms)
            )
        )

    def _mine(self, job: Job, worker: str) -> Any:
        return and_(
            jobs.c.id == job.id, jobs.c.claimed_by == worker, jobs.c.attempts == job.attempt, jobs.c.state == "running"
        )

    async def done(self, finished: Sequence[Job], worker: str) -> None:
        if not finished:
            return
        runs = [(job.id, job.attempt) for job in finished]
        statement = delete(jobs).where(
            tuple_(jobs.c.id, jobs.c.attempts).in_(runs), jobs.c.claimed_by == worker, jobs.c.state == "running"
        )
        await self._bookkeeping(lambda conn: conn.execute(statement))

    async def fail(self, job: Job, worker: str, error: str, *, final: bool = False) -> Outcome:
        now_ms, now = self._now()
        message = error[:ERROR_CHARS]
        if final or job.attempt >= self.policy.max_attempts:
            outcome = Outcome(failed=True)
            values: dict[str, Any] = {"state": "failed"}
        else:
            outcome = Outcome(failed=False, retry_in_ms=self.policy.retry_delay(job.attempt))
            values = {"state": "pending", "run_after": now_ms + outcome.retry_in_ms}
        values.update(claimed_by=None, claimed_until=None, last_error=message, updated_at=now)
        await self._bookkeeping(lambda conn: conn.execute(update(jobs).where(self._mine(job, worker)).values(**values)))
        return outcome

    async def release(self, claimed: Sequence[Job], worker: str) -> None:
        if not claimed:
            return
        now_ms, now = self._now()
        ids = [job.id for job in claimed]
        await self._bookkeeping(
            lambda conn: conn.execute(
                update(jobs)
                .where(jobs.c.id.in_(ids), jobs.c.claimed_by == worker, jobs.c.state == "running")
                .values(
                    state="pending",
                    run_after=now_ms,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=f"attempt did not finish: {worker} stopped",
                    updated_at=now,
                )
            )
        )

    async def active(self) -> int:
        statement = select(func.count()).select_from(jobs).where(jobs.c.state.in_(("pending", "running")))
        return int(await self.db.run(lambda conn: conn.execute(statement).scalar_one()))

    # -- administration -------------------------------------------------------

    async def listing(self, state: str | None) -> list[dict[str, Any]]:
        statement = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id)
        if state is not None:
            statement = statement.where(jobs.c.state == state)
        return await self.db.run(lambda conn: [job_row(row) for row in conn.execute(statement).mappings()])

    async def get(self, job_id: str) -> dict[str, Any] | None:
        def work(conn: Connection) -> dict[str, Any] | None:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
            return job_row(row) if row else None

        return await self.db.run(work)

    async def retry(self, job_id: str) -> dict[str, Any] | None:
        now_ms, now = self._now()
        statement = (
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state == "failed")
            .values(state="pending", attempts=0, run_after=now_ms, updated_at=now)
            .returning(*jobs.c)
        )

        def work(conn: Connection) -> dict[str, Any] | None:
            row = conn.execute(statement).mappings().first()
            return job_row(row) if row else None

        return await self.db.run(work)

    async def delete(self, job_id: str) -> bool:
        statement = delete(jobs).where(jobs.c.id == job_id, jobs.c.state != "running")
        return bool(await self.db.run(lambda conn: conn.execute(statement).rowcount))

    async def close(self) -> None:
        return None
