"""Event (filter and action), webhook, operation and schedule triggers, and the recursion guard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from host.flows.triggers.schedule import claim_tick, next_tick
from tests.flows.conftest import Api
from tests.support import ADMIN, make_settings, wait_for


def items(client: TestClient, collection: str) -> list[dict[str, Any]]:
    response = client.get(f"/items/{collection}", params={"limit": -1}, headers=ADMIN)
    return list(response.json().get("data") or [])


def test_filter_flow_cancels_a_write(api: Api, flows_host: TestClient) -> None:
    api.build(
        {"name": "orders need qty", "trigger": "event", "options": {"type": "filter", "scope": ["items.create"], "collections": ["orders"]}},
        [{"key": "has_qty", "type": "condition", "options": {"filter": {"$trigger": {"payload": {"qty": {"_gt": 0}}}}}}],
    )
    refused = flows_host.post("/items/orders", json={"qty": 0}, headers=ADMIN)
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "FLOW_REJECTED"
    assert "qty" in error["message"]
    assert items(flows_host, "orders") == []
    accepted = flows_host.post("/items/orders", json={"qty": 2}, headers=ADMIN)
    assert accepted.status_code == 200
    assert [item["qty"] for item in items(flows_host, "orders")] == [2]


def test_filter_flow_throw_error_sets_status_and_code(api: Api, flows_host: TestClient) -> None:
    api.build(
        {"name": "no tickets", "trigger": "event", "options": {"type": "filter", "scope": ["items.create", "items.update"], "collections": ["tickets"]}},
        [{"key": "stop", "type": "throw-error", "options": {"code": "NO_TICKETS", "status": "403", "message": "Sold out: {{ $trigger.payload.show }}"}}],
    )
    refused = flows_host.post("/items/tickets", json={"show": "Hamlet"}, headers=ADMIN)
    assert refused.status_code == 403
    assert refused.json()["errors"][0] == {"message": "Sold out: Hamlet", "extensions": {"code": "NO_TICKETS"}}


def test_filter_flow_return_replaces_the_payload(api: Api, flows_host: TestClient) -> None:
    api.build(
        {
            "name": "stamp notes",
            "trigger": "event",
            "options": {"type": "filter", "scope": ["items.create"], "collections": ["notes"], "return": "stamp"},
        },
        [{"key": "stamp", "type": "transform", "options": {"json": {"text": "{{ $trigger.payload.text }}", "stamped": True, "event": "{{ $trigger.event }}"}}}],
    )
    created = flows_host.post("/items/notes", json={"text": "hi", "extra": 1}, headers=ADMIN).json()["data"]
    assert created["text"] == "hi" and created["stamped"] is True and "extra" not in created
    assert created["event"] == "notes.items.create"


def test_action_flow_sees_the_event_and_does_not_block(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "audit", "trigger": "event", "options": {"type": "action", "scope": ["items.create"], "collections": ["audited"]}},
        [
            {"key": "wait", "type": "sleep", "options": {"milliseconds": 3000}},
            {"key": "record", "type": "item-create", "options": {"collection": "audit_log", "payload": {"of": "{{ $trigger.key }}", "event": "{{ $trigger.event }}"}}},
        ],
        links=[("wait", "resolve", "record")],
    )
    created = flows_host.post("/items/audited", json={"x": 1}, headers=ADMIN).json()["data"]
    assert items(flows_host, "audit_log") == []  # answered while the flow still waits: it did not block
    entry = wait_for(lambda: items(flows_host, "audit_log"))[0]
    assert entry["of"] == created["id"] and entry["event"] == "audited.items.create"
    assert api.runs(flow_id)[0]["user"] == "admin"


def test_a_flow_that_triggers_itself_is_stopped_by_the_guard(api: Api, flows_host: TestClient) -> None:
    flow_id, ops = api.build(
        {"name": "ouroboros", "trigger": "operation", "options": {"return": "$last"}},
        [{"key": "again", "type": "trigger", "options": {"flow": "placeholder"}}],
    )
    api.patch(f"/operations/{ops['again']}", {"options": {"flow": flow_id, "payload": {"n": 1}}})
    response = flows_host.post(f"/operations/{ops['again']}", json={"start": True}, headers=ADMIN)
    assert response.status_code == 200
    text = response.text
    assert "FLOW_RECURSION_LIMIT" in text and "FLOWS_RECURSION_LIMIT" in text and "ouroboros" in text
    runs = api.runs(flow_id)
    assert len(runs) == 10
    assert flows_host.get("/server/health").status_code == 200


def test_a_flow_triggered_by_its_own_events_is_stopped(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "echo chamber", "trigger": "event", "accountability": "all",
         "options": {"type": "action", "scope": ["items.create"], "collections": ["echoes"]}},
        [{"key": "again", "type": "item-create", "options": {"collection": "echoes", "payload": {"from": "{{ $trigger.key }}"}, "emitEvents": True}}],
    )
    flows_host.post("/items/echoes", json={"from": None}, headers=ADMIN)
    # the action the guard stopped is the last of the chain: once its job has failed for
    # good, nothing runs on
    def stopped() -> list[Any]:
        failed = flows_host.get("/jobs", params={"filter[state][_eq]": "failed", "limit": -1}, headers=ADMIN)
        return [job for job in failed.json()["data"] if "FLOWS_RECURSION_LIMIT" in json.dumps(job)]

    assert len(wait_for(stopped)) == 1
    assert len(api.runs(flow_id)) == 10
    assert len(items(flows_host, "echoes")) == 11


def test_webhook_method_async_and_cache(api: Api, flows_host: TestClient) -> None:
    counter_id, _ = api.build(
        {"name": "counter", "trigger": "webhook", "options": {"method": "GET", "cache": True}},
        [{"key": "count", "type": "item-create", "options": {"collection": "hits", "payload": {"q": "{{ $trigger.query.q }}"}, "permissions": "$full"}}],
    )
    url = f"/flows/trigger/{counter_id}"
    assert flows_host.post(url, json={}).status_code == 404
    first = flows_host.get(url, params={"q": "a"}).json()
    assert flows_host.get(url, params={"q": "a"}).json() == first
    assert flows_host.get(url, params={"q": "b"}).json() != first
    assert len(items(flows_host, "hits")) == 2
    api.patch(f"/flows/{counter_id}", {"options": {"method": "GET", "cache": False}})
    assert flows_host.get(url, params={"q": "a"}).json() != first
    assert flows_host.get(url, params={"q": "a"}).json() != first
    assert len(items(flows_host, "hits")) == 4

    slow_id, _ = api.build(
        {"name": "slow", "trigger": "webhook", "options": {"method": "POST", "async": True}},
        [
            {"key": "wait", "type": "sleep", "options": {"milliseconds": 3000}},
            {"key": "done", "type": "item-create", "options": {"collection": "slow_done", "payload": {"ok": True}, "permissions": "$full"}},
        ],
        links=[("wait", "resolve", "done")],
    )
    response = flows_host.post(f"/flows/trigger/{slow_id}", json={})
    assert response.status_code == 204
    assert items(flows_host, "slow_done") == []  # answered before the run ended: async
    assert wait_for(lambda: items(flows_host, "slow_done"))


def test_inactive_and_unknown_flows_are_not_triggered(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "off", "trigger": "webhook", "status": "inactive", "options": {"method": "GET"}},
        [{"key": "x", "type": "log", "options": {"message": "never"}}],
    )
    assert flows_host.get(f"/flows/trigger/{flow_id}").status_code == 404
    assert flows_host.get("/flows/trigger/does-not-exist").status_code == 404
    api.patch(f"/flows/{flow_id}", {"status": "active"})
    assert flows_host.get(f"/flows/trigger/{flow_id}").status_code == 204


def test_post_operation_runs_the_chain_from_it(api: Api, flows_host: TestClient) -> None:
    flow_id, ops = api.build(
        {"name": "from the middle", "trigger": "webhook", "options": {"method": "POST"}},
        [
            {"key": "first", "type": "throw-error", "options": {"message": "never here"}},
            {"key": "second", "type": "transform", "options": {"json": {"double": "{{ $trigger.x }}{{ $trigger.x }}"}}},
        ],
        links=[("first", "resolve", "second")],
    )
    response = flows_host.post(f"/operations/{ops['second']}", json={"x": 4}, headers=ADMIN)
    assert response.json() == {"double": "44"}
    assert [step["key"] for step in api.runs(flow_id)[0]["steps"]] == ["second"]
    assert flows_host.post(f"/operations/{ops['second']}", json={"x": 4}).status_code == 401
    assert flows_host.post("/operations/nope", json={}, headers=ADMIN).status_code == 404


def test_unknown_operation_type_ends_the_flow_with_a_logged_error(
    api: Api, flows_host: TestClient, caplog: Any
) -> None:
    flow_id, ops = api.build(
        {"name": "lost type", "trigger": "webhook", "options": {"method": "POST", "return": "$all"}},
        [
            {"key": "gone", "type": "log", "options": {"message": "x"}},
            {"key": "after", "type": "log", "options": {"message": "y"}},
        ],
        links=[("gone", "resolve", "after")],
    )
    manager = flows_host.app.state.flows  # type: ignore[attr-defined]
    from sqlalchemy import update

    from host.flows import tables

    flows_host.app.state.db.transaction(  # type: ignore[attr-defined]
        lambda conn: conn.execute(update(tables.operations).where(tables.operations.c.id == ops["gone"]).values(type="uninstalled-op"))
    )
    assert flows_host.portal is not None
    flows_host.portal.call(manager.reload)
    chain = flows_host.post(f"/flows/trigger/{flow_id}", json={}).json()
    assert chain["gone"] is None and "after" not in chain
    run = api.runs(flow_id)[0]
    assert run["status"] == "unknown" and 'unknown type "uninstalled-op"' in run["error"]
    assert any("uninstalled-op" in record.getMessage() for record in caplog.records)


def test_a_tick_is_claimed_once_and_only_while_the_flow_is_an_active_schedule_with_that_cron(
    api: Api, flows_host: TestClient
) -> None:
    db = flows_host.app.state.db  # type: ignore[attr-defined]
    yearly = "0 0 0 1 1 *"
    flow_id = api.post("/flows", {"name": "yearly", "trigger": "schedule", "options": {"cron": yearly}})["id"]
    tick = datetime(2031, 5, 1, 12, 0, 0, tzinfo=UTC)

    def claim(at: datetime, cron: str = yearly, flow: str = flow_id) -> bool:
        result: bool = db.transaction(lambda conn: claim_tick(conn, flow, cron, at))
        return result

    assert claim(tick) is True
    assert claim(tick) is False
    assert claim(tick - timedelta(seconds=1)) is False
    assert claim(tick + timedelta(seconds=1)) is True
    assert claim(tick + timedelta(seconds=2), cron="* * * * * *") is False  # changed elsewhere: not this cron
    assert claim(tick + timedelta(seconds=3), flow="no-such-flow") is False  # deleted elsewhere
    api.patch(f"/flows/{flow_id}", {"status": "inactive"})
    assert claim(tick + timedelta(seconds=4)) is False  # deactivated elsewhere
    api.patch(f"/flows/{flow_id}", {"status": "active"})
    assert claim(tick + timedelta(seconds=5)) is True
    flows_host.delete(f"/flows/{flow_id}", headers=ADMIN)


def test_cron_is_evaluated_in_utc_or_in_flows_schedule_timezone(flows_host: TestClient) -> None:
    scheduler = flows_host.app.state.flows.scheduler  # type: ignore[attr-defined]
    assert scheduler.timezone == ZoneInfo("UTC")  # the default, whatever the machine's local time
    winter, summer = datetime(2031, 1, 10, tzinfo=UTC), datetime(2031, 7, 10, tzinfo=UTC)
    assert next_tick("0 0 9 * * *", winter) == datetime(2031, 1, 10, 9, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    assert next_tick("0 0 9 * * *", winter.astimezone(paris)) == datetime(2031, 1, 10, 8, tzinfo=UTC)
    assert next_tick("0 0 9 * * *", summer.astimezone(paris)) == datetime(2031, 7, 10, 7, tzinfo=UTC)


def test_a_bad_flows_schedule_timezone_fails_the_settings_naming_it(tmp_path: Path) -> None:
    for bad in ("Mars/Olympus", "../../etc/passwd", ""):
        with pytest.raises(ValidationError, match="FLOWS_SCHEDULE_TIMEZONE"):
            make_settings(tmp_path, flows_schedule_timezone=bad)
    assert make_settings(tmp_path, flows_schedule_timezone="America/New_York").flows_schedule_timezone == "America/New_York"
