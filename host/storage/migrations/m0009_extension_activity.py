"""What each extension did, readable from every process of a cluster: its recent log lines
(a bounded ring per extension, trimmed as lines are added) and its call counters and
timing, one row per extension and process (summed when read)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.engine import Connection

VERSION = 9

_metadata = MetaData()

Table(
    "exthost_extension_logs",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("stack", Text),
    Column("process", String(128), nullable=False),
    Index("ix_exthost_extension_logs_name_id", "name", "id"),
)

Table(
    "exthost_extension_metrics",
    _metadata,
    Column("name", String(255), primary_key=True),
    Column("process", String(128), primary_key=True),
    Column("calls", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("faults", BigInteger, nullable=False),
    Column("histogram", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def upgrade(conn: Connection) -> None:
    _metadata.create_all(conn)
