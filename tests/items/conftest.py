from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.storage.databases import BACKENDS, database_url, postgres_url

__all__ = ["postgres_url"]

USERS = "alice-token:alice:editor,victor-token:victor:viewer,nobody-token:nobody:guest,root-token:root:admin"
PERMISSIONS = {"editor": {"*": ["*"]}, "viewer": {"*": ["read"], "drafts": ["create"]}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, tmp_path)


@pytest.fixture
def api(host: Callable[..., AbstractContextManager[TestClient]], db_url: str) -> Iterator[TestClient]:
    """A real host on each database, with users: alice (editor), victor (viewer), nobody (guest)."""
    with host(db_url=db_url, user_tokens=USERS, items_permissions=PERMISSIONS) as client:
        yield client
