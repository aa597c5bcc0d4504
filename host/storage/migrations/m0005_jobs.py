"""The durable job queue: one row per job waiting, running or failed (a job that ran is
deleted). `key` is the idempotency key (unique: queueing a key already queued is a
no-op); `run_after` and `claimed_until` are epoch milliseconds. The flow run log gets
the job a run belonged to (`job_key`, `job_attempt`), so a retried run shows as one."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, text
from sqlalchemy.engine import Connection

VERSION = 5

_metadata = MetaData()

Table(
    "exthost_jobs",
    _metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(255), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("run_after", BigInteger, nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_until", BigInteger),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_exthost_jobs_state_run_after", "state", "run_after"),
    Index("ix_exthost_jobs_state_claimed_until", "state", "claimed_until"),
)


def upgrade(conn: Connection) -> None:
    _metadata.create_all(conn)
    conn.execute(text("ALTER TABLE exthost_flow_runs ADD COLUMN job_key VARCHAR(255)"))
    conn.execute(text("ALTER TABLE exthost_flow_runs ADD COLUMN job_attempt INTEGER"))
