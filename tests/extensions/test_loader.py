"""Every kind of broken extension folder is reported by name while the rest load."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]
GOOD = "export default (router) => router.get('/', () => ({ status: 200, body: 'still here' }));"


def broken_folders(root: Path) -> dict[str, str]:
    """name -> a fragment the reported error must contain."""
    (root / "bad-json").mkdir()
    (root / "bad-json" / "package.json").write_text("{ not json")
    (root / "no-manifest").mkdir()
    (root / "no-extension").mkdir()
    (root / "no-extension" / "package.json").write_text(json.dumps({"name": "no-extension"}))
    write_extension(root, "unknown-type", "widget", GOOD)
    write_extension(root, "not-sandboxed", "endpoint", GOOD, sandbox=False)
    write_extension(root, "missing-file", "endpoint", GOOD)
    (root / "missing-file" / "dist" / "index.js").unlink()
    write_extension(root, "invalid-wasm", "endpoint", b"\0asm\x0d\x00\x01\x00garbage", filename="index.wasm")
    write_extension(root, "not-wasm", "endpoint", b"\x7fELF-not-wasm", filename="index.wasm")
    write_extension(root, "syntax-error", "endpoint", "export default (router => {")
    write_extension(root, "throws", "endpoint", "export default () => { throw new Error('register blew up'); };")
    write_extension(root, "loops", "endpoint", "export default () => { while (true) {} };")
    write_extension(root, "bad-import", "endpoint", "import fs from 'node:fs'; export default () => {};")
    write_extension(root, "no-routes", "endpoint", "export default () => {};")
    write_extension(root, "wrong-shape", "operation", "export default (router) => {};")
    write_extension(root, "unknown-scope", "endpoint", GOOD, scopes={"filesystem": {}})
    return {
        "bad-json": "not valid JSON",
        "no-manifest": "no package.json",
        "no-extension": '"directus:extension"',
        "unknown-type": "type",
        "not-sandboxed": "this host runs only",
        "missing-file": "does not exist",
        "invalid-wasm": "not a valid component",
        "not-wasm": "neither .js, .py nor WebAssembly",
        "syntax-error": "does not parse",
        "throws": "register blew up",
        "loops": "time limit",
        "bad-import": 'Cannot import "node:fs"',
        "no-routes": "registered no routes",
        "wrong-shape": "operation must export default { id, handler }",
        "unknown-scope": "filesystem",
    }


def test_broken_extensions_are_reported_and_the_rest_load(extensions_dir: Path, host: HostFactory) -> None:
    expected = broken_folders(extensions_dir)
    write_extension(extensions_dir, "good", "endpoint", GOOD)
    with host(extensions_register_timeout=500) as client:
        assert client.get("/good").text == "still here"
        listed = {e["name"]: e for e in client.get("/extensions", headers=ADMIN).json()["data"]}
    assert listed["good"]["status"] == "ready"
    for name, fragment in expected.items():
        assert name in listed, f"{name} not reported"
        assert listed[name]["status"] == "error", name
        assert fragment in listed[name]["error"], (name, listed[name]["error"])


def test_missing_extensions_folder_still_serves(tmp_path: Path, host: HostFactory) -> None:
    with host(extensions_path=tmp_path / "does-not-exist") as client:
        assert client.get("/server/health").status_code == 200
        assert client.get("/extensions", headers=ADMIN).json() == {"data": []}
