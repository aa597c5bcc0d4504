"""Change revisions: one row per topic of control state (`flows`, `extensions`), its
revision bumped in the same transaction as every change (`host.cluster.revisions`). Every
process compares them with what it has loaded (`host.cluster`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, MetaData, String, Table
from sqlalchemy.engine import Connection

VERSION = 4

_metadata = MetaData()

Table(
    "exthost_revisions",
    _metadata,
    Column("topic", String(64), primary_key=True),
    Column("revision", BigInteger, nullable=False),
)


def upgrade(conn: Connection) -> None:
    _metadata.create_all(conn)
