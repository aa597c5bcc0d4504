"""The flow tables, as queried (created by migration m0002_flows; m0005_jobs added the
run log's job columns)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, Text

from host.storage.schema import metadata

flows = Table(
    "exthost_flows",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("icon", String(64)),
    Column("color", String(32)),
    Column("description", Text),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("accountability", String(16)),
    Column("options", JSON),
    Column("operation", String(36)),
    Column("date_created", DateTime(timezone=True)),
    Column("user_created", String(255)),
)

operations = Table(
    "exthost_operations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255)),
    Column("key", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("position_x", Integer, nullable=False),
    Column("position_y", Integer, nullable=False),
    Column("options", JSON),
    Column("resolve", String(36)),
    Column("reject", String(36)),
    Column("flow", String(36), nullable=False),
    Column("date_created", DateTime(timezone=True)),
    Column("user_created", String(255)),
)

runs = Table(
    "exthost_flow_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("flow", String(36), nullable=False),
    Column("level", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("user", String(255)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("steps", JSON),
    Column("data", JSON),
    Column("error", Text),
    Column("job_key", String(255)),
    Column("job_attempt", Integer),
)

ticks = Table(
    "exthost_flow_ticks",
    metadata,
    Column("flow", String(36), primary_key=True),
    Column("tick", DateTime(timezone=True), nullable=False),
)

notifications = Table(
    "exthost_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("recipient", String(255), nullable=False),
    Column("sender", String(255)),
    Column("subject", String(255), nullable=False),
    Column("message", Text),
    Column("collection", String(255)),
    Column("item", String(255)),
)
