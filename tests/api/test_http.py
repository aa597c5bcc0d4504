"""HTTP behaviour of a real host (in process): CORS, HEAD, OPTIONS, `Allow`, gzip, ETag,
request ids, the rate limiter in memory, and Directus's `/server` routes."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]
BIG = """
export default (router) => {
  router.get('/big', () => ({ status: 200, body: { rows: Array.from({ length: 400 }, (_, i) => ({ i, text: 'row ' + i })) } }));
  router.post('/big', (req) => ({ status: 201, body: req.body }));
};
"""


def code(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


# -- HEAD, OPTIONS, Allow -----------------------------------------------------------------


def test_head_answers_like_get_without_a_body(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "bigx", "endpoint", BIG)
    with host() as client:
        for path in ("/server/info", "/bigx/big", "/openapi.json"):
            got, head = client.get(path), client.head(path)
            assert head.status_code == got.status_code == 200, path
            assert head.content == b"", path
            assert head.headers["content-type"] == got.headers["content-type"], path
            assert head.headers["content-length"] == got.headers["content-length"], path
        assert client.head("/no/such/route").status_code == 404


def test_options_lists_the_methods_of_the_path(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "bigx", "endpoint", BIG)
    with host() as client:
        items = client.options("/items/anything")
        assert items.status_code == 204 and items.content == b""
        assert items.headers["allow"] == "GET, HEAD, POST, PATCH, DELETE, OPTIONS, SEARCH"
        assert client.options("/server/ping").headers["allow"] == "GET, HEAD, OPTIONS"
        assert client.options("/bigx/big").headers["allow"] == "GET, HEAD, POST, OPTIONS"
        assert client.options("/no/such/route").status_code == 404


def test_every_405_says_what_is_allowed(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "bigx", "endpoint", BIG)
    with host() as client:
        cases = {
            ("PUT", "/items/things"): "GET, HEAD, POST, PATCH, DELETE, OPTIONS, SEARCH",
            ("POST", "/server/health"): "GET, HEAD, OPTIONS",
            ("DELETE", "/jobs"): "GET, HEAD, OPTIONS",
            ("PUT", "/bigx/big"): "GET, HEAD, POST, OPTIONS",
            ("TRACE", "/bigx/big"): "GET, HEAD, POST, OPTIONS",
        }
        for (method, path), allow in cases.items():
            response = client.request(method, path, headers=ADMIN)
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == allow, (method, path)
            assert code(response) == "METHOD_NOT_ALLOWED"


# -- gzip -------------------------------------------------------------------------------


def test_large_answers_are_gzipped_small_ones_are_not(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "bigx", "endpoint", BIG)
    with host() as client:
        raw = client.get("/bigx/big", headers={"Accept-Encoding": "gzip"})
        assert raw.status_code == 200 and raw.headers["content-encoding"] == "gzip"
        assert len(raw.json()["rows"]) == 400  # httpx decodes it
        plain = client.get("/bigx/big", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.json() == raw.json()
        assert int(raw.headers["content-length"]) < int(plain.headers["content-length"]) / 3
        small = client.get("/server/ping", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in small.headers and small.text == "pong"
        docs = client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
        assert docs.headers["content-encoding"] == "gzip"


def test_gzip_and_max_payload_size_work_together(extensions_dir: Path, host: HostFactory) -> None:
    """The request limit still holds (413 before the body is read) with gzip answering the rest."""
    write_extension(extensions_dir, "bigx", "endpoint", BIG)
    with host(max_payload_size=2000) as client:
        too_big = client.post("/bigx/big", content=b"{" + b" " * 3000 + b"}",
                              headers={"Content-Type": "application/json", "Accept-Encoding": "gzip"})
        assert too_big.status_code == 413 and code(too_big) == "CONTENT_TOO_LARGE"
        body = {"text": "x" * 1500}
        echoed = client.post("/bigx/big", json=body, headers={"Accept-Encoding": "gzip"})
        assert echoed.status_code == 201 and echoed.headers["content-encoding"] == "gzip"
        assert echoed.json() == body


# -- ETag and conditional GET -------------------------------------------------------------


def test_etag_and_if_none_match(host: HostFactory) -> None:
    with host(items_permissions={}) as client:
        client.post("/items/notes", json={"id": 1, "text": "first"}, headers=ADMIN)
        first = client.get("/items/notes", headers=ADMIN)
        etag = first.headers["etag"]
        assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)
        again = client.get("/items/notes", headers={**ADMIN, "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag and "x-request-id" in again.headers
        listed = client.get("/items/notes", headers={**ADMIN, "If-None-Match": f'"other", {etag}'})
        assert listed.status_code == 304
        client.patch("/items/notes/1", json={"text": "changed"}, headers=ADMIN)
        changed = client.get("/items/notes", headers={**ADMIN, "If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert changed.json()["data"][0]["text"] == "changed"
        posted = client.post("/items/notes", json={"id": 2}, headers={**ADMIN, "If-None-Match": etag})
        assert posted.status_code == 200 and "etag" not in posted.headers  # only reads
        missing = client.get("/items/notes/99", headers=ADMIN)
        assert missing.status_code in (403, 404) and "etag" not in missing.headers


# -- request ids ------------------------------------------------------------------------


def test_every_response_has_a_request_id(host: HostFactory) -> None:
    with host(max_payload_size=10) as client:
        responses = [
            client.get("/server/ping"),
            client.get("/no/such/route"),
            client.post("/items/x", content=b"x" * 100, headers=ADMIN),  # 413 from the payload limit
            client.get("/extensions"),  # 401
            client.options("/items/x"),
        ]
        ids = [response.headers["x-request-id"] for response in responses]
        assert all(re.fullmatch(r"[0-9a-f]{32}", value) for value in ids)
        assert len(set(ids)) == len(ids)
        kept = client.get("/server/ping", headers={"X-Request-Id": "trace-42.a:b_c"})
        assert kept.headers["x-request-id"] == "trace-42.a:b_c"
        for insane in ("has space", "x" * 129, "new\\nline", "<script>"):
            replaced = client.get("/server/ping", headers={"X-Request-Id": insane})
            assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"]), insane


# -- CORS -------------------------------------------------------------------------------


def preflight(client: TestClient, origin: str, method: str = "PATCH") -> Any:
    return client.options("/items/x", headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                "Access-Control-Request-Headers": "authorization,content-type"})


def test_cors_preflight_and_simple_requests(host: HostFactory) -> None:
    with host(cors_enabled=True, cors_origin="https://app.example,https://admin.example", cors_max_age=600,
              cors_exposed_headers="Content-Range,X-Request-Id") as client:
        answer = preflight(client, "https://app.example")
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert answer.headers["access-control-allow-credentials"] == "true"
        assert answer.headers["access-control-max-age"] == "600"
        assert set(answer.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "PATCH", "DELETE"}
        assert "authorization" in answer.headers["access-control-allow-headers"].lower()
        simple = client.get("/server/ping", headers={"Origin": "https://admin.example"})
        assert simple.headers["access-control-allow-origin"] == "https://admin.example"
        assert simple.headers["access-control-expose-headers"] == "Content-Range, X-Request-Id"
        other = client.get("/server/ping", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        assert "access-control-allow-origin" not in preflight(client, "https://evil.example").headers
        put = preflight(client, "https://app.example", "PUT")  # a method CORS_METHODS does not list
        assert put.status_code == 400 and "PUT" not in put.headers.get("access-control-allow-methods", "")


@pytest.mark.parametrize(("origin", "asked", "allowed"), [
    ("true", "https://anything.example", True),
    ("false", "https://anything.example", False),
    ("regex:https://.*\\.trusted\\.example", "https://a.trusted.example", True),
    ("regex:https://.*\\.trusted\\.example", "https://trusted.example.evil", False),
    ("array:https://one.example", "https://one.example", True),
])
def test_cors_origin_as_directus_reads_it(host: HostFactory, origin: str, asked: str, allowed: bool) -> None:
    with host(cors_enabled=True, cors_origin=origin) as client:
        answer = client.get("/server/ping", headers={"Origin": asked})
        assert answer.headers.get("access-control-allow-origin") == (asked if allowed else None)


def test_cors_off_by_default(client: TestClient) -> None:
    answer = preflight(client, "https://app.example")
    assert "access-control-allow-origin" not in answer.headers
    assert answer.status_code == 204 and "PATCH" in answer.headers["allow"]  # a plain OPTIONS


# -- rate limiter (in memory; Redis: tests/cluster/test_http_processes.py) ---------------


def test_rate_limiter_in_memory(host: HostFactory) -> None:
    with host(rate_limiter_enabled=True, rate_limiter_points=3, rate_limiter_duration=3600) as client:
        assert [client.get("/server/info").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/server/info")
        assert refused.status_code == 429 and code(refused) == "REQUESTS_EXCEEDED"
        assert 3500 <= int(refused.headers["retry-after"]) <= 3600
        assert "x-request-id" in refused.headers
        assert client.post("/items/x", json={}, headers=ADMIN).status_code == 429  # every route shares it
        assert client.get("/server/ping").text == "pong"  # as in Directus, ping answers before the limiter
    with host(rate_limiter_enabled=False) as client:
        assert {client.get("/server/info").status_code for _ in range(60)} == {200}


# -- /server ----------------------------------------------------------------------------


def test_server_ping_info_and_health(client: TestClient) -> None:
    ping = client.get("/server/ping")
    assert ping.text == "pong" and ping.headers["content-type"].startswith("text/plain")
    public = client.get("/server/info").json()["data"]
    assert public == {"project": {"project_name": "exthost", "project_descriptor": None, "default_language": "en-US"}}
    admin = client.get("/server/info", headers=ADMIN).json()["data"]
    assert admin["rateLimit"] is False and admin["queryLimit"] == {"default": 100, "max": -1}
    assert isinstance(admin["version"], str)
    health = client.get("/server/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert health.headers["content-type"] == "application/health+json"
    detail = client.get("/server/health", headers=ADMIN).json()
    assert detail["status"] == "ok" and {"releaseId", "serviceId"} <= set(detail)
    [check] = detail["checks"]["sqlite:responseTime"]
    assert check["status"] in ("ok", "warn") and check["componentType"] == "datastore"
    assert check["observedUnit"] == "ms" and check["observedValue"] >= 0 and check["threshold"] == 150


def test_health_gzip_never_hides_the_status(client: TestClient) -> None:
    assert gzip.decompress(gzip.compress(b"x")) == b"x"  # (sanity of the module the test decodes with)
    assert client.get("/server/health", headers={"Accept-Encoding": "gzip"}).json() == {"status": "ok"}
