"""The cluster: every process on one database converges on its control state (docs/cluster.md).

`open_bus(settings, db)` picks how changes are announced: Redis pub/sub when `REDIS` is
set, else PostgreSQL LISTEN/NOTIFY on PostgreSQL, else (SQLite) none; on every backend
each process also compares the stored revisions periodically (`host.cluster.transport`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio.to_thread
from sqlalchemy import text

from host.cluster.bus import ChangeBus, Topic
from host.cluster.transport import Polling, Transport
from host.config import Settings
from host.storage import Database

__all__ = ["ChangeBus", "Topic", "open_bus"]


def namespace(db: Database) -> str:
    """What names this database (and schema) among others sharing a Redis or a PostgreSQL
    server: announcements of another database are never heard."""
    url = db.engine.url
    if db.is_sqlite:
        identity = f"sqlite:{Path(url.database or ':memory:').resolve()}"
    else:
        where = db.transaction(lambda conn: conn.execute(text("SELECT current_database(), current_schema()")).one())
        identity = f"{url.get_backend_name()}:{url.host}:{url.port}:{where[0]}:{where[1]}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def transport_for(settings: Settings, db: Database, name: str) -> Transport:
    if settings.redis:
        from host.cluster.redis_pubsub import RedisPubSub

        return RedisPubSub(settings.redis, f"exthost:{name}:changes")
    if db.engine.url.get_backend_name() == "postgresql":
        from host.cluster.pg_notify import PgNotify

        _, connect_args = db.engine.dialect.create_connect_args(db.engine.url)
        return PgNotify(dict(connect_args), f"exthost_{name}")
    return Polling()


async def open_bus(settings: Settings, db: Database) -> ChangeBus:
    """The bus of this process, its revisions marked (`ChangeBus.mark`); `start` it once every
    subscriber has loaded and subscribed."""
    name = await anyio.to_thread.run_sync(namespace, db)
    bus = ChangeBus(db, transport_for(settings, db, name), name)
    await bus.mark()
    return bus
