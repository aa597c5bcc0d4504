"""Test support: write real extension folders and run a real host over them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from host.app import create_app
from host.config import Settings
from host.paths import PROJECT_ROOT

TEST_CACHE = PROJECT_ROOT / "data" / "test-cache"
"""Compiled code shared by every test run (the JS runtime compiles once, ~6 s)."""

T = TypeVar("T")

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def write_extension(
    root: Path,
    name: str,
    kind: str,
    source: str | bytes,
    *,
    scopes: dict[str, Any] | None = None,
    filename: str = "index.js",
    sandbox: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """An extension folder `root/name` whose api entry is `dist/<filename>` holding `source`."""
    folder = root / name
    (folder / "dist").mkdir(parents=True, exist_ok=True)
    artifact = folder / "dist" / filename
    if isinstance(source, bytes):
        artifact.write_bytes(source)
    else:
        artifact.write_text(source, encoding="utf-8")
    path: Any = f"dist/{filename}"
    if kind == "operation":
        path = {"app": "dist/app.js", "api": f"dist/{filename}"}
    spec: dict[str, Any] = {
        "type": kind,
        "path": path,
        "host": "^11.0.0",
        "sandbox": {"enabled": sandbox, "requestedScopes": scopes or {}},
        **(extra or {}),
    }
    (folder / "package.json").write_text(
        json.dumps({"name": name, "version": "1.0.0", "directus:extension": spec}), encoding="utf-8"
    )
    return folder


def make_settings(tmp_path: Path, extensions: Path | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "extensions_path": extensions or tmp_path / "extensions",
        "data_path": tmp_path / "data",
        "extensions_cache_path": TEST_CACHE,
        "admin_token": ADMIN_TOKEN,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@contextmanager
def running_host(settings: Settings) -> Iterator[TestClient]:
    """A real host (lifespan included) over `settings`, as a TestClient."""
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def wait_for(check: Callable[[], T], what: str = "the condition", timeout: float = 60.0) -> T:
    """Poll `check` until it returns something truthy: a generous deadline, never a measurement."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
