"""The official `@directus/sdk`, driven against a real host.

- `target`: a real `exthost serve` process (SQLite), started once for the package; and, when
  `COMPAT_DIRECTUS_URL` and `COMPAT_DIRECTUS_TOKEN` name a running Directus 11 (an
  administrator's static token), that Directus too: every test then runs against both, with
  the same assertions (how the answers were compared: docs/directus-compatibility.md).
- `sdk(command, *args, search=False)`: one call of the SDK against the target, with the
  token as the SDK's static token (`tests/compat/sdk/call.mjs`: one node process serves
  every call).
- `collection`: a fresh collection name (on Directus, the collection is created with the
  fields the tests use: `id` integer primary key, `title`, `status`, `n`).
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from tests.cluster.processes import HostProcess, host_env, start_host
from tests.support import ADMIN_TOKEN, write_extension

SDK_DIR = Path(__file__).parent / "sdk"
CALL = SDK_DIR / "call.mjs"


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    token: str

    @property
    def directus(self) -> bool:
        return self.name == "directus"

    def http(self) -> httpx.Client:
        """A plain HTTP client with the administrator's token (close it, or use `with`)."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@dataclass(frozen=True)
class Result:
    """What the SDK call gave: `data` (the SDK's return value) or `error`, and the HTTP exchange."""

    data: Any
    error: dict[str, Any] | None
    status: int | None
    method: str | None
    path: str | None

    @property
    def errors(self) -> list[dict[str, Any]]:
        assert self.error is not None, f"expected an error, the call returned {self.data!r}"
        errors: list[dict[str, Any]] = self.error.get("errors") or []
        return errors

    @property
    def code(self) -> str:
        return str(self.errors[0]["extensions"]["code"])

    def ok(self) -> Any:
        """The data, failing the test with the error when the call failed."""
        assert self.error is None, f"{self.method} {self.path} -> {self.status}: {self.error}"
        return self.data


class Sdk(Protocol):
    def __call__(self, command: str, *args: Any, search: bool = False) -> Result: ...


def _directus() -> Target | None:
    url, token = os.environ.get("COMPAT_DIRECTUS_URL"), os.environ.get("COMPAT_DIRECTUS_TOKEN")
    return Target("directus", url.rstrip("/"), token) if url and token else None


ECHO_ENDPOINT = """
export default (router) => {
  router.get('/', (req) => ({ status: 200, body: Object.keys(req).sort() }));
};
"""
USER_TOKEN = "compat-viewer-token"
"""A user who is not the administrator (role `viewer`, allowed to read items)."""


@pytest.fixture(scope="package")
def exthost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    """The host: SQLite, one user besides the administrator, an endpoint `compat-echo` that
    answers the names of the fields of the request it was given."""
    root = tmp_path_factory.mktemp("compat")
    write_extension(root / "extensions", "compat-echo", "endpoint", ECHO_ENDPOINT)
    env = host_env(root, USER_TOKENS=f"{USER_TOKEN}:viewer:viewer", ITEMS_PERMISSIONS='{"viewer": {"*": ["read"]}}')
    host = start_host(env)
    try:
        host.wait_ready()
        yield host
    finally:
        host.stop()


def _targets() -> list[str]:
    return ["exthost"] + (["directus"] if _directus() else [])


@pytest.fixture(scope="package", params=_targets())
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "directus":
        directus = _directus()
        assert directus is not None
        return directus
    host: HostProcess = request.getfixturevalue("exthost")
    return Target("exthost", host.url, ADMIN_TOKEN)


class SdkProcess:
    """One node process running `call.mjs`: a JSON request a line in, a JSON answer a line out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(CALL)], cwd=SDK_DIR, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    def call(self, target: Target, command: str, *args: Any, search: bool = False) -> Result:
        assert self.process.stdin is not None and self.process.stdout is not None
        request = {"url": target.url, "token": target.token, "command": command, "args": list(args), "search": search}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            stderr = self.process.stderr.read() if self.process.stderr else ""
            raise AssertionError(f"call.mjs ended without answering {command}: {stderr[-2000:]}")
        out = json.loads(line)
        return Result(out.get("data"), out.get("error"), out.get("status"), out.get("method"), out.get("path"))

    def close(self) -> None:
        try:
            self.process.communicate(timeout=30)  # closes stdin, reads and closes stdout and stderr
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


@pytest.fixture(scope="package")
def sdk_process() -> Iterator[SdkProcess]:
    process = SdkProcess()
    try:
        yield process
    finally:
        process.close()


@pytest.fixture
def sdk(target: Target, sdk_process: SdkProcess) -> Sdk:
    def call(command: str, *args: Any, search: bool = False) -> Result:
        return sdk_process.call(target, command, *args, search=search)

    return call


@pytest.fixture
def host_sdk(exthost: HostProcess, sdk_process: SdkProcess) -> Sdk:
    """`sdk` against the host only (for what Directus does not check: the host's stricter rules)."""
    host = Target("exthost", exthost.url, ADMIN_TOKEN)

    def call(command: str, *args: Any, search: bool = False) -> Result:
        return sdk_process.call(host, command, *args, search=search)

    return call


FIELDS = [
    {"field": "title", "type": "string"},
    {"field": "status", "type": "string"},
    {"field": "n", "type": "integer"},
]


@pytest.fixture
def collection(target: Target) -> Iterator[str]:
    name = f"c_{uuid.uuid4().hex[:10]}"
    if not target.directus:
        yield name  # schemaless: the first item creates it
        return
    body = {
        "collection": name,
        "schema": {},
        "meta": {},
        "fields": [
            {"field": "id", "type": "integer", "schema": {"is_primary_key": True, "has_auto_increment": True}},
            *FIELDS,
        ],
    }
    with target.http() as http:
        http.post("/collections", json=body).raise_for_status()
    try:
        yield name
    finally:
        with target.http() as http:
            http.delete(f"/collections/{name}")
