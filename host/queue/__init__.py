"""The durable job queue: action events and background flow runs, run at least once by
any process of the cluster (docs/queue.md)."""

from host.queue.jobs import Job, JobError, NewJob, current_job
from host.queue.setup import open_queue
from host.queue.store import JobStore, Outcome, Policy
from host.queue.worker import JobQueue

__all__ = ["Job", "JobError", "JobQueue", "JobStore", "NewJob", "Outcome", "Policy", "current_job", "open_queue"]
