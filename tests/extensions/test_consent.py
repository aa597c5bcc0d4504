"""Consent: a grant narrows what was requested, never widens it; the extension runs with exactly
its grant; an upgrade asking for more waits; extensions from before consent keep working."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from host.extensions.consent import glob_covers, url_covers
from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

PROBE = """
import { log, request } from 'directus:api';
const attempt = async (fn) => { try { await fn(); return 'allowed'; } catch (e) { return e.message; } };
export default { id: 'probe', handler: (router) => router.get('/', async () => ({ status: 200, body: {
  log: await attempt(() => log('hello')),
  v1: await attempt(() => request('http://127.0.0.1:9/v1/x')),
  v2: await attempt(() => request('http://127.0.0.1:9/v2/x')),
  post: await attempt(() => request('http://127.0.0.1:9/v1/x', { method: 'POST' })),
} })) };
"""
REQUESTED = {"log": {}, "request": {"urls": ["http://127.0.0.1:9/*"], "methods": ["GET", "POST"]}}
DENIED = "No permission"


def probe(client: TestClient) -> dict[str, str]:
    response = client.get("/probe")
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def reached(outcome: str) -> bool:
    """The scope and method let the request through: it then met the address guard (127.0.0.1 is denied)."""
    return "address 127.0.0.1 is denied" in outcome


@pytest.mark.parametrize(
    ("outer", "inner", "covered"),
    [
        ("https://api.example.com/*", "https://api.example.com/v1/*", True),
        ("https://api.example.com", "https://api.example.com/v1/x", True),
        ("https://*.example.com/*", "https://api.example.com/*", True),
        ("*", "https://anything.example/*", True),
        ("https://api.example.com/*", "https://api.example.com", True),
        ("https://api.example.com/v1/*", "https://api.example.com/*", False),
        ("https://api.example.com/*", "https://*.example.com/*", False),
        ("https://api.example.com/*", "https://api.example.com:*/*", False),
        ("https://api.example.com/*", "http://api.example.com/*", False),
        ("https://api.example.com/*", "*", False),
        ("https://api.example.com/a*", "https://api.example.com/*a", False),
        ("https://api.example.com:*/*", "https://api.example.com/x", True),
    ],
)
def test_url_containment(outer: str, inner: str, covered: bool) -> None:
    assert url_covers(outer, inner) is covered


def test_glob_containment() -> None:
    assert glob_covers("a*c", "ab*bc") and glob_covers("*", "x*y") and glob_covers("a**b", "a*b")
    assert not glob_covers("a*c", "a*") and not glob_covers("abc", "a*c")


def test_narrowed_grant_refuses_what_it_excludes(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "probe-ext", "endpoint", PROBE, scopes=REQUESTED)
    with host() as client:
        everything = probe(client)  # present before consent: granted what it requests
        assert everything["log"] == "allowed" and reached(everything["v2"]) and reached(everything["post"])
        narrow = {"request": {"urls": ["http://127.0.0.1:9/v1/*"], "methods": ["GET"]}}
        response = client.patch("/extensions/probe-ext", json={"granted_scopes": narrow}, headers=ADMIN)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["granted_scopes"] == narrow
        assert data["pending_scopes"] == {"log": {}, "request": {"urls": ["http://127.0.0.1:9/*"], "methods": ["POST"]}}
        outcome = probe(client)
        assert DENIED in outcome["log"]
        assert reached(outcome["v1"])
        assert not reached(outcome["v2"]) and not reached(outcome["post"])
        wider = {"request": {"urls": ["http://*/*"], "methods": ["GET"]}}
        refused = client.patch("/extensions/probe-ext", json={"granted_scopes": wider}, headers=ADMIN)
        assert refused.status_code == 400
        assert "not provably within" in refused.json()["errors"][0]["message"]
        unasked = client.patch("/extensions/probe-ext", json={"granted_scopes": {"sleep": {}}}, headers=ADMIN)
        assert unasked.status_code == 400
        assert '"sleep" was not requested' in unasked.json()["errors"][0]["message"]
        bad = client.patch("/extensions/probe-ext", json={"granted_scopes": {"exec": {}}}, headers=ADMIN)
        assert bad.status_code == 400
        assert client.patch("/extensions/probe-ext", json={"granted_scopes": {}}).status_code == 401
    with host() as client:  # the grant is stored: a restart keeps it
        assert DENIED in probe(client)["log"]


def test_upgrade_asking_for_more_waits_for_consent(extensions_dir: Path, host: HostFactory) -> None:
    folder = write_extension(extensions_dir, "probe-ext", "endpoint", PROBE, scopes={"log": {}})
    with host() as client:
        assert probe(client)["log"] == "allowed"
        manifest = json.loads((folder / "package.json").read_text())
        manifest["version"] = "2.0.0"
        manifest["directus:extension"]["sandbox"]["requestedScopes"] = REQUESTED
        (folder / "package.json").write_text(json.dumps(manifest))
        reloaded = client.post("/extensions/reload", json={"names": ["probe-ext"]}, headers=ADMIN)
        assert reloaded.status_code == 200, reloaded.text
        data = client.get("/extensions/probe-ext", headers=ADMIN).json()["data"]
        assert data["version"] == "2.0.0"
        assert data["requested_scopes"] == REQUESTED
        assert data["granted_scopes"] == {"log": {}}
        assert data["pending_scopes"] == {"request": REQUESTED["request"]}
        waiting = probe(client)
        assert waiting["log"] == "allowed" and DENIED in waiting["v1"]  # old grant, new scope not granted
        client.patch("/extensions/probe-ext", json={"granted_scopes": "all"}, headers=ADMIN)
        assert reached(probe(client)["v1"])
        assert client.get("/extensions/probe-ext", headers=ADMIN).json()["data"]["pending_scopes"] == {}
