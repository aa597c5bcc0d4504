"""The TypeScript declarations of sdk/js type-check real extensions, and a TS extension builds and runs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from host.paths import PROJECT_ROOT, SDK_PATH

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


def write_ts_extension(folder: Path, source: str, tsconfig: bool = False) -> None:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "index.ts").write_text(source)
    (folder / "package.json").write_text(json.dumps({
        "name": folder.name, "version": "1.0.0",
        "directus:extension": {"type": "endpoint", "path": "dist/index.js", "source": "src/index.ts",
                               "sandbox": {"enabled": True, "requestedScopes": {"log": {}}}},
    }))
    if tsconfig:
        (folder / "tsconfig.json").write_text(json.dumps({"compilerOptions": {"strict": True}}))


AS_DIRECTUS_DOCS = """import { defineEndpoint } from '@directus/extensions-sdk';
import { log } from 'directus:api';
import type { SandboxEndpointRequest, SandboxEndpointResponse } from 'directus:api';

export default defineEndpoint((router) => {
  router.get('/:name', (req: SandboxEndpointRequest): SandboxEndpointResponse => {
    log('hello', req.params.name);
    return { status: 200, body: { hi: req.params.name } };
  });
});
"""

TYPE_ERROR = """import { defineEndpoint } from '@directus/extensions-sdk';

export default defineEndpoint((router) => {
  const count: number = 'three';
  router.get('/', () => ({ status: 200, body: { count } }));
});
"""


def exthost_build(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "host.cli", "build", str(folder)], capture_output=True, text=True,
                          timeout=300, check=False, cwd=PROJECT_ROOT)


@pytest.mark.skipif(not TSC.exists(), reason="sdk/js is not installed (make install)")
def test_directus_style_typescript_builds_and_runs(extensions_dir: Path, host: HostFactory) -> None:
    """`directus:api` types and `@directus/extensions-sdk`'s `defineEndpoint`, as Directus's docs write them."""
    write_ts_extension(extensions_dir / "docs-style", AS_DIRECTUS_DOCS, tsconfig=True)
    built = exthost_build(extensions_dir / "docs-style")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "extensions-sdk" not in (extensions_dir / "docs-style" / "dist" / "index.js").read_text().split("\n", 1)[1]
    with host() as client:
        assert client.get("/docs-style/ada").json() == {"hi": "ada"}


@pytest.mark.skipif(not TSC.exists(), reason="sdk/js is not installed (make install)")
@pytest.mark.parametrize("tsconfig", [False, True])
def test_a_type_error_fails_the_build_naming_its_line(tmp_path: Path, tsconfig: bool) -> None:
    folder = tmp_path / "wrong"
    write_ts_extension(folder, TYPE_ERROR, tsconfig)
    built = exthost_build(folder)
    assert built.returncode == 1
    assert "src/index.ts:4:9: error TS2322: Type 'string' is not assignable to type 'number'." in built.stderr
    assert not (folder / "dist" / "index.js").exists()
