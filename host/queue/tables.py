"""The jobs table, as queried (created by migration m0005_jobs)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, String, Table, Text

from host.storage.schema import metadata

jobs = Table(
    "exthost_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("key", String(255), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("run_after", BigInteger, nullable=False),
    Column("claimed_by", String(128)),
    Column("claimed_until", BigInteger),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
