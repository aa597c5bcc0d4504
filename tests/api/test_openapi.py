"""The OpenAPI document tells the truth: every host route documents its parameters, body,
security and error responses; extension endpoints are listed from their registrations;
the documentation pages load nothing from elsewhere; and schemathesis, run against a real
`exthost serve` process, finds no failure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from host.api.openapi import DIRECTUS_QUERY, SPECS
from tests.cluster.processes import HostProcess, host_env, hosts, start_host
from tests.support import ADMIN, ADMIN_TOKEN, make_settings, running_host, write_extension

PROBE = """
export default (router) => {
  router.get('/', () => ({ status: 200, body: { hello: 'world' } }));
  router.get('/things/:id', (req) => ({ status: 200, body: { id: req.params.id } }));
  router.post('/things', (req) => ({ status: 201, body: { created: req.body ?? null } }));
};
"""
ERROR_STATUSES = ("400", "401", "403", "404", "413", "503")


def _document(tmp_path: Path) -> dict[str, Any]:
    extensions = tmp_path / "extensions"
    write_extension(extensions, "probe", "endpoint", PROBE)
    with running_host(make_settings(tmp_path, extensions)) as client:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document


def test_every_host_route_is_documented_from_the_table(tmp_path: Path) -> None:
    """A route added without an entry in `host.api.openapi.SPECS` fails here: its parameters and
    body would be missing from the document."""
    documented = {(method, path) for path, item in _document(tmp_path)["paths"].items() for method in item
                  if not path.startswith("/probe")}
    assert documented == set(SPECS)


def test_operations_document_query_parameters_bodies_security_and_errors(tmp_path: Path) -> None:
    document = _document(tmp_path)
    items = document["paths"]["/items/{collection}"]
    listed = {p["name"] for p in items["get"]["parameters"] if p["in"] == "query"}
    assert listed == set(DIRECTUS_QUERY) == {"fields", "filter", "search", "sort", "limit", "offset", "page", "meta",
                                              "aggregate", "groupBy", "deep"}
    assert items["post"]["requestBody"]["required"] is True
    assert items["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]["type"] == "array"
    assert items["get"]["security"] == [{"bearer": []}, {"access_token": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    for status in ERROR_STATUSES:
        error = items["post"]["responses"][status]["content"]["application/json"]["schema"]
        assert error["required"] == ["errors"]
        assert error["properties"]["errors"]["items"]["properties"]["extensions"]["required"] == ["code"]
    assert "422" not in items["post"]["responses"]  # FastAPI's own validation error shape is never answered
    assert "401" not in document["paths"]["/server/ping"]["get"]["responses"]
    assert document["paths"]["/server/ping"]["get"]["security"] == []
    health = document["paths"]["/server/health"]["get"]["responses"]
    assert "application/health+json" in health["200"]["content"] and "503" in health
    flows = document["paths"]["/flows"]["get"]
    assert "Admin only" in flows["description"] and "403" in flows["responses"]


def test_extension_endpoints_are_listed_from_their_registrations(tmp_path: Path) -> None:
    paths = _document(tmp_path)["paths"]
    assert set(paths["/probe"]) == {"get"}
    assert paths["/probe/things/{id}"]["get"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert "requestBody" in paths["/probe/things"]["post"]
    assert paths["/probe/things"]["post"]["tags"] == ["endpoint: probe"]


def test_extension_endpoints_follow_the_table_when_it_changes(tmp_path: Path) -> None:
    extensions = tmp_path / "extensions"
    write_extension(extensions, "probe", "endpoint", PROBE)
    with running_host(make_settings(tmp_path, extensions)) as client:
        assert "/probe/things" in client.get("/openapi.json").json()["paths"]
        app: Any = client.app
        table = app.state.endpoints
        app.state.endpoints = type(table)()  # what a reload without the extension leaves
        assert not any(path.startswith("/probe") for path in client.get("/openapi.json").json()["paths"])


def test_documentation_pages_load_only_the_hosts_own_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        html = response.text
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", html), f"{page} loads something from elsewhere"
        assets = re.findall(r"/docs/assets/[\w.-]+", html)
        assert assets
        for asset in assets:
            served = client.get(asset)
            assert served.status_code == 200 and len(served.content) > 1000, asset
    assert client.get("/docs/assets/../../pyproject.toml").status_code == 404
    assert client.get("/docs/assets/secret.txt").status_code == 404


# -- schemathesis against a real host ---------------------------------------------------


@pytest.fixture(scope="module")
def real_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    tmp_path = tmp_path_factory.mktemp("schemathesis")
    env = host_env(tmp_path, ITEMS_PERMISSIONS='{"editor": {"*": ["read"]}}', USER_TOKENS="editor-token-1:ed:editor")
    write_extension(Path(env["EXTENSIONS_PATH"]), "probe", "endpoint", PROBE)
    with hosts() as started:
        host = start_host(env)
        started.append(host)
        host.wait_ready()
        yield host


@pytest.fixture(scope="module")
def api_schema(real_host: HostProcess) -> Any:
    document = httpx.get(f"{real_host.url}/openapi.json", timeout=30).json()
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=real_host.url)
    return loaded


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, unsupported_method, negative_data_rejection]
EXAMPLES = 6
"""Examples per operation and mode: some 600 requests in all."""


def _fuzz(operation: Any, mode: GenerationMode, failures: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case: Case) -> None:
        case.call_and_validate(headers={**ADMIN, **(case.headers or {})}, checks=CHECKS)

    try:
        run()
    except Exception as exc:  # one operation's failure is reported with every other's
        failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")


def _negatable(raw: dict[str, Any]) -> bool:
    """An operation with a body or a typed query parameter has data that can break its schema
    (a path parameter that is any string cannot be broken)."""
    typed = [p for p in raw.get("parameters", []) if p["in"] == "query" and p["schema"].get("type") != "string"]
    bodies = raw.get("requestBody", {}).get("content", {}).values()
    return any(body["schema"] for body in bodies) or bool(typed)


@pytest.mark.timeout(900)  # some 600 requests on a shared machine; no bound on how long they take
def test_schemathesis_finds_no_failure(api_schema: Any) -> None:
    """Every operation, as the admin (so requests reach past authentication), in schemathesis's
    positive and negative modes: no 5xx; every status, content type, header and body as documented;
    405 with `Allow` for a method the path does not take; data breaking the schema refused with a 4xx."""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= len(SPECS)
    for operation in operations:
        _fuzz(operation, GenerationMode.POSITIVE, failures)
        if _negatable(operation.definition.raw):
            _fuzz(operation, GenerationMode.NEGATIVE, failures)
    assert not failures, "\n\n".join(failures)


def test_the_admin_token_used_above_is_the_hosts(real_host: HostProcess) -> None:
    response = httpx.get(f"{real_host.url}/extensions", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    assert response.status_code == 200


def test_search_routes_are_said_on_their_get_operation(tmp_path: Path) -> None:
    """OpenAPI 3.1 knows no SEARCH method: the document stays valid and the GET says it."""
    paths = _document(tmp_path)["paths"]
    for path in ("/items/{collection}", "/flows", "/operations"):
        assert "search" not in paths[path]
        assert "SEARCH" in paths[path]["get"]["description"], path
