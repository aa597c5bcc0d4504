"""PostgreSQL LISTEN/NOTIFY: a change's transaction sends `pg_notify(channel, "topic:revision")`
(delivered only when it commits), and one dedicated connection per process LISTENs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import Connection

from host.cluster.transport import SAFETY_INTERVAL_S, Connected, Heard, Listener, decode, encode

log = logging.getLogger("exthost.cluster")

KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
"""A listening connection whose server vanished is noticed within about 25 s, then reopened."""


class PgNotify:
    name = "PostgreSQL LISTEN/NOTIFY"
    check_interval = SAFETY_INTERVAL_S

    def __init__(self, connect_args: dict[str, Any], channel: str) -> None:
        """`connect_args`: psycopg's keyword arguments for the database (from the SQLAlchemy URL)."""
        self.channel = channel
        self._connect_args = {**connect_args, **KEEPALIVE}
        self._listener = Listener(self.name, self._session)

    def in_transaction(self, conn: Connection, topic: str, revision: int) -> None:
        payload = encode(topic, revision)
        conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": self.channel, "payload": payload})

    async def after_commit(self, topic: str, revision: int) -> None:
        return None

    async def start(self, heard: Heard, connected: Connected) -> None:
        await self._listener.start(heard, connected)

    async def stop(self) -> None:
        await self._listener.stop()

    async def _session(self, heard: Heard, listening: Callable[[], None]) -> None:
        conn = await psycopg.AsyncConnection.connect(**self._connect_args, autocommit=True)
        async with conn:
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            listening()
            async for notify in conn.notifies():
                announced = decode(notify.payload)
                if announced is not None:
                    heard(*announced)
