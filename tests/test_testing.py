"""host.testing: an endpoint, a hook and an operation called by name, `request` answered by the test's fake."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from host.errors import FilterRejected
from host.paths import PROJECT_ROOT
from host.testing import load_extension
from tests.support import TEST_CACHE


def write(folder: Path, kind: str, source: str, scopes: Mapping[str, object]) -> Path:
    folder.mkdir(parents=True)
    (folder / "src").mkdir()
    (folder / "src" / "index.js").write_text(source, encoding="utf-8")
    extension: dict[str, object] = {
        "type": kind, "path": "dist/index.js", "source": "src/index.js", "host": "^11.0.0",
        "sandbox": {"enabled": True, "requestedScopes": {"log": {}, **scopes}},
    }
    if kind == "operation":
        extension["path"] = {"app": "dist/app.js", "api": "dist/index.js"}
        extension["source"] = {"app": "src/app.js", "api": "src/index.js"}
        (folder / "src" / "app.js").write_text("export default { id: 'ping-op', name: 'Ping' };\n")
    manifest = {"name": folder.name, "version": "0.1.0", "directus:extension": extension}
    (folder / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


GITHUB = {"request": {"urls": ["https://api.github.com/*"], "methods": ["GET"]}}

ENDPOINT = """import { request } from 'directus:api';
export default (router) => {
  router.get('/repos/:name', async (req) => {
    try {
      const r = await request(`https://api.github.com/repos/${req.params.name}?page=${req.query.page}`, {
        headers: { 'X-Trace': req.headers['x-trace'] ?? '' } });
      return { status: 200, body: { upstream: r.status, stars: r.data.stars } };
    } catch (error) {
      return { status: 502, body: { error: error.message } };
    }
  });
  router.get('/elsewhere', async () => {
    try { await request('https://example.com/'); return { status: 200, body: 'sent' }; }
    catch (error) { return { status: 502, body: { error: error.message } }; }
  });
};
"""

HOOK = """import { request } from 'directus:api';
export default ({ filter, action }) => {
  filter('items.create', async (payload) => {
    if (!payload.title) throw new Error('a title is required');
    const r = await request('https://api.github.com/check');
    return { ...payload, checked: r.data.ok };
  });
  action('items.create', async (meta) => { await request(`https://api.github.com/seen/${meta.key}`); });
};
"""

OPERATION = """import { request } from 'directus:api';
export default {
  id: 'ping-op',
  handler: async (options, { data }) => {
    const r = await request(`https://api.github.com/users/${options.user}`);
    return { login: r.data.login, previous: data.$last ?? null };
  },
};
"""


def test_endpoint_with_fake_request(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def github(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"stars": 42})

    folder = write(tmp_path / "repos", "endpoint", ENDPOINT, GITHUB)
    with load_extension(folder, tmp_path, request=github, extensions_cache_path=TEST_CACHE) as ext:
        answer = ext.get("/repos/directus", query={"page": "2"}, headers={"X-Trace": "t1"})
        assert answer.status == 200
        assert answer.body == {"upstream": 200, "stars": 42}
        assert answer.headers["content-type"] == "application/json"
        assert str(seen[0].url) == "https://api.github.com/repos/directus?page=2"
        assert seen[0].headers["x-trace"] == "t1"

        # outside the extension's request scope: refused before the fake is asked
        refused = ext.get("/elsewhere")
        assert refused.status == 502
        assert 'No permission to access "https://example.com/"' in refused.body["error"]
        assert len(seen) == 1

        missing = ext.get("/nothing")
        assert missing.status == 404
        assert missing.body["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"
        wrong = ext.post("/repos/directus")
        assert wrong.status == 405
        assert wrong.headers["Allow"] == "GET"


def test_hook_with_fake_request(tmp_path: Path) -> None:
    urls: list[str] = []

    def github(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, json={"ok": True})

    folder = write(tmp_path / "checker", "hook", HOOK, GITHUB)
    with load_extension(folder, tmp_path, request=github, extensions_cache_path=TEST_CACHE) as ext:
        assert ext.filter("items.create", {"title": "x"}, {"collection": "articles"}) == {"title": "x", "checked": True}
        with pytest.raises(FilterRejected, match="a title is required"):
            ext.filter("items.create", {})
        ext.action("items.create", {"key": 7, "collection": "articles"})
        assert urls == ["https://api.github.com/check", "https://api.github.com/seen/7"]
        with pytest.raises(LookupError, match=r"no filter for .items\.update."):
            ext.filter("items.update", {})


def test_operation_with_fake_request(tmp_path: Path) -> None:
    def github(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"login": request.url.path.rsplit("/", 1)[-1]})

    folder = write(tmp_path / "pinger", "operation", OPERATION, GITHUB)
    with load_extension(folder, tmp_path, request=github, extensions_cache_path=TEST_CACHE) as ext:
        assert ext.operation({"user": "ada"}, data={"$last": 1}) == {"login": "ada", "previous": 1}


def test_usable_inside_a_running_event_loop(tmp_path: Path) -> None:
    folder = write(tmp_path / "pinger", "operation", OPERATION, GITHUB)

    def bob(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"login": "bob"})

    async def main() -> object:
        with load_extension(folder, tmp_path, request=bob, extensions_cache_path=TEST_CACHE) as ext:
            return ext.operation({"user": "x"})

    assert asyncio.run(main()) == {"login": "bob", "previous": None}


NODE_TEST = """import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadExtension } from '%(helper)s';

test('endpoint, with a fake request', async () => {
  const seen = [];
  const ext = await loadExtension('%(endpoint)s', {
    request: async (req) => { seen.push(req); return { status: 200, body: { stars: 7 } }; },
  });
  try {
    const answer = await ext.get('/repos/exthost', { query: { page: '1' }, headers: { 'X-Trace': 'n1' } });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { upstream: 200, stars: 7 });
    assert.equal(seen[0].url, 'https://api.github.com/repos/exthost?page=1');
    assert.equal(seen[0].headers['x-trace'], 'n1');
    assert.equal((await ext.get('/nothing')).status, 404);
  } finally {
    await ext.close();
  }
});

test('hook and operation', async () => {
  const hook = await loadExtension('%(hook)s', { request: () => ({ status: 200, body: { ok: 'yes' } }) });
  try {
    assert.deepEqual(await hook.filter('items.create', { title: 't' }), { title: 't', checked: 'yes' });
    await assert.rejects(hook.filter('items.create', {}), /a title is required/);
  } finally {
    await hook.close();
  }
  const op = await loadExtension('%(operation)s', { request: (req) => ({ status: 200, body: { login: 'cy' } }) });
  try {
    assert.deepEqual(await op.operation({ user: 'cy' }, { $last: 2 }), { login: 'cy', previous: 2 });
  } finally {
    await op.close();
  }
});
"""


def test_js_helper_under_node_test(tmp_path: Path) -> None:
    folders = {
        "endpoint": write(tmp_path / "repos", "endpoint", ENDPOINT, GITHUB),
        "hook": write(tmp_path / "checker", "hook", HOOK, GITHUB),
        "operation": write(tmp_path / "pinger", "operation", OPERATION, GITHUB),
    }
    script = tmp_path / "extension.test.mjs"
    helper = PROJECT_ROOT / "sdk" / "js" / "testing.mjs"
    script.write_text(NODE_TEST % {"helper": helper.as_uri(), **{k: str(v) for k, v in folders.items()}})
    env = {**os.environ, "EXTHOST_PYTHON": sys.executable, "EXTENSIONS_CACHE_PATH": str(TEST_CACHE),
           "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run(["node", "--test", str(script)], capture_output=True, text=True, timeout=300, env=env,
                         check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# pass 2" in run.stdout
