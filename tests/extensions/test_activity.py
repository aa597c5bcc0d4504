"""What an extension did: log lines with levels, errors with the author's file and line, call
counts and timing; stored in the database, so any process (and a restarted one) reads them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from host.extensions.build import build_extension
from host.extensions.manifest import read_manifest
from tests.storage.databases import fresh_postgres_schema
from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

SOURCE = """import { log } from 'directus:api';

function explode(what) {
  // the author's line 5 throws
  throw new Error(`boom ${what}`);
}

export default (router) => {
  router.get('/ok', () => ({ status: 200, body: 'fine' }));
  router.get('/', () => {
    console.warn('careful');
    console.error('bad thing');
    log('plain');
    explode('here');
  });
};
"""

PYTHON = '''from directus_api import endpoint

router = endpoint("py-trace")


def helper():
    raise ValueError("python boom")


@router.get("/")
def index(req):
    return helper()
'''


def built_js(root: Path) -> Path:
    folder = root / "trace-ext"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "index.js").write_text(SOURCE)
    manifest = {"name": "trace-ext", "version": "1.0.0", "directus:extension": {
        "type": "endpoint", "path": "dist/index.js", "source": "src/index.js", "host": "^11.0.0",
        "sandbox": {"enabled": True, "requestedScopes": {"log": {}}}}}
    (folder / "package.json").write_text(json.dumps(manifest))
    build_extension(folder, read_manifest(folder))
    return folder


def test_levels_stack_and_metrics(extensions_dir: Path, host: HostFactory) -> None:
    built_js(extensions_dir)
    with host() as client:
        for _ in range(3):
            assert client.get("/trace-ext/ok").text == "fine"
        failed = client.get("/trace-ext")
        assert failed.status_code == 500
        assert "stack" not in failed.text and "src/index.js" not in failed.text  # never sent to a client
        lines = client.get("/extensions/trace-ext/logs", headers=ADMIN).json()["data"]
        assert [(line["level"], line["message"]) for line in lines] == [
            ("warn", "careful"), ("error", "bad thing"), ("info", "plain"), ("error", "boom here")]
        stack = lines[-1]["stack"]
        assert stack.splitlines()[0] == "explode@src/index.js:5:9"  # the author's file and line, not dist's
        assert "src/index.js:14:" in stack.splitlines()[1]
        assert "runtime.bundle.js" not in stack
        assert set(lines[0]) == {"at", "level", "message", "stack", "process"}
        errors = client.get("/extensions/trace-ext/logs", params={"level": "error", "limit": 1}, headers=ADMIN)
        assert [line["message"] for line in errors.json()["data"]] == ["boom here"]
        assert client.get("/extensions/trace-ext/logs", params={"level": "loud"}, headers=ADMIN).status_code == 400
        assert client.get("/extensions/trace-ext/logs", params={"limit": 0}, headers=ADMIN).status_code == 400
        detail = client.get("/extensions/trace-ext", headers=ADMIN).json()["data"]
        metrics = detail["metrics"]
        assert (metrics["calls"], metrics["errors"], metrics["faults"]) == (4, 1, 0)
        assert 0 < metrics["p50_ms"] <= metrics["p99_ms"]
        assert [line["message"] for line in detail["recent_errors"]] == ["bad thing", "boom here"]
        assert client.get("/extensions/trace-ext/logs").status_code == 401
        assert client.get("/extensions/nope/logs", headers=ADMIN).status_code == 404
    with host() as client:  # stored in the database: another (here, a restarted) process reads them
        assert client.get("/extensions/trace-ext", headers=ADMIN).json()["data"]["metrics"]["calls"] == 4
        assert len(client.get("/extensions/trace-ext/logs", headers=ADMIN).json()["data"]) == 4


def test_python_error_carries_its_traceback(extensions_dir: Path, host: HostFactory) -> None:
    write_extension(extensions_dir, "py-trace", "endpoint", PYTHON, filename="index.py")
    with host() as client:
        assert client.get("/py-trace").status_code == 500
        stack = client.get("/extensions/py-trace/logs", headers=ADMIN).json()["data"][-1]["stack"]
    assert 'File "index.py", line 12, in index' in stack
    assert 'File "index.py", line 7, in helper' in stack
    assert stack.endswith("ValueError: python boom")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_log_is_a_bounded_ring(tmp_path: Path, backend: str) -> None:
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'ring.db'}"
        if backend == "postgresql":
            url = stack.enter_context(fresh_postgres_schema())
        ring(url)


def ring(url: str) -> None:
    import anyio

    from host.extensions.activity import LOG_RING, Activity
    from host.storage import Database

    database = Database(url)
    database.migrate()
    activity = Activity(database)

    async def scenario() -> list[dict[str, object]]:
        for index in range(LOG_RING + 50):
            activity.log("ringed", "info", f"line {index}")
            if index % 60 == 0:
                await activity.flush()
        activity.log("other", "warn", "kept")
        return await activity.lines("ringed")

    try:
        lines = anyio.run(scenario)
        assert len(lines) == LOG_RING
        assert lines[0]["message"] == "line 50" and lines[-1]["message"] == f"line {LOG_RING + 49}"
        assert [line["message"] for line in anyio.run(activity.lines, "other")] == ["kept"]
        activity.call("ringed", 3.0)
        activity.call("ringed", 40.0, error=True)
        metrics = anyio.run(activity.metrics, "ringed")
        assert (metrics["calls"], metrics["errors"], metrics["faults"]) == (2, 1, 0)
        assert 3.0 <= metrics["p50_ms"] <= 3.75 and 40.0 <= metrics["p99_ms"] <= 50.0  # buckets 25% wide
    finally:
        database.close()
