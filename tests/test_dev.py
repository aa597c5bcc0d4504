"""`exthost dev DIR`: serves the extension, rebuilds and reloads it on save, prints mapped stacks."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from host.cli import app
from host.paths import PROJECT_ROOT
from host.testing import load_extension
from tests.cluster.processes import free_port
from tests.support import TEST_CACHE, wait_for

THROWING = """export default (router) => {
  router.get('/hello/:name', (req) => ({ status: 200, body: { hi: req.params.name } }));
  router.get('/boom', () => {
    throw new Error('boom for the author');
  });
};
"""


def test_dev_rebuilds_and_reloads_on_save_and_maps_stacks(tmp_path: Path) -> None:
    folder = tmp_path / "greeter"
    assert CliRunner().invoke(app, ["new", "endpoint", "js", str(folder)]).exit_code == 0
    port = free_port()
    log_path = tmp_path / "dev.log"
    env = {**os.environ, "EXTENSIONS_CACHE_PATH": str(TEST_CACHE), "LOG_STYLE": "pretty"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "dev", str(folder), "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/greeter"

    def log_text() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    def answer(path: str) -> httpx.Response | None:
        if process.poll() is not None:
            raise AssertionError(f"exthost dev exited with {process.returncode}:\n{log_text()[-4000:]}")
        try:
            return httpx.get(url + path, timeout=30)
        except httpx.HTTPError:
            return None

    try:
        first = wait_for(lambda: answer("/hello/ada"), "exthost dev to serve the extension", timeout=120)
        assert first is not None and first.json() == {"hello": "ada"}

        (folder / "src" / "index.js").write_text(THROWING, encoding="utf-8")

        def changed() -> bool:
            response = answer("/hello/ada")
            return response is not None and response.status_code == 200 and response.json() == {"hi": "ada"}

        wait_for(changed, "the edited source to be served", timeout=120)
        wait_for(lambda: "exthost dev: greeter reloaded" in log_text(), "the reload to be reported", timeout=60)

        failed = answer("/boom")
        assert failed is not None and failed.status_code == 500
        # the throw is on line 4 of the author's file
        wait_for(lambda: "src/index.js:4:" in log_text(), "the mapped stack in the log", timeout=60)
        assert "boom for the author" in log_text()

        # a build error is printed, and the last good version keeps serving
        (folder / "src" / "index.js").write_text("export default (router => {\n", encoding="utf-8")
        wait_for(lambda: "build failed" in log_text(), "the build error", timeout=120)
        still = answer("/hello/bob")
        assert still is not None and still.json() == {"hi": "bob"}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


PY_THROWING = """from directus_api import EndpointRequest, EndpointResponse, router


@router.get("/hello/:name")
def hello(req: EndpointRequest) -> EndpointResponse:
    raise ValueError("python boom for the author")
"""


def test_a_python_error_is_logged_with_the_authors_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "pygreeter"
    assert CliRunner().invoke(app, ["new", "endpoint", "python", str(folder)]).exit_code == 0
    (folder / "src" / "index.py").write_text(PY_THROWING, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="exthost.extensions")
    with load_extension(folder, tmp_path, extensions_cache_path=TEST_CACHE) as ext:
        failed = ext.get("/hello/ada")
    assert failed.status == 500
    assert failed.body["errors"][0]["message"] == "python boom for the author"
    logged = "\n".join(r.getMessage() for r in caplog.records if "threw" in r.getMessage())
    assert 'File "src/index.py", line 6, in hello' in logged
