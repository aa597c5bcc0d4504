"""What a database's schema is: its tables and their columns, and the migrations it recorded."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, inspect, select

from host.storage.migrations import applied_table, migrate

Schema = dict[str, set[str]]


def table_columns(engine: Engine) -> Schema:
    """Every table of the database and its column names."""
    inspector = inspect(engine)
    return {table: {c["name"] for c in inspector.get_columns(table)} for table in inspector.get_table_names()}


def schema_at(url: str) -> Schema:
    engine = create_engine(url)
    try:
        return table_columns(engine)
    finally:
        engine.dispose()


def complete_schema() -> Schema:
    """The schema today's migrations create on an empty database, alone."""
    engine = create_engine("sqlite://")
    try:
        migrate(engine)
        return table_columns(engine)
    finally:
        engine.dispose()


def applied_versions(url: str) -> list[int]:
    """The migration versions `exthost_migrations` records, in order."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(select(applied_table.c.version)).scalars())
    finally:
        engine.dispose()
