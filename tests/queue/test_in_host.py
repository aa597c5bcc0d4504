"""The queue inside a real host, in its database and in Redis Streams: what a full queue
answers, the admin's view of jobs, and the run log of a queued run naming its job."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.security.holding import LOOPBACK_ALLOWED, HoldingServer
from tests.support import ADMIN, wait_for, write_extension

Host = Callable[..., AbstractContextManager[TestClient]]


def drain(client: TestClient) -> None:
    client.portal.call(client.app.state.queue.drain)  # type: ignore[union-attr]


def build_flow(client: TestClient, flow: dict[str, Any], operation: dict[str, Any]) -> str:
    created = client.post("/flows", json=flow, headers=ADMIN)
    assert created.status_code == 200, created.text
    flow_id: str = created.json()["data"]["id"]
    op = client.post(
        "/operations", json={"position_x": 1, "position_y": 1, **operation, "flow": flow_id}, headers=ADMIN
    ).json()["data"]
    assert client.patch(f"/flows/{flow_id}", json={"operation": op["id"]}, headers=ADMIN).status_code == 200
    return flow_id


def jobs(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/jobs{query}", headers=ADMIN)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


def test_a_full_queue_answers_503_to_an_async_webhook_and_logs_refused_actions(
    extensions_dir: Path, host: Host, caplog: pytest.LogCaptureFixture, queue_settings: dict[str, str]
) -> None:
    caplog.set_level(logging.ERROR, logger="exthost.events")
    with HoldingServer() as holding:
        source = (
            "import { request } from 'directus:api';\n"
            f"export default ({{ action }}) => action('items.create', async () => {{ await request('{holding.url}'); }});"
        )
        write_extension(extensions_dir, "holder", "hook", source, scopes=holding.scope())
        with host(queue_max_pending=1, queue_concurrency=1, **LOOPBACK_ALLOWED, **queue_settings) as client:
            flow_id = build_flow(
                client,
                {"name": "later", "trigger": "webhook", "accountability": "all", "options": {"method": "POST", "async": True}},
                {"key": "echo", "type": "transform", "options": {"json": {"got": "{{ $trigger.body.n }}"}}},
            )
            assert client.post("/items/orders", json={"n": 1}, headers=ADMIN).status_code == 200
            wait_for(lambda: holding.held == 1, "the first action to be running")

            full = client.post(f"/flows/trigger/{flow_id}", json={"n": 1})
            assert full.status_code == 503
            assert full.json()["errors"][0]["extensions"]["code"] == "QUEUE_FULL"
            assert "QUEUE_MAX_PENDING is 1" in full.json()["errors"][0]["message"]

            assert client.post("/items/orders", json={"n": 2}, headers=ADMIN).status_code == 200  # the write stands
            refused = [r.getMessage() for r in caplog.records if r.name == "exthost.events"]
            assert len(refused) == 1 and "items.create" in refused[0] and "queue is full" in refused[0]

            holding.release()
            drain(client)
            assert client.post(f"/flows/trigger/{flow_id}", json={"n": 7}).status_code == 204
            drain(client)
            [run] = client.get(f"/flows/{flow_id}/runs", headers=ADMIN).json()["data"]
            assert run["steps"][0]["data"] == {"got": 7}
            assert run["job"]["key"].startswith("flow:") and run["job"]["attempt"] == 1
            assert jobs(client) == []  # a job that ran is gone


def test_a_schedule_tick_runs_as_a_job_keyed_by_flow_and_tick(host: Host, queue_settings: dict[str, str]) -> None:
    with host(**queue_settings) as client:
        schedule_runs_as_a_keyed_job(client)


def schedule_runs_as_a_keyed_job(client: TestClient) -> None:
    flow_id = build_flow(
        client,
        {"name": "ticker", "trigger": "schedule", "accountability": "activity", "options": {"cron": "* * * * * *"}},
        {"key": "noop", "type": "transform", "options": {"json": {}}},
    )
    runs = wait_for(lambda: client.get(f"/flows/{flow_id}/runs", headers=ADMIN).json()["data"], "a scheduled run")
    assert runs[0]["job"]["key"].startswith(f"schedule:{flow_id}:")
    assert runs[0]["job"]["attempt"] == 1


def test_failed_jobs_are_listed_retried_and_deleted_by_the_admin_only(
    extensions_dir: Path, host: Host, queue_settings: dict[str, str]
) -> None:
    source = "export default ({ action }) => action('items.create', (meta) => { throw new Error('no ' + meta.key); });"
    write_extension(extensions_dir, "grumpy", "hook", source)
    with host(queue_max_attempts=1, user_tokens="u1:ed:editor", **queue_settings) as client:
        assert client.get("/jobs").status_code == 401
        assert client.get("/jobs", headers={"Authorization": "Bearer u1"}).status_code == 403
        assert client.get("/jobs?limit=many", headers=ADMIN).status_code == 400
        assert client.get("/jobs?filter={bad", headers=ADMIN).status_code == 400

        client.post("/items/orders", json={"id": 5}, headers=ADMIN)
        drain(client)
        [failed] = jobs(client, "?filter[state][_eq]=failed&fields=id,kind,attempts,last_error,payload")
        assert (failed["kind"], failed["attempts"], failed["last_error"]) == ("action", 1, "no 5")
        assert failed["payload"]["event"] == "items.create" and failed["payload"]["meta"]["key"] == 5
        assert jobs(client, "?filter[state][_eq]=pending") == []
        counted = client.get("/jobs?meta=filter_count&filter[kind][_eq]=action", headers=ADMIN).json()
        assert counted["meta"]["filter_count"] == 1
        assert client.get(f"/jobs/{failed['id']}", headers=ADMIN).json()["data"]["state"] == "failed"

        retried = client.post(f"/jobs/{failed['id']}/retry", headers=ADMIN)
        assert retried.status_code == 200
        assert (retried.json()["data"]["state"], retried.json()["data"]["attempts"]) == ("pending", 0)
        drain(client)  # it fails again
        assert client.get(f"/jobs/{failed['id']}", headers=ADMIN).json()["data"]["state"] == "failed"

        assert client.delete(f"/jobs/{failed['id']}", headers=ADMIN).status_code == 204
        assert client.get(f"/jobs/{failed['id']}", headers=ADMIN).status_code == 404
        assert client.delete(f"/jobs/{failed['id']}", headers=ADMIN).status_code == 404
        assert client.post("/jobs/nope/retry", headers=ADMIN).status_code == 404
