"""The queue's stores: the database on SQLite and PostgreSQL (a fresh schema per test) and
Redis Streams (keys under a fresh prefix per test, deleted afterwards), both from
tests/storage/databases.py; each is skipped with the reason when its server is not running."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from host.queue import JobStore, Policy
from host.queue.database import DatabaseStore
from host.queue.streams import StreamStore
from host.storage import Database
from tests.hooks.conftest import recorder
from tests.security.holding import FakeClock
from tests.storage.databases import REDIS_URL, database_url, fresh_redis_namespace, postgres_url

__all__ = ["postgres_url", "recorder"]

T = TypeVar("T")
POLICY = Policy(max_pending=100, max_attempts=3, retry_delay_ms=1000, lease_ms=10_000)
BACKENDS = ["sqlite", "postgresql", "redis"]


class Backend:
    """Makes stores on one backend; stores made by one `Backend` share their queue (as the
    processes of a cluster do)."""

    def __init__(self, kind: str, clock: FakeClock, db: Database | None, prefix: str) -> None:
        self.kind = kind
        self.clock = clock
        self.db = db
        self.prefix = prefix
        self.made: list[JobStore] = []

    def make(self, policy: Policy = POLICY, *, real_time: bool = False) -> JobStore:
        """A store (`real_time`: on the wall clock rather than the test's clock)."""
        import time

        clock = time.time if real_time else self.clock
        store: JobStore
        if self.db is not None:
            store = DatabaseStore(self.db, policy, clock, recover_every_ms=0)
        else:
            store = StreamStore(REDIS_URL, policy, clock, prefix=self.prefix, recover_every_ms=0)
        self.made.append(store)
        return store

    def run(self, scenario: Callable[[], Awaitable[T]]) -> T:
        """Run `scenario` in an event loop that closes this backend's stores at its end (a
        Redis client's connections belong to the loop that opened them)."""

        async def main() -> T:
            try:
                return await scenario()
            finally:
                for store in self.made:
                    await store.close()

        return asyncio.run(main())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Backend]:
    if request.param == "redis":
        with fresh_redis_namespace() as prefix:
            yield Backend("redis", clock, None, prefix)
        return
    database = Database(database_url(request, tmp_path))
    database.migrate()
    try:
        yield Backend(request.param, clock, database, "")
    finally:
        database.close()


@pytest.fixture
def store(backend: Backend) -> JobStore:
    return backend.make()


@pytest.fixture(params=["database", "redis"])
def queue_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Settings of a host whose queue is in its database, or in Redis Streams (`REDIS`)
    under a namespace of its own."""
    if request.param == "database":
        yield {}
        return
    with fresh_redis_namespace() as namespace:
        yield {"redis": REDIS_URL, "queue_namespace": namespace}


def only(backend: Backend, *kinds: str) -> None:
    if backend.kind not in kinds:
        pytest.skip(f"a {backend.kind} store is covered by its own test of this")



