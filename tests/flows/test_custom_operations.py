"""Operations from sandboxed extensions (JS) inside flows: resolve, reject, options
interpolated from `$trigger` and from an earlier operation, faults on the reject path."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.flows.conftest import Api


def test_custom_operation_resolves_with_options_from_trigger(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "greet", "trigger": "webhook", "options": {"method": "POST"}},
        [{"key": "greet", "type": "greet-op", "options": {"name": "{{ $trigger.body.name }}"}}],
    )
    response = flows_host.post(f"/flows/trigger/{flow_id}", json={"name": "Ada"})
    assert response.status_code == 200
    result = response.json()
    assert result["greeting"] == "Hello, Ada!"
    assert result["seen"]["body"] == {"name": "Ada"}
    assert result["admin"] is False  # an anonymous webhook runs with Directus's public accountability


def test_options_from_an_earlier_operation_key(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "greet later", "trigger": "webhook", "options": {"method": "POST", "return": "$all"}},
        [
            {"key": "who", "type": "transform", "options": {"json": {"first": "Grace", "last": "Hopper"}}},
            {"key": "greet", "type": "greet-op", "options": {"name": "{{ who.first }} {{ who.last }}"}},
        ],
        links=[("who", "resolve", "greet")],
    )
    chain = flows_host.post(f"/flows/trigger/{flow_id}", json={}).json()
    assert chain["greet"]["greeting"] == "Hello, Grace Hopper!"
    assert chain["$last"] == chain["greet"]


def test_custom_operation_rejecting_takes_the_reject_path(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "greet fails", "trigger": "webhook", "options": {"method": "POST"}},
        [
            {"key": "greet", "type": "greet-op", "options": {"name": "x", "fail": "{{ $trigger.body.why }}"}},
            {"key": "ok", "type": "transform", "options": {"json": {"path": "resolve"}}},
            {"key": "caught", "type": "transform", "options": {"json": {"error": "{{ greet.message }}"}}},
        ],
        links=[("greet", "resolve", "ok"), ("greet", "reject", "caught")],
    )
    assert flows_host.post(f"/flows/trigger/{flow_id}", json={"why": "no"}).json() == {
        "error": "greet-op refused: no"
    }
    assert flows_host.post(f"/flows/trigger/{flow_id}", json={}).json() == {"path": "resolve"}


def test_crashing_or_looping_operation_rejects_and_host_keeps_serving(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "crash", "trigger": "webhook", "options": {"method": "POST", "return": "$all"}},
        [
            {"key": "risky", "type": "crash-op", "options": {"mode": "{{ $trigger.body.mode }}"}},
            {"key": "fine", "type": "log", "options": {"message": "resolved"}},
            {"key": "recover", "type": "transform", "options": {"json": {"code": "{{ risky.code }}"}}},
        ],
        links=[("risky", "resolve", "fine"), ("risky", "reject", "recover")],
    )
    loop = flows_host.post(f"/flows/trigger/{flow_id}", json={"mode": "loop"}).json()
    assert loop["recover"] == {"code": "EXTENSION_TIMEOUT"}
    assert loop["risky"]["extension"] == "crash-op"
    memory = flows_host.post(f"/flows/trigger/{flow_id}", json={"mode": "memory"}).json()
    assert memory["recover"]["code"] in ("EXTENSION_OUT_OF_MEMORY", "EXTENSION_FAILED")
    assert flows_host.get("/server/health").json()["status"] in ("ok", "warn")  # warn: the database answered, slowly
    fine = flows_host.post(f"/flows/trigger/{flow_id}", json={"mode": "calm"}).json()
    assert fine["risky"] == {"fine": True} and "recover" not in fine


def test_the_foundation_operation_example_runs_in_a_flow(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "log-operation", "trigger": "webhook", "options": {"method": "GET"}},
        [{"key": "custom", "type": "custom", "options": {"text": "hello {{ $trigger.query.who }}"}}],
    )
    response = flows_host.get(f"/flows/trigger/{flow_id}", params={"who": "flows"})
    assert response.json() == {"logged": "hello flows"}
