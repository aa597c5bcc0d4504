"""What a job is, for those who queue one and those who run one."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

JobPayload = dict[str, Any]
"""JSON: a job carries names and data, never in-process objects (any process may run it)."""

STATES = ("pending", "running", "failed")
"""`pending`: waiting for its `run_after`; `running`: claimed by a process under a lease;
`failed`: its attempts ran out (kept for the administrator). A job that ran is deleted."""


@dataclass(frozen=True)
class NewJob:
    kind: str
    """Which handler runs it (`action`, `flow`, ...): every process registers the same kinds."""
    payload: JobPayload = field(default_factory=dict)
    key: str | None = None
    """The idempotency key: while a job with this key is queued, queueing it again is a no-op.
    Without one the job's id is used."""
    delay_ms: int = 0


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    key: str
    payload: JobPayload
    attempt: int
    """1 for the first run; a retry (after a failure, or after the process running it died) counts up."""

    def describe(self) -> dict[str, Any]:
        """What the code a job runs is told about it (`meta.job` of an action, the run log of a flow)."""
        return {"id": self.id, "key": self.key, "attempt": self.attempt}


class JobError(Exception):
    """A job this process cannot run (no handler for its kind, no listener it names): retried
    like any failure, so a process that has not caught up yet is no reason to drop it."""


_current: ContextVar[Job | None] = ContextVar("exthost_current_job", default=None)


def current_job() -> Job | None:
    """The job the code around this point runs for, if any."""
    return _current.get()


def set_current_job(job: Job | None) -> None:
    _current.set(job)
