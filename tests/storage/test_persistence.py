from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.support import ADMIN

Host = Callable[..., AbstractContextManager[TestClient]]


def _settings(db_url: str) -> dict[str, Any]:
    # SQLite runs on the default: a file under DATA_PATH, no DB_URL at all.
    return {} if db_url.startswith("sqlite") else {"db_url": db_url}


def test_items_survive_a_restart(host: Host, db_url: str, tmp_path: Path) -> None:
    with host(**_settings(db_url)) as client:
        created = client.post("/items/notes", json=[{"text": "one"}, {"id": "k", "text": "two"}], headers=ADMIN)
        assert created.status_code == 200, created.text
        assert client.patch("/items/notes/1", json={"done": True}, headers=ADMIN).status_code == 200
    if db_url.startswith("sqlite"):
        assert (tmp_path / "data" / "exthost.db").is_file()

    with host(**_settings(db_url)) as client:
        listed = client.get("/items/notes", headers=ADMIN).json()["data"]
        assert listed == [{"id": 1, "text": "one", "done": True}, {"id": "k", "text": "two"}]
        # the automatic ids go on where they stopped
        assert client.post("/items/notes", json={"text": "three"}, headers=ADMIN).json()["data"]["id"] == 2
