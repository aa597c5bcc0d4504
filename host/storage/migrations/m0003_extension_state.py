"""Extension state: what an administrator decided (enabled or disabled) and what the
circuit breaker knows (faults in a row, quarantined until when, the current rest),
one row per extension name. The source of truth every process reads at load."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, true
from sqlalchemy.engine import Connection

VERSION = 3

_metadata = MetaData()

Table(
    "exthost_extension_state",
    _metadata,
    Column("name", String(255), primary_key=True),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    Column("faults_in_a_row", Integer, nullable=False, server_default="0"),
    Column("quarantined_until", DateTime(timezone=True)),
    Column("backoff_ms", BigInteger),
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def upgrade(conn: Connection) -> None:
    _metadata.create_all(conn)
