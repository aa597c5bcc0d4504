"""The TypeScript declarations of sdk/js type-check real extensions, and a TS extension builds and runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from host.paths import SDK_PATH

HostFactory = Callable[..., AbstractContextManager[TestClient]]
TSC = SDK_PATH / "js" / "node_modules" / ".bin" / "tsc"

GOOD = """
import { log, request, sleep } from 'directus:api';
import type { SandboxEndpointRouter, SandboxOperationConfig, SandboxHookRegisterContext } from '@exthost/sdk';

export default (router: SandboxEndpointRouter) => {
  router.get('/:id', async (req) => {
    await sleep(1);
    const response = await request<{ n: number }>('https://api.example.com/x', { method: 'GET' });
    log(response.data.n, req.query);
    return { status: 200, body: { id: req.params.id } };
  });
};
export const operation: SandboxOperationConfig<{ text: string }> = { id: 'x', handler: ({ text }) => text.length };
export const hook = ({ filter, action }: SandboxHookRegisterContext) => {
  filter('items.create', (payload) => payload);
  action('items.create', (meta) => log(meta.event));
};
"""

BAD = """
import type { SandboxEndpointRouter } from '@exthost/sdk';
export default (router: SandboxEndpointRouter) => {
  router.get('/', () => ({ status: 'not a number' }));
};
"""


def typecheck(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ext.ts").write_text(source)
    (tmp_path / "tsconfig.json").write_text(json.dumps({
        "compilerOptions": {
            "strict": True, "noEmit": True, "module": "ESNext", "target": "ES2022", "moduleResolution": "Bundler",
            "baseUrl": ".", "paths": {"@exthost/sdk": [str(SDK_PATH / "js" / "index.d.ts")]},
            "types": [],
        },
        "files": ["ext.ts", str(SDK_PATH / "js" / "index.d.ts")],
    }))
    return subprocess.run([str(TSC), "-p", str(tmp_path)], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not TSC.exists(), reason="sdk/js is not installed (make install)")
def test_declarations_accept_a_correct_extension(tmp_path: Path) -> None:
    result = typecheck(tmp_path, GOOD)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not TSC.exists(), reason="sdk/js is not installed (make install)")
def test_declarations_reject_a_wrong_response(tmp_path: Path) -> None:
    result = typecheck(tmp_path, BAD)
    assert result.returncode != 0
    assert "Type 'string' is not assignable to type 'number'" in result.stdout


def test_typescript_extension_builds_and_runs(extensions_dir: Path, host: HostFactory) -> None:
    folder = extensions_dir / "typed"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "index.ts").write_text(
        "import { log } from 'directus:api';\n"
        "interface Greeting { text: string }\n"
        "const greet = (name: string): Greeting => ({ text: `hi ${name}` });\n"
        "export default (router: { get: Function }) => {\n"
        "  router.get('/:name', (req: { params: { name: string } }) => ({ status: 200, body: greet(req.params.name) }));\n"
        "};\n"
    )
    (folder / "package.json").write_text(json.dumps({
        "name": "typed", "version": "1.0.0",
        "directus:extension": {"type": "endpoint", "path": "dist/index.js", "source": "src/index.ts",
                               "sandbox": {"enabled": True, "requestedScopes": {"log": {}}}},
    }))
    exthost = shutil.which("exthost") or str(Path(__file__).parents[2] / ".venv" / "bin" / "exthost")
    built = subprocess.run([exthost, "build", str(folder)], capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, built.stderr
    assert "interface" not in (folder / "dist" / "index.js").read_text()
    with host() as client:
        assert client.get("/typed/ada").json() == {"text": "hi ada"}
