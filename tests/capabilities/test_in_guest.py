"""Capabilities as a guest sees them: granted ones work, others throw a catchable error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.capabilities.conftest import LocalServer
from tests.support import write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

USES_EVERYTHING = """
import { log, sleep, request } from 'directus:api';
const attempt = async (fn) => { try { return { ok: await fn() ?? null }; } catch (e) { return { error: e.message }; } };
export default (router) => {
  router.get('/log', async () => ({ status: 200, body: await attempt(() => log('hello from the guest')) }));
  router.get('/sleep/:ms', async (req) => {
    const started = Date.now();
    const result = await attempt(() => sleep(Number(req.params.ms)));
    return { status: 200, body: { ...result, slept: Date.now() - started } };
  });
  router.get('/request', async () => ({ status: 200, body: await attempt(() => request('https://example.com/')) }));
};
"""


@pytest.fixture
def granted(extensions_dir: Path, host: HostFactory) -> TestClient:
    write_extension(extensions_dir, "caps", "endpoint", USES_EVERYTHING, scopes={"log": {}, "sleep": {}})
    with host(extensions_sandbox_timeout=200, extensions_sandbox_wall_timeout=2000) as client:
        yield client  # type: ignore[misc]


@pytest.fixture
def nothing_granted(extensions_dir: Path, host: HostFactory) -> TestClient:
    write_extension(extensions_dir, "caps", "endpoint", USES_EVERYTHING)
    with host() as client:
        yield client  # type: ignore[misc]


def test_log_goes_to_the_host_logger_tagged(granted: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="exthost.extension"):
        assert granted.get("/caps/log").json() == {"ok": None}
    records = [r for r in caplog.records if r.getMessage() == "hello from the guest"]
    assert len(records) == 1
    assert records[0].name == "exthost.extension.caps"


def test_sleep_waits_and_does_not_count_as_guest_time(granted: TestClient) -> None:
    body = granted.get("/caps/sleep/400").json()  # longer than the 200 ms guest time limit
    assert body["ok"] is None  # not EXTENSION_TIMEOUT: waiting is not guest time
    assert "slept" in body  # the guest ran on after its sleep


def test_sleep_beyond_the_wall_limit_is_refused(granted: TestClient) -> None:
    body = granted.get("/caps/sleep/5000").json()
    assert "time limit" in body["error"]


def test_ungranted_capability_throws_catchable_error(granted: TestClient) -> None:
    assert granted.get("/caps/request").json() == {"error": 'No permission to access "request"'}


@pytest.mark.parametrize("capability", ["log", "sleep/1", "request"])
def test_nothing_granted_refuses_every_capability(nothing_granted: TestClient, capability: str) -> None:
    name = capability.split("/")[0]
    response = nothing_granted.get(f"/caps/{capability}")
    assert response.status_code == 200
    assert response.json()["error"] == f'No permission to access "{name}"'


FETCHER = """
import { request } from 'directus:api';
export default (router) => {
  router.post('/fetch', async (req) => {
    try {
      const response = await request(req.body.url, { method: req.body.method ?? 'GET' });
      return { status: 200, body: { status: response.status, data: response.data } };
    } catch (e) {
      return { status: 200, body: { error: e.message } };
    }
  });
};
"""


@pytest.fixture
def fetcher(extensions_dir: Path, host: HostFactory) -> TestClient:
    write_extension(extensions_dir, "fetcher", "endpoint", FETCHER,
                    scopes={"request": {"urls": ["http://*", "https://*"], "methods": ["GET"]}})
    with host() as client:
        yield client  # type: ignore[misc]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8055/server/health",
        "http://[::1]:8055/",
        "http://[::ffff:127.0.0.1]:8055/",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8055/",
        "http://2130706433:8055/",
        "http://0x7f000001:8055/",
        "http://10.0.0.1/",
        "http://[fd00:ec2::254]/",
    ],
)
def test_request_to_internal_addresses_is_refused_by_default(fetcher: TestClient, url: str) -> None:
    body = fetcher.post("/fetcher/fetch", json={"url": url}).json()
    assert "error" in body, body
    assert "No permission" in body["error"] or "denied" in body["error"]


def test_request_method_outside_scope_is_refused(fetcher: TestClient) -> None:
    body = fetcher.post("/fetcher/fetch", json={"url": "https://example.com/", "method": "DELETE"}).json()
    assert body["error"].startswith("No permission")
    assert "DELETE" in body["error"]


def test_request_url_outside_scope_is_refused(fetcher: TestClient) -> None:
    body = fetcher.post("/fetcher/fetch", json={"url": "ftp://example.com/"}).json()
    assert body["error"].startswith("No permission")


@pytest.fixture
def fetcher_with_loopback(extensions_dir: Path, host: HostFactory) -> TestClient:
    """127.0.0.1 allowed, 127.0.0.2 denied: a local server stands in for the internet."""
    write_extension(extensions_dir, "fetcher", "endpoint", FETCHER,
                    scopes={"request": {"urls": ["http://127.0.0.1:*"], "methods": ["GET"]}})
    with host(import_ip_deny_list="127.0.0.2/32") as client:
        yield client  # type: ignore[misc]


def test_granted_request_reaches_the_server(fetcher_with_loopback: TestClient, local_server: LocalServer) -> None:
    body = fetcher_with_loopback.post("/fetcher/fetch", json={"url": local_server.url("/json")}).json()
    assert body == {"status": 200, "data": {"hello": "world", "n": [1, 2]}}


def test_redirect_to_a_denied_address_is_refused(fetcher_with_loopback: TestClient, local_server: LocalServer) -> None:
    target = local_server.url("/json", host="127.0.0.2")
    body = fetcher_with_loopback.post("/fetcher/fetch", json={"url": local_server.url(f"/redirect?to={target}")}).json()
    assert "127.0.0.2" in body["error"]
