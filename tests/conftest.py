from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import make_settings, running_host


@pytest.fixture
def extensions_dir(tmp_path: Path) -> Path:
    path = tmp_path / "extensions"
    path.mkdir()
    return path


@pytest.fixture
def host(tmp_path: Path, extensions_dir: Path) -> Callable[..., AbstractContextManager[TestClient]]:
    """`with host(**settings) as client:` runs a real host over `extensions_dir`."""

    def start(**overrides: Any) -> AbstractContextManager[TestClient]:
        return running_host(make_settings(tmp_path, extensions_dir, **overrides))

    return start


@pytest.fixture
def client(host: Callable[..., AbstractContextManager[TestClient]]) -> Iterator[TestClient]:
    with host() as c:
        yield c
