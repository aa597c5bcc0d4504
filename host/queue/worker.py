"""`JobQueue`: queue jobs, and run those of the whole cluster in this process.

Every process runs one worker loop: it claims up to `QUEUE_CONCURRENCY` jobs at a time,
runs each with the handler registered for its kind, and looks for more at once when a
job is queued here and otherwise every `QUEUE_POLL_INTERVAL` ms (jobs queued by other
processes). While jobs run, their leases are renewed every third of `QUEUE_LEASE`. A job
that raises is retried after `QUEUE_RETRY_DELAY` ms (doubling) until `QUEUE_MAX_ATTEMPTS`
runs failed; then it stays `failed`, listed at `GET /jobs`. Delivery is at least once:
a job whose process died mid-run runs again, elsewhere, as its next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from host.errors import ExthostError
from host.queue import carry
from host.queue.jobs import Job, JobError, JobPayload, NewJob, set_current_job
from host.queue.store import JobStore

log = logging.getLogger("exthost.queue")

Handler = Callable[[Job], Awaitable[None]]
CONTEXT_FIELD = "$context"
"""Where a job's payload carries its captured context (`host.queue.carry`)."""


def worker_name() -> str:
    """This process, as `claimed_by` names it: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobQueue:
    def __init__(
        self,
        store: JobStore,
        *,
        concurrency: int = 4,
        poll_interval_ms: int = 250,
        lease_ms: int = 30_000,
        max_attempts: int = 5,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.concurrency = concurrency
        self.poll_s = poll_interval_ms / 1000
        self.renew_s = lease_ms / 3000
        self.max_attempts = max_attempts
        self.worker = worker or worker_name()
        self._handlers: dict[str, Handler] = {}
        self._running: dict[str, tuple[Job, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._finished: list[Job] = []
        self._flush = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def handle(self, kind: str, handler: Handler) -> None:
        """Run jobs of `kind` with `handler` (every process registers the same kinds)."""
        self._handlers[kind] = handler

    # -- queueing -------------------------------------------------------------

    async def enqueue(self, kind: str, payload: JobPayload, *, key: str | None = None, delay_ms: int = 0) -> bool:
        """Queue one job; False when a job with `key` is already queued. Raises `QueueFull`."""
        return await self.enqueue_many([NewJob(kind, payload, key, delay_ms)]) == 1

    async def enqueue_many(self, new: Sequence[NewJob]) -> int:
        """Queue `new` in one step (all or none); how many were not queued already. Raises `QueueFull`."""
        context = carry.capture()
        if context:
            new = [NewJob(job.kind, {**job.payload, CONTEXT_FIELD: context}, job.key, job.delay_ms) for job in new]
        added = await self.store.put(new)
        if added:
            self._wake.set()
        return added

    def wake(self) -> None:
        """Look for due jobs now (one was queued again here)."""
        self._wake.set()

    # -- the worker -----------------------------------------------------------

    async def start(self) -> None:
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="exthost-queue-claim"),
            asyncio.create_task(self._renew_loop(), name="exthost-queue-renew"),
            asyncio.create_task(self._done_loop(), name="exthost-queue-done"),
        ]

    async def _claim_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            free = self.concurrency - len(self._running)
            claimed: list[Job] = []
            if free > 0:
                try:
                    claimed = await self.store.claim(self.worker, free)
                except Exception:
                    log.exception("claiming jobs failed; trying again in %.2f s", self.poll_s)
                for job in claimed:
                    task = asyncio.create_task(self._run(job), context=contextvars.Context(), name=f"job-{job.id}")
                    self._running[job.id] = (job, task)
            if (free > 0 and len(claimed) == free) or self._stopping.is_set():
                continue  # there may be more, and a slot may free up meanwhile
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.renew_s)
            if not self._running:
                continue
            try:
                await self.store.renew(self.worker)
            except Exception:
                log.exception("renewing the leases of running jobs failed")

    async def _done_loop(self) -> None:
        """Forget the jobs that ran, those that finished meanwhile in one step (the slot of
        a job is free as soon as it ran; its row goes a moment later)."""
        while True:
            await self._flush.wait()
            self._flush.clear()
            await self._forget_finished()

    async def _forget_finished(self) -> None:
        finished, self._finished = self._finished, []
        try:
            await self.store.done(finished, self.worker)
        except Exception:
            log.exception("%d job(s) ran but could not be marked done; they may run again", len(finished))

    async def _run(self, job: Job) -> None:
        """Run `job` in its own context: the job, and the context it was queued in."""
        set_current_job(job)
        carry.restore(job.payload.get(CONTEXT_FIELD))
        try:
            handler = self._handlers.get(job.kind)
            if handler is None:
                raise JobError(f'this process has no handler for "{job.kind}" jobs')
            if job.attempt > 1:
                log.info("job %s (%s) runs again: attempt %d of %d", job.key, job.kind, job.attempt, self.max_attempts)
            await handler(job)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self._failed(job, exc)
        else:
            self._finished.append(job)
            self._flush.set()
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def _failed(self, job: Job, exc: Exception) -> None:
        error = str(exc) or type(exc).__name__
        if not isinstance(exc, ExthostError | JobError):  # a bug rather than an outcome: keep the traceback
            log.error("job %s (%s) raised", job.key, job.kind, exc_info=exc)
        try:
            final = isinstance(exc, ExthostError) and not exc.retryable
            outcome = await self.store.fail(job, self.worker, error, final=final)
        except Exception:
            log.exception("job %s failed and could not be rescheduled; its lease will expire", job.key)
            return
        if outcome.failed:
            log.error(
                "job %s (%s) failed for good after %d attempt(s): %s (listed at GET /jobs)",
                job.key, job.kind, job.attempt, error,
            )
        else:
            log.warning(
                "job %s (%s) attempt %d of %d failed: %s; retried in %.1f s",
                job.key, job.kind, job.attempt, self.max_attempts, error, outcome.retry_in_ms / 1000,
            )

    # -- stopping and waiting -------------------------------------------------

    async def drain(self, timeout: float = 60.0) -> None:
        """Wait until no job is waiting or running anywhere (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while await self.store.active():
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still queued after {timeout} s")
            await asyncio.sleep(0.02)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming; give running jobs `timeout` s, then hand the rest back to the cluster."""
        self._stopping.set()
        self._wake.set()
        if not self._tasks:
            return
        claiming, *bookkeeping = self._tasks
        self._tasks = []
        await claiming  # a claim under way finishes: what it claimed is run or released
        pending = [task for _, task in self._running.values()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        for task in bookkeeping:
            task.cancel()
        for task in bookkeeping:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        unfinished = list(self._running.values())
        for _, task in unfinished:
            task.cancel()
        for _, task in unfinished:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._forget_finished()
        try:
            await self.store.release([job for job, _ in unfinished], self.worker)
        except Exception:
            log.exception("jobs left unfinished could not be released; their leases will expire")
        self._running.clear()
        await self.store.close()
