"""Action hooks: after the commit, in the background, reporting through a granted capability."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.hooks.conftest import Recorder
from tests.support import ADMIN, write_extension

Host = Callable[..., AbstractContextManager[TestClient]]
LOOPBACK_ALLOWED = {"import_ip_deny_list": ["192.0.2.0/24"]}


def reporter(root: Path, recorder: Recorder, events: list[str], path: str = "/record") -> None:
    """An action on each of `events` that POSTs its `meta` to the recorder."""
    body = "\n".join(
        f"action('{event}', async (meta) => {{ await request('{recorder.url}{path}', "
        "{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(meta) }); });"
        for event in events
    )
    source = f"import {{ request }} from 'directus:api';\nexport default ({{ action }}) => {{\n{body}\n}};\n"
    scopes = {"request": {"urls": [f"{recorder.url}/*"], "methods": ["POST"]}}
    write_extension(root, "reporter", "hook", source, scopes=scopes)


def test_actions_see_the_committed_write(extensions_dir: Path, host: Host, recorder: Recorder) -> None:
    reporter(extensions_dir, recorder, ["items.create", "items.update", "items.delete"])
    settings = {**LOOPBACK_ALLOWED, "user_tokens": "t1:alice:editor", "items_permissions": {"editor": {"*": ["*"]}}}
    alice = {"Authorization": "Bearer t1"}
    with host(**settings) as client:
        assert client.post("/items/orders", json={"total": 5}, headers=alice).status_code == 200
        created = recorder.wait_for(1)[0]
        job = created.pop("job")  # the queued job this run is (host/queue): its key stays the same on a retry
        assert job["attempt"] == 1 and job["key"].startswith("action:")
        assert created == {
            "event": "items.create",
            "collection": "orders",
            "payload": {"id": 1, "total": 5},
            "key": 1,
            "accountability": {  # Directus's shape
                "user": "alice", "role": "editor", "roles": ["editor"], "admin": False, "app": False,
                "ip": "testclient", "userAgent": "testclient",
            },
        }
        client.patch("/items/orders/1", json={"total": 7}, headers=alice)
        updated = recorder.wait_for(2)[1]
        assert (updated["event"], updated["keys"], updated["payload"]) == ("items.update", [1], {"total": 7})
        client.delete("/items/orders/1", headers=alice)
        deleted = recorder.wait_for(3)[2]
        assert (deleted["event"], deleted["keys"], deleted["payload"]) == ("items.delete", [1], [1])


def test_scoped_actions_and_the_read_action(extensions_dir: Path, host: Host, recorder: Recorder) -> None:
    reporter(extensions_dir, recorder, ["orders.items.create", "items.read"])
    with host(**LOOPBACK_ALLOWED) as client:
        client.post("/items/pages", json={"t": 1}, headers=ADMIN)  # another collection: no report
        client.post("/items/orders", json={"t": 2}, headers=ADMIN)
        assert recorder.wait_for(1)[0]["event"] == "orders.items.create"
        client.get("/items/orders?fields=t", headers=ADMIN)
        read = recorder.wait_for(2)[1]
        assert (read["event"], read["collection"], read["payload"]) == ("items.read", "orders", [{"t": 2}])
        assert read["query"]["fields"] == ["t"]
        client.portal.call(client.app.state.emitter.drain)  # type: ignore[union-attr]
        assert [r["event"] for r in recorder.received] == ["orders.items.create", "items.read"]


def test_actions_never_delay_the_response(extensions_dir: Path, host: Host, recorder: Recorder) -> None:
    reporter(extensions_dir, recorder, ["items.create"], path="/hold")
    with host(**LOOPBACK_ALLOWED) as client:
        response = client.post("/items/orders", json={}, headers=ADMIN)
        # the answer came while the action is still waiting on the server
        assert response.status_code == 200
        assert recorder.holding.wait(10)
        assert recorder.received == []
        recorder.release.set()
        assert recorder.wait_for(1)[0]["key"] == 1


def test_an_action_that_throws_is_logged_retried_and_listed_and_the_item_stays(
    extensions_dir: Path, host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    source = (
        "export default ({ action }) => { action('items.create', (meta) => "
        "{ throw new Error('boom on ' + meta.key + ' attempt ' + meta.job.attempt); }); };"
    )
    write_extension(extensions_dir, "grumpy", "hook", source)
    caplog.set_level(logging.ERROR, logger="exthost.events")
    with host(queue_max_attempts=2, queue_retry_delay=0) as client:
        response = client.post("/items/orders", json={"total": 1}, headers=ADMIN)
        assert response.json() == {"data": {"id": 1, "total": 1}}
        client.portal.call(client.app.state.emitter.drain)  # type: ignore[union-attr]
        assert client.get("/items/orders/1", headers=ADMIN).status_code == 200
        failed = client.get("/jobs?filter[state][_eq]=failed", headers=ADMIN).json()["data"]
    failures = [r for r in caplog.records if r.name == "exthost.events"]
    assert len(failures) == 2  # QUEUE_MAX_ATTEMPTS runs, each logged with the extension's name
    record: Any = failures[-1]
    assert record.extension == "grumpy"
    assert "grumpy" in record.getMessage() and "boom on 1 attempt 2" in record.getMessage()
    assert len(failed) == 1
    assert (failed[0]["kind"], failed[0]["attempts"]) == ("action", 2)
    assert failed[0]["payload"]["owner"] == "grumpy" and "boom on 1 attempt 2" in failed[0]["last_error"]
