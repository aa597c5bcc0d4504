"""Health, and the admin-only extension list."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]


def test_health(client: TestClient) -> None:
    response = client.get("/server/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_extensions_requires_admin(client: TestClient) -> None:
    missing = client.get("/extensions")
    assert missing.status_code == 401
    assert missing.json()["errors"][0]["extensions"]["code"] == "INVALID_CREDENTIALS"
    wrong = client.get("/extensions", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_extensions_lists_loaded_and_broken(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "ok-one", "endpoint",
                    "export default (r) => r.get('/', () => ({status: 200, body: 'ok'}));",
                    scopes={"log": {}, "request": {"urls": ["https://example.com/*"], "methods": ["GET"]}})
    write_extension(extensions_dir, "broken", "endpoint", "export default (r) => { throw new Error('nope'); };")
    with host() as client:
        data = {item["name"]: item for item in client.get("/extensions", headers=ADMIN).json()["data"]}
    assert data["ok-one"]["status"] == "ready"
    assert data["ok-one"]["runtime"] == "js"
    assert data["ok-one"]["type"] == "endpoint"
    assert data["ok-one"]["requested_scopes"] == {
        "log": {}, "request": {"urls": ["https://example.com/*"], "methods": ["GET"]}}
    assert data["ok-one"]["error"] is None
    assert data["broken"]["status"] == "error"
    assert "nope" in data["broken"]["error"]
