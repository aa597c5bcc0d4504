"""The `exthost_revisions` table (migration `m0004_revisions`): one counter per topic of
control state, bumped in the transaction of every change to it. Revisions only grow, and
since the bump updates one row, changes to one topic commit in the order of their revisions."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, String, Table, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from host.storage.schema import metadata

table = Table(
    "exthost_revisions",
    metadata,
    Column("topic", String(64), primary_key=True),
    Column("revision", BigInteger, nullable=False),
)


def bump(conn: Connection, topic: str) -> int:
    """Count one more change of `topic` in the caller's transaction; returns the new revision.
    Call it last in the transaction: it locks the topic's row until the commit."""
    statement = update(table).where(table.c.topic == topic).values(revision=table.c.revision + 1)
    revision = conn.execute(statement.returning(table.c.revision)).scalar()
    if revision is not None:
        return int(revision)
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(topic=topic, revision=1))
        return 1
    except IntegrityError:  # another process counted the first change meanwhile
        return int(conn.execute(statement.returning(table.c.revision)).scalar_one())


def read(conn: Connection) -> dict[str, int]:
    """Every topic's current revision (a topic never changed has none)."""
    return {row.topic: int(row.revision) for row in conn.execute(select(table.c.topic, table.c.revision))}


def read_one(conn: Connection, topic: str) -> int:
    revision = conn.execute(select(table.c.revision).where(table.c.topic == topic)).scalar()
    return 0 if revision is None else int(revision)
