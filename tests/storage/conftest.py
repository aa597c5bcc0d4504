from __future__ import annotations

from pathlib import Path

import pytest

from tests.storage.databases import BACKENDS, database_url, postgres_url

__all__ = ["postgres_url"]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request, tmp_path)
