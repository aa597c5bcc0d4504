"""Sandboxed extensions published for Directus on the npm registry, run unchanged.

The fixtures in `published/` are the packages as `npm pack` gave them (README there):
their `package.json` and `dist/` are loaded as they are, and each is driven through a
real flow, the way a Directus user would use it. What their capabilities reach is
answered by a local HTTP server (`EchoServer`) or refused at the host's own network
seam (`netguard.resolve`). The expected outputs are what Node gives for the same calls.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.capabilities import netguard
from host.extensions.manifest import read_manifest
from tests.flows.conftest import Api
from tests.support import ADMIN, make_settings, running_host

PUBLISHED = Path(__file__).parent / "published"
FIXTURES = ("phone-parser", "liquidjs-operation", "ai-writer-operation")
DENIED = "192.0.2.1"


@dataclass
class TemplateServer:
    """Answers `GET /items/<collection>/<id>` as Directus does, and keeps what it was sent."""

    items: dict[str, dict[str, Any]]
    seen: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> TemplateServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                item = outer.items.get(self.path.removeprefix("/"))
                status, body = (200, {"data": item}) if item else (404, {"errors": [{"message": "not found"}]})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def templates() -> Iterator[TemplateServer]:
    items = {"items/templates/7": {"template": "Saved for {# name #}", "subject": "Hi {# name | upcase #}"}}
    with TemplateServer(items) as server:
        yield server


@pytest.fixture(scope="module")
def published_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("published")
    extensions = tmp / "extensions"
    for name in FIXTURES:
        shutil.copytree(PUBLISHED / name, extensions / name)
    settings = make_settings(
        tmp,
        extensions,
        import_ip_deny_list=DENIED,  # 127.0.0.1 (the template server) is reachable, DENIED is not
        extensions_register_timeout=120_000,  # a 200 kB bundle parsed by an interpreter, on a busy machine
        extensions_sandbox_timeout=30_000,
        extensions_sandbox_wall_timeout=60_000,
    )
    with running_host(settings) as client:
        yield client


@pytest.fixture
def api(published_host: TestClient) -> Api:
    return Api(published_host)


def run(api: Api, operation: str, options: dict[str, Any], body: Any = None) -> Any:
    """Trigger a webhook flow whose one operation is `operation`; the chain's `$all`."""
    flow_id, _ = api.build(
        {"name": operation, "trigger": "webhook", "options": {"method": "POST", "return": "$all"}},
        [{"key": "op", "type": operation, "options": options}],
    )
    response = api.client.post(f"/flows/trigger/{flow_id}", json=body or {})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_is_the_published_package_with_its_licence(name: str) -> None:
    folder = PUBLISHED / name
    manifest = read_manifest(folder)
    assert manifest.extension.sandbox is not None and manifest.extension.sandbox.enabled
    assert json.loads((folder / "package.json").read_text())["license"] == "MIT"
    assert (folder / "LICENSE").read_text().startswith("MIT License")
    assert (folder / manifest.extension.api_path).is_file()


def test_all_three_load_as_operations(published_host: TestClient) -> None:
    listed = published_host.get("/extensions", headers=ADMIN).json()["data"]
    by_name = {e["name"]: e for e in listed}
    for package in (
        "@ribertec/directus-extension-phone-parser",
        "@directus-labs/liquidjs-operation",
        "@directus-labs/ai-writer-operation",
    ):
        assert by_name[package]["status"] == "ready", by_name[package]


# --------------------------------------------------------------------------- phone parser


def test_phone_parser_parses_an_international_number(api: Api) -> None:
    chain = run(api, "phone-parser", {"phone": "{{ $trigger.body.phone }}"}, {"phone": "+55 (31) 98888-4444"})
    assert chain["op"] == {
        "success": True, "fullNumber": "+5531988884444", "type": "MOBILE", "country": "BR", "countryCode": "55",
        "rawNumber": "31988884444", "formattedNumber": "(31) 98888-4444",
        "internationalNumber": "+55 31 98888 4444", "valid": True,
    }  # fmt: skip


def test_phone_parser_uses_the_default_country(api: Api) -> None:
    chain = run(api, "phone-parser", {"phone": "(415) 555-2671", "defaultCountry": "US"})
    assert chain["op"]["fullNumber"] == "+14155552671"
    assert chain["op"]["type"] == "FIXED_LINE_OR_MOBILE"
    assert chain["op"]["internationalNumber"] == "+1 415 555 2671"


def test_phone_parser_reports_what_is_not_a_number(api: Api) -> None:
    assert run(api, "phone-parser", {"phone": "not a phone"})["op"] == {"success": False, "error": "NOT_A_NUMBER"}
    assert run(api, "phone-parser", {})["op"] == {"success": False, "error": "No phone number provided"}


# --------------------------------------------------------------------------- liquidjs (\p{L} regexes)

TEMPLATE = (
    'Hi {# name | capitalize #}! {# title | slugify #} {# title | slugify: "pretty" #} '
    '{% for i in items %}[{# i | times: 2 #}]{% endfor %} {# items | join: "," | append: "." #} {# "a" | append: "b" #}'
)


def test_liquid_renders_with_unicode_property_regexes(api: Api) -> None:
    """liquidjs's `slugify` is `/[^\\p{M}\\p{L}\\p{Nd}]+/gu`: the bundle did not load before the rewrite."""
    options = {
        "mode": "custom", "operationMode": "single", "publicUrl": "http://127.0.0.1/", "template": TEMPLATE,
        "data": {"name": "ada", "title": "Héllo Wörld, Ünïcode ✓ 2024!", "items": [1, 2, 3]},
    }  # fmt: skip
    assert run(api, "liquidjs-operation", options)["op"] == {
        "template": "Hi Ada! héllo-wörld-ünïcode-2024 héllo-wörld,-ünïcode-2024! [2][4][6] 1,2,3. ab"
    }


def test_liquid_batch_mode_keeps_the_return_fields(api: Api) -> None:
    options = {
        "mode": "custom", "operationMode": "batch", "publicUrl": "http://127.0.0.1/",
        "template": "{# n #}:{# n | upcase #}", "data": [{"id": 1, "n": "x"}, {"id": 2, "n": "ÿé"}],
        "dataReturnFields": ["id"],
    }  # fmt: skip
    assert run(api, "liquidjs-operation", options)["op"] == [
        {"id": 1, "template": "x:X"},
        {"id": 2, "template": "ÿé:ŸÉ"},
    ]


def test_liquid_saved_template_is_fetched_through_the_request_capability(api: Api, templates: TemplateServer) -> None:
    options = {
        "mode": "saved", "operationMode": "single", "collection": "templates", "item": {"key": 7},
        "fields": ["template", "subject"], "data": {"name": "Ada"}, "accessToken": "tok", "publicUrl": templates.url,
    }  # fmt: skip
    assert run(api, "liquidjs-operation", options)["op"] == {"template": "Saved for Ada", "subject": "Hi ADA"}
    assert templates.seen[-1] == {"path": "/items/templates/7", "authorization": "Bearer tok"}


def test_liquid_rejection_takes_the_reject_path(api: Api) -> None:
    flow_id, _ = api.build(
        {"name": "liquid fails", "trigger": "webhook", "options": {"method": "POST"}},
        [
            {"key": "op", "type": "liquidjs-operation",
             "options": {"mode": "custom", "operationMode": "single", "publicUrl": "http://x/", "data": {}}},
            {"key": "caught", "type": "transform", "options": {"json": {"error": "{{ op.message }}"}}},
        ],
        links=[("op", "reject", "caught")],
    )  # fmt: skip
    response = api.client.post(f"/flows/trigger/{flow_id}", json={})
    assert response.json() == {"error": "Template is required for custom mode"}


# --------------------------------------------------------------------------- AI writer (zod, request scope globs)


def test_ai_writer_validates_its_options(api: Api) -> None:
    flow_id, _ = api.build(
        {"name": "ai no key", "trigger": "webhook", "options": {"method": "POST"}},
        [
            {"key": "op", "type": "directus-labs-ai-writer-operation",
             "options": {"aiProvider": "openai", "model": "gpt-4o", "promptKey": "custom", "text": "hi"}},
            {"key": "caught", "type": "transform", "options": {"json": {"error": "{{ op.message }}"}}},
        ],
        links=[("op", "reject", "caught")],
    )  # fmt: skip
    response = api.client.post(f"/flows/trigger/{flow_id}", json={})
    assert response.json() == {"error": "Invalid payload. OpenAI API Key is missing."}


def test_ai_writer_request_is_admitted_by_its_v1_glob(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`https://api.openai.com/v1/**` admits the chat completions URL; the address it
    resolves to (here: a denied one, answered at the host's resolver seam) is what stops it."""
    asked: list[str] = []

    def resolve(host: str, port: int, timeout: float | None) -> list[str]:
        asked.append(f"{host}:{port}")
        return [DENIED]

    monkeypatch.setattr(netguard, "resolve", resolve)
    flow_id, _ = api.build(
        {"name": "ai request", "trigger": "webhook", "options": {"method": "POST"}},
        [
            {"key": "op", "type": "directus-labs-ai-writer-operation",
             "options": {"aiProvider": "openai", "apiKeyOpenAi": "sk", "model": "gpt-4o", "promptKey": "custom",
                         "text": "hi", "system": "x"}},
            {"key": "caught", "type": "transform", "options": {"json": {"error": "{{ op.message }}"}}},
        ],
        links=[("op", "reject", "caught")],
    )  # fmt: skip
    error = api.client.post(f"/flows/trigger/{flow_id}", json={}).json()["error"]
    assert asked == ["api.openai.com:443"]
    assert error == 'No permission to access "https://api.openai.com/v1/chat/completions": ' + (
        'host "api.openai.com" resolves to a denied address'
    )
