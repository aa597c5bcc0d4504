from __future__ import annotations

from sqlalchemy import inspect

from host.storage import Database
from host.storage.migrations import discover


def test_the_items_migration_is_discovered_in_order() -> None:
    versions = [m.version for m in discover()]
    assert 1 in versions
    assert versions == sorted(versions)
    assert next(m for m in discover() if m.version == 1).name == "m0001_items"


def test_migrate_creates_the_items_tables_once(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert 1 in db.migrate()
        assert db.migrate() == []  # nothing left to apply
        tables = set(inspect(db.engine).get_table_names())
        assert {"exthost_migrations", "exthost_collections", "exthost_items"} <= tables
        columns = {c["name"] for c in inspect(db.engine).get_columns("exthost_items")}
        assert {"seq", "collection", "key", "data", "created_at", "updated_at"} <= columns
    finally:
        db.close()
