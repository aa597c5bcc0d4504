"""The official `@directus/sdk`, driven against a real host.

- `target`: a real `exthost serve` process (SQLite), started once for the package; and, when
  `COMPAT_DIRECTUS_URL` and `COMPAT_DIRECTUS_TOKEN` name a running Directus 11 (an
  administrator's static token), that Directus too: every test then runs against both, with
  the same assertions (how the answers were compared: docs/directus-compatibility.md).
- `sdk(command, *args, search=False)`: one call of the SDK (`tests/compat/sdk/call.mjs`, a
  node process) against the target, with the token as the SDK's static token.
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
from tests.support import ADMIN_TOKEN

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


@pytest.fixture(scope="package")
def exthost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    root = tmp_path_factory.mktemp("compat")
    host = start_host(host_env(root))
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


def run_sdk(target: Target, command: str, *args: Any, search: bool = False) -> Result:
    request = {"url": target.url, "token": target.token, "command": command, "args": list(args), "search": search}
    done = subprocess.run(
        ["node", str(CALL)], input=json.dumps(request), capture_output=True, text=True, cwd=SDK_DIR, timeout=120
    )
    assert done.stdout, f"call.mjs printed nothing (exit {done.returncode}): {done.stderr[-2000:]}"
    out = json.loads(done.stdout)
    return Result(out.get("data"), out.get("error"), out.get("status"), out.get("method"), out.get("path"))


@pytest.fixture
def sdk(target: Target) -> Sdk:
    def call(command: str, *args: Any, search: bool = False) -> Result:
        return run_sdk(target, command, *args, search=search)

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
