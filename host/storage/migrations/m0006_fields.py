"""Collections and fields declared through Directus's `/collections` and `/fields` API.

A collection gets its Directus `meta` (null for one created by its first item); each
declared field has a row in `exthost_fields` (its Directus `type`, `meta` and `schema`).
Items stay schemaless: a field declares, it does not constrain; with `schema.is_indexed`
the host adds expression indexes on the field's JSON path (`host.items.fields`).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, MetaData, PrimaryKeyConstraint, String, Table, text
from sqlalchemy.engine import Connection

VERSION = 6

_metadata = MetaData()
_collections = Table("exthost_collections", _metadata, Column("name", String(64), primary_key=True))

Table(
    "exthost_fields",
    _metadata,
    Column("collection", String(64), ForeignKey("exthost_collections.name", ondelete="CASCADE"), nullable=False),
    Column("field", String(255), nullable=False),
    Column("type", String(32), nullable=True),
    Column("meta", JSON, nullable=True),
    Column("schema", JSON, nullable=True),
    PrimaryKeyConstraint("collection", "field", name="pk_exthost_fields"),
)


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE exthost_collections ADD COLUMN meta JSON"))
    _metadata.create_all(conn, tables=[_metadata.tables["exthost_fields"]])
