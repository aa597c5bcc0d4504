"""The `exthost` command on real extension folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.cli import app
from tests.support import TEST_CACHE, write_extension

runner = CliRunner()


def test_validate_prints_registration_and_scopes(tmp_path: Path) -> None:
    folder = write_extension(
        tmp_path, "scoped", "endpoint", "export default (r) => { r.get('/a', () => ({status: 200})); r.post('/b', () => ({status: 201})); };",
        scopes={"log": {}, "request": {"urls": ["https://api.example.com/*"], "methods": ["GET"]}},
    )
    result = runner.invoke(app, ["validate", str(folder)], env={"EXTENSIONS_CACHE_PATH": str(TEST_CACHE)})
    assert result.exit_code == 0, result.output
    assert "scoped: valid endpoint (js); requested scopes: log, request" in result.output
    info = json.loads(result.output[: result.output.rindex("}") + 1])
    assert info["requested_scopes"]["request"] == {"urls": ["https://api.example.com/*"], "methods": ["GET"]}
    assert [(r["method"], r["path"]) for r in info["registered"]["routes"]] == [("GET", "/a"), ("POST", "/b")]


def test_validate_fails_on_a_broken_extension(tmp_path: Path) -> None:
    folder = write_extension(tmp_path, "unsandboxed", "endpoint", "export default () => {};", sandbox=False)
    result = runner.invoke(app, ["validate", str(folder)], env={"EXTENSIONS_CACHE_PATH": str(TEST_CACHE)})
    assert result.exit_code == 1
    assert "unsandboxed: invalid: not sandboxed" in result.output


def test_build_bundles_the_source(tmp_path: Path) -> None:
    folder = tmp_path / "bundled"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "helper.js").write_text("export const twice = (x) => x * 2;\n")
    (folder / "src" / "index.js").write_text(
        "import { log } from 'directus:api';\nimport { twice } from './helper.js';\n"
        "export default (r) => r.get('/', () => ({ status: 200, body: twice(21) }));\n"
    )
    (folder / "package.json").write_text(json.dumps({
        "name": "bundled", "directus:extension": {
            "type": "endpoint", "path": "dist/index.js", "source": "src/index.js", "sandbox": {"enabled": True}}}))
    result = runner.invoke(app, ["build", str(folder)])
    assert result.exit_code == 0, result.output
    built = (folder / "dist" / "index.js").read_text()
    assert "twice" in built and "./helper.js" not in built
    assert 'from "directus:api"' in built


def test_build_reports_a_syntax_error(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "index.js").write_text("export default (r => {\n")
    (folder / "package.json").write_text(json.dumps({
        "name": "broken", "directus:extension": {
            "type": "endpoint", "path": "dist/index.js", "source": "src/index.js", "sandbox": {"enabled": True}}}))
    result = runner.invoke(app, ["build", str(folder)])
    assert result.exit_code == 1
    assert "index.js" in result.output


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_serve_refuses_a_bad_worker_count_in_one_line(value: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--workers", value], env={"DATA_PATH": str(tmp_path / "data")})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"--workers must be a whole number of worker processes (1 or more), not {value!r}"
    ]
    assert not (tmp_path / "data").exists()  # refused before anything started
