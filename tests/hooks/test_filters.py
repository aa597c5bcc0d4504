"""Filter hooks: real JS extensions in the sandbox, on a real host."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.paths import PROJECT_ROOT
from tests.support import ADMIN, write_extension

Host = Callable[..., AbstractContextManager[TestClient]]


def hook(root: Path, name: str, body: str, **kwargs: Any) -> None:
    source = "import { log } from 'directus:api';\nexport default ({ filter, action }) => {\n" + body + "\n};\n"
    write_extension(root, name, "hook", source, scopes=kwargs.pop("scopes", {"log": {}}), **kwargs)


def error(response: Any) -> tuple[int, str, str]:
    body = response.json()["errors"][0]
    return response.status_code, body["extensions"]["code"], body["message"]


def test_a_filter_that_adds_a_field_is_stored(extensions_dir: Path, host: Host) -> None:
    hook(extensions_dir, "stamp", "filter('items.create', (payload) => ({ ...payload, stamped: true }));")
    with host() as client:
        created = client.post("/items/articles", json={"title": "t"}, headers=ADMIN)
        assert created.json() == {"data": {"id": 1, "title": "t", "stamped": True}}
        assert client.get("/items/articles/1", headers=ADMIN).json()["data"]["stamped"] is True


def test_a_filter_that_returns_nothing_keeps_the_payload(extensions_dir: Path, host: Host) -> None:
    hook(extensions_dir, "quiet", "filter('items.create', (payload) => { payload.ignored = 1; });")
    with host() as client:
        assert client.post("/items/a", json={"x": 1}, headers=ADMIN).json() == {"data": {"id": 1, "x": 1}}


def test_a_filter_that_throws_cancels_the_write(extensions_dir: Path, host: Host) -> None:
    hook(
        extensions_dir,
        "guard",
        """filter('items.create', (payload) => {
             if (!payload.title) throw new Error('A title is required');
             return payload;
           });""",
    )
    with host() as client:
        assert client.post("/items/articles", json={"title": "ok"}, headers=ADMIN).status_code == 200
        rejected = client.post("/items/articles", json={"body": "no title"}, headers=ADMIN)
        assert error(rejected) == (400, "INVALID_PAYLOAD", "A title is required")
        # a batch with one bad item writes none of them
        batch = client.post("/items/articles", json=[{"title": "fine"}, {"body": "bad"}], headers=ADMIN)
        assert error(batch)[0] == 400
        assert client.get("/items/articles", headers=ADMIN).json()["data"] == [{"id": 1, "title": "ok"}]
        # nothing at all was written for a collection that did not exist yet
        assert client.post("/items/fresh", json={}, headers=ADMIN).status_code == 400
        assert error(client.get("/items/fresh", headers=ADMIN))[0] == 404


def test_filters_run_in_the_documented_order(extensions_dir: Path, host: Host) -> None:
    # folders load alphabetically; within one, in filter() order; unscoped events before scoped ones
    hook(
        extensions_dir,
        "b-second",
        """filter('articles.items.create', (p) => ({ ...p, seen: [...p.seen, 'b:scoped'] }));
           filter('items.create', (p) => ({ ...p, seen: [...p.seen, 'b:1'] }));
           filter('items.create', (p) => ({ ...p, seen: [...p.seen, 'b:2'] }));""",
    )
    hook(extensions_dir, "a-first", "filter('items.create', (p) => ({ ...p, seen: [...(p.seen || []), 'a'] }));")
    with host() as client:
        stored = client.post("/items/articles", json={}, headers=ADMIN).json()["data"]
        assert stored["seen"] == ["a", "b:1", "b:2", "b:scoped"]


def test_scoped_and_unscoped_events(extensions_dir: Path, host: Host) -> None:
    hook(
        extensions_dir,
        "scopes",
        """filter('articles.items.create', (p, meta) => ({ ...p, scoped: meta.event }));
           filter('items.create', (p, meta) => ({ ...p, unscoped: meta.event }));""",
    )
    with host() as client:
        article = client.post("/items/articles", json={}, headers=ADMIN).json()["data"]
        page = client.post("/items/pages", json={}, headers=ADMIN).json()["data"]
    assert article == {"id": 1, "scoped": "articles.items.create", "unscoped": "items.create"}
    assert page == {"id": 1, "unscoped": "items.create"}


def test_filter_meta_and_accountability(extensions_dir: Path, host: Host) -> None:
    hook(
        extensions_dir,
        "meta",
        """filter('items.create', (p, meta) => ({ ...p, meta }));
           filter('items.update', (p, meta) => ({ ...p, meta }));
           filter('items.delete', (keys, meta) => {
             if (meta.accountability.user !== 'admin') throw new Error('only the admin deletes ' + keys.join());
             return keys;
           });""",
    )
    settings: dict[str, Any] = {"user_tokens": "t1:alice:editor", "items_permissions": {"editor": {"*": ["*"]}}}
    alice = {"Authorization": "Bearer t1"}
    with host(**settings) as client:
        created = client.post("/items/notes", json={"a": 1}, headers=alice).json()["data"]
        assert created["meta"] == {
            "event": "items.create",
            "collection": "notes",
            "accountability": {  # Directus's shape
                "user": "alice", "role": "editor", "roles": ["editor"], "admin": False, "app": False,
                "ip": "testclient", "userAgent": "testclient",
            },
        }
        updated = client.patch("/items/notes/1", json={"a": 2}, headers=ADMIN).json()["data"]
        assert updated["meta"]["event"] == "items.update"
        assert updated["meta"]["keys"] == [1]
        assert updated["meta"]["accountability"]["admin"] is True
        assert error(client.delete("/items/notes/1", headers=alice)) == (400, "INVALID_PAYLOAD", "only the admin deletes 1")
        assert client.get("/items/notes/1", headers=ADMIN).status_code == 200
        assert client.delete("/items/notes/1", headers=ADMIN).status_code == 204


def test_query_filter_rewrites_reads(extensions_dir: Path, host: Host) -> None:
    hook(
        extensions_dir,
        "own-rows",
        """filter('items.query', (query, meta) => {
             if (typeof query.limit !== 'number' || !Array.isArray(query.sort)) throw new Error('not normalized');
             if (meta.accountability.admin) return query;
             return { ...query, filter: { owner: { _eq: meta.accountability.user } } };
           });""",
    )
    settings: dict[str, Any] = {"user_tokens": "t1:alice:viewer", "items_permissions": {"viewer": {"*": ["read"]}}}
    alice = {"Authorization": "Bearer t1"}
    with host(**settings) as client:
        client.post("/items/docs", json=[{"owner": "alice"}, {"owner": "bob"}], headers=ADMIN)
        assert client.get("/items/docs?limit=5", headers=alice).json()["data"] == [{"id": 1, "owner": "alice"}]
        assert len(client.get("/items/docs", headers=ADMIN).json()["data"]) == 2
        assert client.get("/items/docs/2", headers=alice).status_code == 404
        assert client.get("/items/docs/1", headers=alice).status_code == 200


def test_a_looping_filter_cancels_the_write_with_a_timeout(extensions_dir: Path, host: Host) -> None:
    hook(extensions_dir, "spin", "filter('slow.items.create', () => { while (true) {} });")
    with host(extensions_sandbox_timeout=200) as client:
        response = client.post("/items/slow", json={"x": 1}, headers=ADMIN)
        assert error(response)[:2] == (504, "EXTENSION_TIMEOUT")
        assert "spin" in error(response)[2]
        # nothing written; the host and the other collections go on serving
        assert error(client.get("/items/slow", headers=ADMIN))[0] == 404
        assert client.get("/server/health").json()["status"] in ("ok", "warn")  # warn: the database answered, slowly
        assert client.post("/items/fast", json={"x": 1}, headers=ADMIN).status_code == 200


def test_a_filter_returning_a_non_object_is_an_extension_error(extensions_dir: Path, host: Host) -> None:
    hook(extensions_dir, "wrong", "filter('items.create', () => 'a string');")
    with host() as client:
        response = client.post("/items/a", json={}, headers=ADMIN)
        assert error(response)[:2] == (500, "EXTENSION_FAILED")
        assert "returned str, not an object" in error(response)[2]


def test_the_directus_example_hook_works_unchanged(
    extensions_dir: Path, host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    example = PROJECT_ROOT / "extensions" / "log-items"
    target = extensions_dir / "log-items"
    shutil.copytree(example, target, ignore=shutil.ignore_patterns("node_modules"))
    (target / "dist").mkdir(exist_ok=True)
    shutil.copy(example / "src" / "index.js", target / "dist" / "index.js")  # the JS runtime runs the source
    caplog.set_level(logging.INFO, logger="exthost.extension.log-items")
    with host() as client:
        assert client.post("/items/articles", json={"t": 1}, headers=ADMIN).json() == {"data": {"id": 1, "t": 1}}
        client.portal.call(client.app.state.emitter.drain)  # type: ignore[union-attr]
    messages = [r.getMessage() for r in caplog.records if r.name == "exthost.extension.log-items"]
    assert messages == ["Creating Item!", "Item created!"]


def test_a_quarantined_filter_rejects_the_write(extensions_dir: Path, host: Host) -> None:
    hook(extensions_dir, "spin", "filter('items.create', (p) => { if (p.loop) while (true) {} return p; });")
    with host(extensions_sandbox_timeout=100, extensions_quarantine_after=2) as client:
        for _ in range(2):
            assert error(client.post("/items/a", json={"loop": True}, headers=ADMIN))[0] == 504
        status = {e["name"]: e["status"] for e in client.get("/extensions", headers=ADMIN).json()["data"]}
        assert status["spin"] == "quarantined"
        # fail closed: validation is not skipped, the write is refused (tests/security/test_fail_closed.py)
        assert error(client.post("/items/a", json={"loop": False}, headers=ADMIN))[:2] == (503, "EXTENSION_UNAVAILABLE")
        assert client.get("/items/a", headers=ADMIN).status_code == 404  # nothing was ever written


def test_a_batch_update_runs_one_filter_per_item_and_a_throw_cancels_all(extensions_dir: Path, host: Host) -> None:
    """`PATCH /items/c` with `[{id, ...}, ...]`: each item's change goes through `items.update` with
    its own `keys`; one refusal and none is written."""
    hook(
        extensions_dir,
        "per-item",
        """filter('items.update', (payload, meta) => {
             if (payload.title === 'bad') throw new Error('not for ' + meta.keys.join(','));
             return { ...payload, seen: meta.keys };
           });""",
    )
    with host() as client:
        client.post("/items/posts", json=[{"title": "a"}, {"title": "b"}], headers=ADMIN)
        done = client.patch("/items/posts", json=[{"id": 2, "title": "B"}, {"id": 1, "title": "A"}], headers=ADMIN)
        assert done.json()["data"] == [{"id": 2, "title": "B", "seen": [2]}, {"id": 1, "title": "A", "seen": [1]}]
        refused = client.patch("/items/posts", json=[{"id": 1, "title": "ok"}, {"id": 2, "title": "bad"}],
                               headers=ADMIN)
        assert error(refused) == (400, "INVALID_PAYLOAD", "not for 2")
        assert [item["title"] for item in client.get("/items/posts", headers=ADMIN).json()["data"]] == ["A", "B"]


def test_each_filter_is_one_guest_call(extensions_dir: Path, host: Host) -> None:
    """The boundary crossings of a write: one guest call per filter, in order. The guest
    protocol (`sdk/wit/extension.wit`: `invoke(handler, args)`) calls one handler per call,
    so consecutive filters of one extension cannot share a call without a WIT change."""
    hook(
        extensions_dir,
        "chain",
        """filter('items.create', (p) => ({ ...p, trail: [...(p.trail || []), 'a'] }));
           filter('items.create', (p) => ({ ...p, trail: [...p.trail, 'b'] }));
           filter('items.create', (p) => { p.ignored = true; });
           filter('articles.items.create', (p) => ({ ...p, trail: [...p.trail, 'c'] }));
           filter('other.items.create', (p) => ({ ...p, trail: ['never'] }));""",
    )
    with host() as client:
        activity = client.app.state.activity  # type: ignore[attr-defined]
        portal = client.portal
        assert portal is not None

        def calls() -> int:
            return int(portal.call(activity.metrics, "chain")["calls"])

        before = calls()
        created = client.post("/items/articles", json={"title": "t"}, headers=ADMIN)
        assert created.json()["data"]["trail"] == ["a", "b", "c"]
        assert calls() - before == 4  # three filters of items.create, one of articles.items.create
        batch = client.post("/items/articles", json=[{"n": 1}, {"n": 2}], headers=ADMIN)
        assert batch.status_code == 200
        assert calls() - before == 12  # four per item
