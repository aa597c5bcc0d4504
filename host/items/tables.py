"""The items tables as the service uses them (created by migrations `m0001_items`, `m0006_fields`)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, ForeignKey, Integer, PrimaryKeyConstraint, String, Table

from host.storage.schema import metadata

collections = Table(
    "exthost_collections",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_id", BigInteger, nullable=False, default=1),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("meta", JSON, nullable=True),
)

items = Table(
    "exthost_items",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("collection", String(64), ForeignKey("exthost_collections.name", ondelete="CASCADE"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

fields = Table(
    "exthost_fields",
    metadata,
    Column("collection", String(64), ForeignKey("exthost_collections.name", ondelete="CASCADE"), nullable=False),
    Column("field", String(255), nullable=False),
    Column("type", String(32), nullable=True),
    Column("meta", JSON, nullable=True),
    Column("schema", JSON, nullable=True),
    PrimaryKeyConstraint("collection", "field", name="pk_exthost_fields"),
)
