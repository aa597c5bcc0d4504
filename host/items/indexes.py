"""Expression indexes on a field's JSON path, for the fields declared with `schema.is_indexed`.

A field gets three partial indexes on `(collection, <reading>)`, one per reading the
compiled queries compare (`host.query.sql`): as a number, as a text, as a boolean, each
holding the items whose value is of that kind. They are built
from the very expressions the compiler emits, so the database matches them (see
tests/items/test_indexes.py, which reads the plans).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Index, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import Grouping

from host.items.tables import items
from host.query.sql import Compiler

READINGS = ("number", "text", "boolean")


def index_names(collection: str, field: str) -> list[str]:
    digest = hashlib.sha1(f"{collection}\x00{field}".encode()).hexdigest()[:16]
    return [f"exthost_ix_{digest}_{reading[0]}" for reading in READINGS]


def create_indexes(conn: Connection, collection: str, field: str) -> None:
    drop_indexes(conn, collection, field)
    ref = Compiler(conn.dialect.name == "postgresql").ref(items.c.data, (field,))
    for name, reading in zip(index_names(collection, field), READINGS, strict=True):
        expression = getattr(ref, reading)
        present = expression.is_not(None)  # partial: only the items whose value is of this kind
        partial = {"sqlite_where": present, "postgresql_where": present}
        Index(name, items.c.collection, Grouping(expression), **partial).create(conn)
    conn.execute(text("ANALYZE exthost_items"))  # statistics on the new expressions, for the planner


def drop_indexes(conn: Connection, collection: str, field: str) -> None:
    for name in index_names(collection, field):
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))  # a name made of hex digits, not input
