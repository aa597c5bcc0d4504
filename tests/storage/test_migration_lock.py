"""Migrations under a lock: migrating at once, each migration is applied once and every
migrator succeeds; one that finds the lock taken waits for it, and says so."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.engine import make_url

from host.storage.lock import migration_lock
from host.storage.migrations import discover, migrate
from tests.storage import release_61aa575
from tests.storage.databases import fresh_postgres_schema
from tests.storage.schemas import applied_versions, complete_schema, schema_at
from tests.support import wait_for

MIGRATORS = 4


@pytest.fixture
def engines(db_url: str) -> Iterator[Callable[[], Engine]]:
    """`engines()`: a new engine on the test database, as a separate process would have (its own
    connections, its own open lock file); all disposed at the end."""
    made: list[Engine] = []
    database = make_url(db_url).database
    if db_url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    def make() -> Engine:
        made.append(create_engine(db_url, connect_args={"timeout": 30} if db_url.startswith("sqlite") else {}))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.mark.parametrize("start", ["empty", "release_61aa575"])
def test_migrators_starting_at_once_apply_each_migration_once(
    start: str, db_url: str, engines: Callable[[], Engine]
) -> None:
    if start == "release_61aa575":
        assert release_61aa575.migrate(engines()) == [1, 2]
    already = set(applied_versions(db_url)) if start != "empty" else set()
    barrier = threading.Barrier(MIGRATORS)

    def migrator(engine: Engine) -> list[int]:
        barrier.wait()
        return migrate(engine)

    with ThreadPoolExecutor(MIGRATORS) as pool:
        results = list(pool.map(migrator, [engines() for _ in range(MIGRATORS)]))
    applied = sorted(version for result in results for version in result)
    assert applied == [m.version for m in discover() if m.version not in already]  # each once, by one of them
    assert applied_versions(db_url) == [m.version for m in discover()]
    assert schema_at(db_url) == complete_schema()


def test_a_migrator_waits_for_the_lock_holder(
    db_url: str, engines: Callable[[], Engine], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exthost.storage")
    holder, waiter = engines(), engines()
    result: list[list[int]] = []
    with migration_lock(holder):
        thread = threading.Thread(target=lambda: result.append(migrate(waiter)))
        thread.start()
        wait_for(lambda: "another process is migrating" in caplog.text, "the second migrator to wait")
        assert thread.is_alive() and result == []
        assert "exthost_migrations" not in inspect(holder).get_table_names()  # it waits before touching anything
    thread.join(120)
    assert result == [[m.version for m in discover()]]


@pytest.fixture
def second_schema_url(postgres_url: str) -> Iterator[str]:
    """A second fresh schema in the same PostgreSQL database as `postgres_url`."""
    with fresh_postgres_schema() as url:
        yield url


def test_postgresql_schemas_of_one_database_migrate_without_waiting_for_each_other(
    postgres_url: str, second_schema_url: str
) -> None:
    first, second = create_engine(postgres_url), create_engine(second_schema_url)
    try:
        with migration_lock(first):
            assert migrate(second) == [m.version for m in discover()]  # would wait forever on one shared key
    finally:
        first.dispose()
        second.dispose()


def test_the_sqlite_lock_file_lies_next_to_the_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db' / 'exthost.db'}")
    try:
        migrate(engine)
    finally:
        engine.dispose()
    assert sorted(p.name for p in (tmp_path / "db").iterdir() if "lock" in p.name) == ["exthost.db-migrate.lock"]
