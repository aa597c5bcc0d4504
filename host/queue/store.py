"""Where jobs are kept: the protocol the worker speaks, and the outcome of a failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from host.queue.jobs import Job, NewJob

MAX_RETRY_DELAY_MS = 3_600_000
ERROR_CHARS = 4000
"""Longest `last_error` kept."""


@dataclass(frozen=True)
class Policy:
    """`QUEUE_*` settings as the store applies them."""

    max_pending: int
    max_attempts: int
    retry_delay_ms: int
    lease_ms: int

    def retry_delay(self, attempt: int) -> int:
        """ms before retrying a job whose run number `attempt` failed: doubling, up to 1 h."""
        return min(MAX_RETRY_DELAY_MS, self.retry_delay_ms << min(attempt - 1, 32))


@dataclass(frozen=True)
class Outcome:
    """What became of a failed run: retried after `retry_in_ms`, or failed for good."""

    failed: bool
    retry_in_ms: int = 0


class JobStore(Protocol):
    """A durable queue shared by every process of a cluster. Each method is one atomic step."""

    async def put(self, jobs: Sequence[NewJob]) -> int:
        """Queue `jobs` (those whose key is already queued are skipped); how many were new.
        Raises `QueueFull` (nothing queued) when they do not fit under `QUEUE_MAX_PENDING`."""
        ...

    async def claim(self, worker: str, limit: int) -> list[Job]:
        """Up to `limit` jobs that are due, or whose lease expired, now claimed by `worker`
        under a fresh lease, their attempt counted. A job whose lease expired on its last
        attempt is failed instead."""
        ...

    async def renew(self, worker: str) -> None:
        """Extend the lease of every job `worker` runs."""
        ...

    async def done(self, finished: Sequence[Job], worker: str) -> None:
        """`finished` ran: forget them (but not one another process claimed again meanwhile)."""
        ...

    async def fail(self, job: Job, worker: str, error: str, *, final: bool = False) -> Outcome:
        """`job`'s run failed with `error`: retry it later, or fail it for good (its last
        attempt, or `final`: an error no retry can mend)."""
        ...

    async def release(self, jobs: Sequence[Job], worker: str) -> None:
        """`worker` stops without finishing `jobs`: due again at once, for any process."""
        ...

    async def active(self) -> int:
        """Jobs pending or running."""
        ...

    async def listing(self, state: str | None) -> list[dict[str, Any]]:
        """Every job (of `state`), as the admin API shows it."""
        ...

    async def get(self, job_id: str) -> dict[str, Any] | None: ...

    async def retry(self, job_id: str) -> dict[str, Any] | None:
        """A failed job queued again with its attempts reset, as it is now; None if there is
        no failed job `job_id`."""
        ...

    async def delete(self, job_id: str) -> bool:
        """Forget a failed or pending job; False if there is none (a running job is not deleted)."""
        ...

    async def close(self) -> None: ...
