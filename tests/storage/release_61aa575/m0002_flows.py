"""Flows, their operations, the run log, schedule ticks and stored notifications."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

VERSION = 2

_metadata = MetaData()

Table(
    "exthost_flows",
    _metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("icon", String(64)),
    Column("color", String(32)),
    Column("description", Text),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("trigger", String(16), nullable=False),
    Column("accountability", String(16)),
    Column("options", JSON),
    Column("operation", String(36)),
    Column("date_created", DateTime(timezone=True)),
    Column("user_created", String(255)),
)
Table(
    "exthost_operations",
    _metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255)),
    Column("key", String(255), nullable=False),
    Column("type", String(255), nullable=False),
    Column("position_x", Integer, nullable=False, server_default="0"),
    Column("position_y", Integer, nullable=False, server_default="0"),
    Column("options", JSON),
    Column("resolve", String(36)),
    Column("reject", String(36)),
    Column("flow", String(36), ForeignKey("exthost_flows.id", ondelete="CASCADE"), nullable=False),
    Column("date_created", DateTime(timezone=True)),
    Column("user_created", String(255)),
    UniqueConstraint("flow", "key", name="uq_exthost_operations_flow_key"),
)
Table(
    "exthost_flow_runs",
    _metadata,
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
    Index("ix_exthost_flow_runs_flow_started", "flow", "started_at"),
)
Table(
    "exthost_flow_ticks",
    _metadata,
    Column("flow", String(36), primary_key=True),
    Column("tick", DateTime(timezone=True), nullable=False),
)
Table(
    "exthost_notifications",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, server_default="inbox"),
    Column("recipient", String(255), nullable=False),
    Column("sender", String(255)),
    Column("subject", String(255), nullable=False),
    Column("message", Text),
    Column("collection", String(255)),
    Column("item", String(255)),
)


def upgrade(conn: Connection) -> None:
    _metadata.create_all(conn)
