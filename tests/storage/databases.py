"""The databases tests run on: SQLite always, PostgreSQL when reachable; and Redis, when reachable.

PostgreSQL is the server at `EXTHOST_TEST_PG` (default `postgresql+psycopg://postgres@127.0.0.1:5432/test`).
A test never touches what is already there: it gets a fresh schema or a fresh database of its own,
dropped afterwards, and is skipped, saying why, when no server is reachable.

- `fresh_postgres_schema()`: a URL whose `search_path` is a new, empty schema of the test database
  (the `postgres_url` fixture; the storage and items tests' `db_url`, through `database_url`).
- `fresh_postgres_database()`: the URL of a new, empty database `exthost_<random>` (what separate
  processes need that each run their own connections and LISTEN on their own channel).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("EXTHOST_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EXTHOST_TEST_REDIS", "redis://127.0.0.1:6379/0")
BACKENDS = ["sqlite", "postgresql"]


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        import psycopg

        url = make_url(PG_URL)
        with psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, dbname=url.database, connect_timeout=2
        ):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"


@cache
def _admin_engine() -> Engine:
    """The engine that creates and drops the tests' schemas and databases."""
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _execute(statement: str) -> None:
    """Run `statement` on the test server, or skip the test, saying why, when none is reachable."""
    problem = postgres_problem()
    if problem:
        pytest.skip(problem)
    with _admin_engine().connect() as conn:
        conn.execute(text(statement))


@contextmanager
def fresh_postgres_schema(prefix: str = "exthost_test") -> Iterator[str]:
    """A URL of the test database whose `search_path` is a new, empty schema `<prefix>_<random>`,
    dropped (with all it holds) afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    _execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        _execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new, empty database `exthost_<random>` on the test server, dropped afterwards
    (connections still open to it are ended)."""
    name = f"exthost_{uuid.uuid4().hex[:12]}"
    _execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose `search_path` is a fresh, empty schema."""
    with fresh_postgres_schema() as url:
        yield url


@contextmanager
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of `backend` ("sqlite": a file under `tmp_path`; "postgresql":
    a fresh schema)."""
    if backend == "postgresql":
        with fresh_postgres_schema() as url:
            yield url
    else:
        yield _sqlite_url(tmp_path)


def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """`request.param` is "sqlite" or "postgresql"."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return _sqlite_url(tmp_path)


@cache
def redis_problem() -> str | None:
    """Why Redis cannot be used here, or None when it can."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"


@contextmanager
def fresh_redis_namespace(prefix: str = "exthost_test") -> Iterator[str]:
    """A new key prefix `<prefix>_<random>` on the test Redis server, or a skip, saying why, when none
    is reachable; its keys (`<namespace>:*`, never anyone else's: no FLUSHDB) are deleted afterwards."""
    problem = redis_problem()
    if problem:
        pytest.skip(problem)
    namespace = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        yield namespace
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{namespace}:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'exthost.db'}"
