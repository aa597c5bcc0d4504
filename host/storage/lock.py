"""The migration lock: one process at a time migrates a database, the others wait for it.

- PostgreSQL: a session advisory lock (`pg_advisory_lock`) taken on a connection of its own
  and held for the whole migration run. Its key is derived from the schema the migrations
  write to (`current_schema()`), so hosts of separate schemas of one database do not wait
  on each other. PostgreSQL releases it when the session ends, a crashed process included.
- SQLite: an exclusive `flock` on the file `<database>-migrate.lock` next to the database
  (every process of a SQLite host runs on that one machine). The operating system releases
  it when the process exits, however it exits. An in-memory database has one user: no lock.
- Other databases: no lock (start one process first, then the others).

Whoever has to wait says so in the log first.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

log = logging.getLogger("exthost.storage")


@contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's migration lock for the duration of the block."""
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        with _advisory_lock(engine):
            yield
    elif backend == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with _file_lock(Path(f"{engine.url.database}-migrate.lock")):
            yield
    else:
        yield


def advisory_key(schema: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of the migrations of `schema`."""
    digest = hashlib.sha256(f"exthost migrations {schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or ""
        key = advisory_key(schema)
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            log.info("another process is migrating schema %r: waiting for its advisory lock", schema)
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        conn.commit()  # a session lock outlives the transaction; none is left open while migrating
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is migrating %s: waiting for %s", path.name.removesuffix("-migrate.lock"), path)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
