"""The queue on SQLite and on PostgreSQL (a fresh schema per test; skipped without a server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from host.queue import Policy
from host.queue.database import DatabaseStore
from host.storage import Database
from tests.hooks.conftest import recorder
from tests.security.holding import FakeClock
from tests.storage.databases import BACKENDS, database_url, postgres_url

__all__ = ["postgres_url", "recorder"]

POLICY = Policy(max_pending=100, max_attempts=3, retry_delay_ms=1000, lease_ms=10_000)


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url(request, tmp_path))
    database.migrate()
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(db: Database, clock: FakeClock) -> DatabaseStore:
    return DatabaseStore(db, POLICY, clock, recover_every_ms=0)
