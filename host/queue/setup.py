"""The queue a host runs, from its settings."""

from __future__ import annotations

import time

from host.config import Settings
from host.queue.database import Clock, DatabaseStore
from host.queue.store import JobStore, Policy
from host.queue.worker import JobQueue
from host.storage import Database


def policy_of(settings: Settings) -> Policy:
    return Policy(
        max_pending=settings.queue_max_pending,
        max_attempts=settings.queue_max_attempts,
        retry_delay_ms=settings.queue_retry_delay,
        lease_ms=settings.queue_lease,
    )


def open_queue(settings: Settings, db: Database, clock: Clock = time.time) -> JobQueue:
    """The queue of this process: Redis Streams when `REDIS` is set, else the database. Its
    worker is started once every kind of job has a handler."""
    store: JobStore
    if settings.redis:
        from host.queue.streams import StreamStore

        store = StreamStore(settings.redis, policy_of(settings), clock, prefix=f"{settings.queue_namespace}:queue")
    else:
        store = DatabaseStore(db, policy_of(settings), clock)
    return JobQueue(
        store,
        concurrency=settings.queue_concurrency,
        poll_interval_ms=settings.queue_poll_interval,
        lease_ms=settings.queue_lease,
        max_attempts=settings.queue_max_attempts,
    )
