"""`@directus/sdk` flow and operation commands against a real host: one test per SDK call.

@directus/sdk 26 has no command that triggers one operation: `triggerFlow` is its only
trigger (`GET|POST /flows/trigger/{id}`). The host's own `POST /operations/{id}` is tested
through the SDK's `customEndpoint` in `test_differences.py`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.compat.conftest import Sdk

FLOW_FIELDS = {
    "id", "name", "icon", "color", "description", "status", "trigger", "accountability",
    "options", "operation", "date_created", "user_created", "operations",
}  # fmt: skip
OPERATION_FIELDS = {
    "id", "name", "key", "type", "position_x", "position_y", "options", "resolve", "reject",
    "flow", "date_created", "user_created",
}  # fmt: skip


def webhook_flow(sdk: Sdk, name: str = "hook", method: str = "POST") -> dict[str, Any]:
    """An active webhook flow whose one operation returns `{"got": <the trigger's body>}`."""
    flow: dict[str, Any] = sdk("createFlow", {"name": name, "trigger": "webhook", "status": "active",
                                              "options": {"method": method}}).ok()
    op = sdk("createOperation", {"flow": flow["id"], "key": "echo", "type": "transform", "position_x": 19,
                                 "position_y": 1, "options": {"json": {"got": "{{ $trigger.body }}",
                                                                       "query": "{{ $trigger.query }}"}}}).ok()
    flow = sdk("updateFlow", flow["id"], {"operation": op["id"]}).ok()
    return flow


def test_create_flow(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "made", "trigger": "manual", "options": {"collections": ["c"]}}).ok()
    assert set(flow) == FLOW_FIELDS
    assert (flow["name"], flow["trigger"], flow["status"], flow["accountability"]) == ("made", "manual", "active", "all")
    assert (flow["icon"], flow["color"], flow["description"], flow["operation"]) == (None, None, None, None)
    assert flow["operations"] == [] and flow["options"] == {"collections": ["c"]}
    # Directus shows `2024-05-01T10:00:00` on SQLite, `2024-05-01T10:00:00.123Z` on PostgreSQL; the host the latter
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}Z)?", flow["date_created"]), flow["date_created"]


def test_create_flow_without_options(sdk: Sdk) -> None:
    """Directus's default: a flow created without `options` has `options: null`."""
    flow = sdk("createFlow", {"name": "bare", "trigger": "webhook"}).ok()
    assert flow["options"] is None
    assert sdk("readFlow", flow["id"]).ok()["options"] is None


def test_create_manual_flow_without_collections(sdk: Sdk) -> None:
    """A manual flow may be saved without `collections` (it is checked when triggered)."""
    flow = sdk("createFlow", {"name": "later", "trigger": "manual", "options": {"requireSelection": False}}).ok()
    assert flow["options"] == {"requireSelection": False}


def test_trigger_manual_flow_without_collections_is_forbidden(sdk: Sdk) -> None:
    """Saved without `collections`, a manual flow is checked when triggered: no collection is its."""
    flow = sdk("createFlow", {"name": "nowhere", "trigger": "manual", "options": {"requireSelection": False}}).ok()
    result = sdk("triggerFlow", "POST", flow["id"], {"collection": "posts"})
    assert (result.status, result.code) == (403, "FORBIDDEN")


def test_create_flows(sdk: Sdk) -> None:
    flows = sdk("createFlows", [{"name": "a", "trigger": "webhook"}, {"name": "b", "trigger": "operation"}]).ok()
    assert sorted(flow["name"] for flow in flows) == ["a", "b"]  # Directus answers a batch in no set order


def test_read_flows(sdk: Sdk) -> None:
    name = f"listed-{uuid.uuid4().hex[:8]}"
    made = sdk("createFlow", {"name": name, "trigger": "webhook"}).ok()
    rows = sdk("readFlows", {"filter": {"name": {"_eq": name}}, "fields": ["id", "name"]}).ok()
    assert rows == [{"id": made["id"], "name": name}]


def test_read_flows_with_search(sdk: Sdk) -> None:
    name = f"searched-{uuid.uuid4().hex[:8]}"
    made = sdk("createFlow", {"name": name, "trigger": "webhook"}).ok()
    result = sdk("readFlows", {"filter": {"name": {"_eq": name}}, "fields": ["id"]}, search=True)
    assert (result.method, result.path) == ("SEARCH", "/flows")
    assert result.ok() == [{"id": made["id"]}]


def test_read_flow(sdk: Sdk) -> None:
    flow = webhook_flow(sdk)
    read = sdk("readFlow", flow["id"], {"fields": ["name", "operations.key"]}).ok()
    assert read == {"name": "hook", "operations": [{"key": "echo"}]}


def test_update_flow(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "before", "trigger": "webhook"}).ok()
    updated = sdk("updateFlow", flow["id"], {"name": "after", "status": "inactive"}).ok()
    assert {**flow, "name": "after", "status": "inactive"} == updated


def test_update_flows(sdk: Sdk) -> None:
    flows = sdk("createFlows", [{"name": "x", "trigger": "webhook"}, {"name": "y", "trigger": "webhook"}]).ok()
    updated = sdk("updateFlows", [flow["id"] for flow in flows], {"color": "#FF0000"}).ok()
    assert sorted((flow["name"], flow["color"]) for flow in updated) == [("x", "#FF0000"), ("y", "#FF0000")]


def test_update_flows_batch(sdk: Sdk) -> None:
    flows = sdk("createFlows", [{"name": "x", "trigger": "webhook"}, {"name": "y", "trigger": "webhook"}]).ok()
    by_name = {flow["name"]: flow["id"] for flow in flows}
    batch = [{"id": by_name["x"], "name": "x2"}, {"id": by_name["y"], "description": "why"}]
    updated = sdk("updateFlowsBatch", batch).ok()
    assert sorted((flow["name"], flow["description"] or "") for flow in updated) == [("x2", ""), ("y", "why")]


def test_delete_flow(sdk: Sdk) -> None:
    flow = webhook_flow(sdk)
    result = sdk("deleteFlow", flow["id"])
    assert (result.status, result.error) == (204, None)
    assert sdk("readFlows", {"filter": {"id": {"_eq": flow["id"]}}}).ok() == []
    assert sdk("readOperations", {"filter": {"flow": {"_eq": flow["id"]}}}).ok() == []


def test_delete_flows(sdk: Sdk) -> None:
    flows = sdk("createFlows", [{"name": "x", "trigger": "webhook"}, {"name": "y", "trigger": "webhook"}]).ok()
    keys = [flow["id"] for flow in flows]
    assert sdk("deleteFlows", keys).status == 204
    assert sdk("readFlows", {"filter": {"id": {"_in": keys}}}).ok() == []


def test_trigger_flow_post(sdk: Sdk) -> None:
    flow = webhook_flow(sdk)
    result = sdk("triggerFlow", "POST", flow["id"], {"hello": "world"})
    assert (result.method, result.path) == ("POST", f"/flows/trigger/{flow['id']}")
    assert result.ok()["got"] == {"hello": "world"}


def test_trigger_flow_get(sdk: Sdk) -> None:
    flow = webhook_flow(sdk, "get-hook", "GET")
    result = sdk("triggerFlow", "GET", flow["id"], {"page": "2"})
    assert result.method == "GET"
    assert result.ok()["query"] == {"page": "2"}


def operation_of(sdk: Sdk, flow_id: str, key: str = "step", **extra: Any) -> dict[str, Any]:
    body = {"flow": flow_id, "key": key, "type": "log", "position_x": 1, "position_y": 2,
            "options": {"message": "hi"}, **extra}
    op: dict[str, Any] = sdk("createOperation", body).ok()
    return op


def test_create_operation(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = operation_of(sdk, flow["id"])
    assert set(op) == OPERATION_FIELDS
    assert (op["key"], op["type"], op["flow"], op["resolve"], op["reject"]) == ("step", "log", flow["id"], None, None)
    assert (op["position_x"], op["position_y"], op["name"]) == (1, 2, None)


def test_create_operation_without_options(sdk: Sdk) -> None:
    """Directus's default: an operation created without `options` has `options: null`."""
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = sdk("createOperation", {"flow": flow["id"], "key": "bare", "type": "log", "position_x": 1,
                                 "position_y": 1}).ok()
    assert op["options"] is None
    assert sdk("updateOperation", op["id"], {"options": {"message": "m"}}).ok()["options"] == {"message": "m"}
    assert sdk("updateOperation", op["id"], {"options": None}).ok()["options"] is None


def test_create_operations(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    body = [{"flow": flow["id"], "key": key, "type": "log", "position_x": 1, "position_y": 1} for key in ("a", "b")]
    ops = sdk("createOperations", body).ok()
    assert sorted(op["key"] for op in ops) == ["a", "b"]


def test_read_operations(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = operation_of(sdk, flow["id"])
    rows = sdk("readOperations", {"filter": {"flow": {"_eq": flow["id"]}}, "fields": ["id", "key"]}).ok()
    assert rows == [{"id": op["id"], "key": "step"}]


def test_read_operations_with_search(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = operation_of(sdk, flow["id"])
    result = sdk("readOperations", {"filter": {"flow": {"_eq": flow["id"]}}, "fields": ["id"]}, search=True)
    assert (result.method, result.path) == ("SEARCH", "/operations")
    assert result.ok() == [{"id": op["id"]}]


def test_read_operation(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = operation_of(sdk, flow["id"])
    assert sdk("readOperation", op["id"], {"fields": ["key", "flow.name"]}).ok() == {"key": "step", "flow": {"name": "ops"}}


def test_update_operation(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = operation_of(sdk, flow["id"])
    updated = sdk("updateOperation", op["id"], {"name": "Say hi", "position_x": 37}).ok()
    assert updated == {**op, "name": "Say hi", "position_x": 37}


def test_update_operations(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    ops = [operation_of(sdk, flow["id"], key) for key in ("a", "b")]
    updated = sdk("updateOperations", [op["id"] for op in ops], {"position_y": 55}).ok()
    assert sorted((op["key"], op["position_y"]) for op in updated) == [("a", 55), ("b", 55)]


def test_update_operations_batch(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    ops = [operation_of(sdk, flow["id"], key) for key in ("a", "b")]
    batch = [{"id": ops[0]["id"], "resolve": ops[1]["id"]}, {"id": ops[1]["id"], "name": "second"}]
    updated = sdk("updateOperationsBatch", batch).ok()
    by_id = {op["id"]: (op["resolve"], op["name"]) for op in updated}
    assert by_id == {ops[0]["id"]: (ops[1]["id"], None), ops[1]["id"]: (None, "second")}


def test_delete_operation(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    op = operation_of(sdk, flow["id"])
    assert sdk("deleteOperation", op["id"]).status == 204
    assert sdk("readOperations", {"filter": {"id": {"_eq": op["id"]}}}).ok() == []


def test_delete_operations(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    ops = [operation_of(sdk, flow["id"], key) for key in ("a", "b")]
    assert sdk("deleteOperations", [op["id"] for op in ops]).status == 204
    assert sdk("readOperations", {"filter": {"flow": {"_eq": flow["id"]}}}).ok() == []
