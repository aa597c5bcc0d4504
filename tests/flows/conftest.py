"""One real host per test module (flows are isolated by their ids), with real
operation extensions, a local SMTP server and a local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.flows.servers import EchoServer, SMTPSink
from tests.support import ADMIN, make_settings, running_host, write_extension

CUSTOM_OPERATION = """
import { log } from 'directus:api';
export default {
  id: 'greet-op',
  handler: (options, { data, accountability }) => {
    if (options.fail) throw new Error('greet-op refused: ' + options.fail);
    log('greeting ' + options.name);
    return { greeting: `Hello, ${options.name}!`, seen: data.$trigger, admin: accountability ? accountability.admin : null };
  },
};
"""

CRASHING_OPERATION = """
export default {
  id: 'crash-op',
  handler: (options) => {
    if (options.mode === 'loop') { while (true) {} }
    if (options.mode === 'memory') { let s = 'xxxxxxxx'; while (true) s = s + s; }
    return { fine: true };
  },
};
"""


def write_operations(root: Path) -> None:
    write_extension(root, "greet-op", "operation", CUSTOM_OPERATION, scopes={"log": {}})
    write_extension(root, "crash-op", "operation", CRASHING_OPERATION)
    example = Path(__file__).resolve().parents[2] / "extensions" / "log-operation" / "dist" / "api.js"
    write_extension(root, "log-operation", "operation", example.read_text(), scopes={"log": {}})


class Api:
    """The admin's REST client, with the Directus build sequence for flows."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        response = self.client.post(path, json=body, headers=ADMIN, **kw)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def patch(self, path: str, body: Any) -> Any:
        response = self.client.patch(path, json=body, headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def build(
        self,
        flow: dict[str, Any],
        operations: list[dict[str, Any]],
        links: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
        entry: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        """As the Directus docs build a flow: create the flow, create its operations with
        null links, link them by id, set the entry point. Returns (flow id, {key: op id})."""
        flow_id = self.post("/flows", flow)["id"]
        ids: dict[str, str] = {}
        for index, op in enumerate(operations):
            created = self.post(
                "/operations",
                {"position_x": 19 + 18 * index, "position_y": 1, **op, "flow": flow_id, "resolve": None, "reject": None},
            )
            ids[op["key"]] = created["id"]
        for source, link, target in links:
            self.patch(f"/operations/{ids[source]}", {link: ids[target]})
        if entry or operations:
            self.patch(f"/flows/{flow_id}", {"operation": ids[entry or operations[0]["key"]]})
        return flow_id, ids

    def runs(self, flow_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/flows/{flow_id}/runs"))




@pytest.fixture(scope="module")
def smtp() -> Iterator[SMTPSink]:
    with SMTPSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def echo() -> Iterator[EchoServer]:
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="module")
def flows_host(tmp_path_factory: pytest.TempPathFactory, smtp: SMTPSink) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("flows")
    extensions = tmp / "extensions"
    extensions.mkdir()
    write_operations(extensions)
    settings = make_settings(
        tmp,
        extensions,
        email_smtp_host="127.0.0.1",
        email_smtp_port=smtp.port,
        email_from="flows@example.com",
        flows_env_allow_list=["FLOWS_TEST_SECRET", "FLOWS_TEST_PUBLIC"],
        flows_run_script_timeout=300,
        flows_webhook_cache_ttl=60,
        extensions_sandbox_timeout=300,
        import_ip_deny_list="192.0.2.1",
        user_tokens="editor-token:ed:editor",
    )
    with running_host(settings) as client:
        yield client


@pytest.fixture
def api(flows_host: TestClient) -> Api:
    return Api(flows_host)
