"""`items.create` in two SQL statements on SQLite and PostgreSQL: the collection's counter
moved on (the collection created if need be) returning its new value, then the items.
Counted with SQLAlchemy's cursor events on a service nothing else shares the engine with."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from host.errors import RecordNotUnique
from host.events import Emitter
from host.items.service import ItemsService
from host.items.tables import collections
from host.numbers import INT64_MAX
from host.queue import open_queue
from host.storage import Database
from tests.storage.databases import BACKENDS, database_url
from tests.support import make_settings


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url(request, tmp_path))
    database.migrate()
    yield database
    database.close()


class Counted:
    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


@pytest.fixture
def service(db: Database, tmp_path: Path) -> ItemsService:
    return ItemsService(db, Emitter(open_queue(make_settings(tmp_path), db)))


def create(service: ItemsService, collection: str, *docs: dict[str, Any]) -> list[dict[str, Any]]:
    return asyncio.run(service.create_many(collection, list(docs), None))


def counter(db: Database, collection: str) -> int:
    query = select(collections.c.next_id).where(collections.c.name == collection)
    return int(db.transaction(lambda conn: conn.execute(query).scalar_one()))


def test_create_is_two_statements(db: Database, service: ItemsService) -> None:
    counted = Counted(db)
    assert create(service, "notes", {"text": "first"}) == [{"id": 1, "text": "first"}]
    assert len(counted.take()) == 2  # a new collection: the same two
    assert create(service, "notes", {"text": "second"}) == [{"id": 2, "text": "second"}]
    assert len(counted.take()) == 2
    batch = create(service, "notes", {"text": "a"}, {"id": "named", "text": "b"}, {"text": "c"})
    assert [doc["id"] for doc in batch] == [3, "named", 4]
    assert len(counted.take()) == 2
    assert [doc["id"] for doc in create(service, "notes", {"id": 10}, {"text": "after"})] == [10, 11]
    assert len(counted.take()) == 2
    assert counter(db, "notes") == 12
    assert create(service, "notes", {"id": 5, "text": "below the counter"})[0]["id"] == 5
    assert counter(db, "notes") == 12


def test_an_automatic_id_before_a_given_one_reads_the_counter_first(db: Database, service: ItemsService) -> None:
    create(service, "mixed", {"text": "one"})
    counted = Counted(db)
    ids = [doc["id"] for doc in create(service, "mixed", {"text": "a"}, {"id": 10}, {"text": "b"})]
    assert ids == [2, 10, 11]  # as always: each automatic id is the counter when its turn comes
    assert len(counted.take()) > 2
    assert counter(db, "mixed") == 12


def test_a_taken_key_refuses_the_batch_and_moves_nothing(db: Database, service: ItemsService) -> None:
    create(service, "keys", {"id": 7})
    before = counter(db, "keys")
    counted = Counted(db)
    with pytest.raises(RecordNotUnique, match='Value "7" for field "id" in collection "keys" has to be unique'):
        create(service, "keys", {"id": 7}, {"text": "new"})
    assert len(counted.take()) == 2
    assert counter(db, "keys") == before
    counted.take()
    with pytest.raises(RecordNotUnique, match="appears twice in the batch"):
        create(service, "keys", {"id": 1}, {"id": "1"})
    assert counted.take() == []  # refused before any statement
    assert [doc["id"] for doc in create(service, "keys", {"text": "next"})] == [before]


def test_the_end_of_the_range_is_refused_as_before(db: Database, service: ItemsService) -> None:
    create(service, "edge", {"id": INT64_MAX})
    with pytest.raises(RecordNotUnique):
        create(service, "edge", {"text": "no room"})
    assert counter(db, "edge") == INT64_MAX
