"""Items: schemaless JSON documents grouped by collection.

`exthost_collections` holds each collection (created by its first item) and the
next automatic id; `exthost_items` holds one row per item, its key as text and
its whole document as JSON. The tables are written out here, not imported from
`host.items`, so this migration stays what it was when it was released.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.engine import Connection

VERSION = 1

_metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Table(
    "exthost_collections",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("next_id", BigInteger, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

Table(
    "exthost_items",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column(
        "collection",
        String(64),
        ForeignKey("exthost_collections.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("key", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("collection", "key", name="uq_exthost_items_collection_key"),
    Index("ix_exthost_items_collection_seq", "collection", "seq"),
)


def upgrade(conn: Connection) -> None:
    _metadata.create_all(conn)
