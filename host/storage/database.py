"""The database: a sync SQLAlchemy engine whose work runs on worker threads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

from host.query.regex import register_sqlite
from host.storage.migrations import migrate

T = TypeVar("T")

_limiter = anyio.CapacityLimiter(16)


class Database:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(
            url, pool_pre_ping=not self.is_sqlite, json_serializer=dump_json, **kwargs
        )
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    def migrate(self) -> list[int]:
        return migrate(self.engine)

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction on this thread."""
        with self.engine.begin() as conn:
            return work(conn)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in one transaction on a worker thread."""
        return await anyio.to_thread.run_sync(self.transaction, work, limiter=_limiter)

    def close(self) -> None:
        self.engine.dispose()


def dump_json(value: Any) -> str:
    """How JSON columns are written: only what reads back and renders as a JSON response.

    `NaN`/`Infinity` and lone surrogates make the write fail (`ValueError`) instead of
    being stored: stored, they would make every later read of the row fail. The input
    readers refuse them first (`host.jsontext`); this is the last line.
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    text.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return text


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    register_sqlite(dbapi_connection)  # `_regex` filters (host.query.regex)
