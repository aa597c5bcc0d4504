"""/flows and /operations: Directus's REST shapes, queries, batches, admin only, and
definitions refused with the bad field named."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.flows.conftest import Api
from tests.support import ADMIN


def error_of(response: Any, code: str = "FAILED_VALIDATION") -> str:
    """The message of a 400 with `code` (a refused field: Directus's `FAILED_VALIDATION`)."""
    assert response.status_code == 400, response.text
    body = response.json()["errors"][0]
    assert body["extensions"]["code"] == code
    return str(body["message"])


def test_admin_only(flows_host: TestClient) -> None:
    assert flows_host.get("/flows").status_code == 401
    assert flows_host.get("/operations").status_code == 401
    editor = {"Authorization": "Bearer editor-token"}
    assert flows_host.get("/flows", headers=editor).status_code == 403
    assert flows_host.post("/flows", json={"name": "x", "trigger": "manual"}, headers=editor).status_code == 403
    assert flows_host.delete("/operations/x", headers=editor).status_code == 403


def test_crud_one_and_many(api: Api, flows_host: TestClient) -> None:
    created = api.post("/flows", [
        {"name": "crud a", "trigger": "webhook", "options": {"method": "GET"}, "color": "#112233"},
        {"name": "crud b", "trigger": "operation", "status": "inactive", "accountability": None},
    ])
    a, b = created[0]["id"], created[1]["id"]
    assert created[0]["status"] == "active" and created[0]["accountability"] == "all"
    assert created[1]["accountability"] is None and created[0]["user_created"] == "admin"
    ops = api.post("/operations", [
        {"flow": a, "key": "one", "type": "log", "options": {"message": "1"}, "position_x": 19, "position_y": 1},
        {"flow": a, "key": "two", "type": "log", "options": {"message": "2"}, "position_x": 37, "position_y": 1},
    ])
    one, two = ops[0]["id"], ops[1]["id"]
    assert api.get(f"/operations/{one}")["key"] == "one"
    updated = api.patch("/operations", {"keys": [one, two], "data": {"position_y": 19}})
    assert [op["position_y"] for op in updated] == [19, 19]
    assert api.patch(f"/operations/{one}", {"resolve": two})["resolve"] == two
    flows = api.patch("/flows", {"keys": [a, b], "data": {"icon": "bolt"}})
    assert [flow["icon"] for flow in flows] == ["bolt", "bolt"]
    batch = api.patch("/flows", [{"id": a, "description": "first"}, {"id": b, "description": "second"}])
    assert [flow["description"] for flow in batch] == ["first", "second"]
    read = api.get(f"/flows/{a}")
    assert read["operations"] == [one, two] and read["options"] == {"method": "GET"}

    assert flows_host.delete(f"/operations/{two}", headers=ADMIN).status_code == 204
    assert api.get(f"/operations/{one}")["resolve"] is None
    assert flows_host.request("DELETE", "/flows", json=[a, b], headers=ADMIN).status_code == 204
    assert flows_host.get(f"/flows/{a}", headers=ADMIN).status_code == 404
    assert flows_host.get(f"/operations/{one}", headers=ADMIN).status_code == 404


def test_list_query_parameters(api: Api, flows_host: TestClient) -> None:
    api.post("/flows", [
        {"name": "q-zeta", "trigger": "webhook", "description": "searchable needle"},
        {"name": "q-alpha", "trigger": "webhook", "status": "inactive"},
        {"name": "q-mid", "trigger": "manual", "options": {"collections": ["x"]}},
    ])
    params = {"filter": '{"name": {"_starts_with": "q-"}}', "sort": "-name", "fields": "name,status", "meta": "*"}
    response = flows_host.get("/flows", params=params, headers=ADMIN).json()
    assert [f["name"] for f in response["data"]] == ["q-zeta", "q-mid", "q-alpha"]
    assert set(response["data"][0]) == {"name", "status"}
    assert response["meta"]["filter_count"] == 3 and response["meta"]["total_count"] >= 3
    page = flows_host.get("/flows", params={**params, "limit": 1, "page": 2}, headers=ADMIN).json()["data"]
    assert [f["name"] for f in page] == ["q-mid"]
    bracket = flows_host.get("/flows", params={"filter[trigger][_eq]": "manual", "filter[name][_starts_with]": "q-"}, headers=ADMIN)
    assert [f["name"] for f in bracket.json()["data"]] == ["q-mid"]
    assert [f["name"] for f in api.get("/flows", search="NEEDLE")] == ["q-zeta"]
    bad = flows_host.get("/flows", params={"filter": '{"name": {"_like": 1}}'}, headers=ADMIN)
    assert bad.status_code == 400 and "_like" in bad.json()["errors"][0]["message"]
    # the same query engine as /items: every operator, aggregate and groupBy
    some = {"filter": '{"name": {"_istarts_with": "Q-", "_nends_with": "zeta"}}', "sort": "name", "fields": "name"}
    assert [f["name"] for f in api.get("/flows", **some)] == ["q-alpha", "q-mid"]
    counted = api.get("/flows", **{"filter[name][_starts_with]": "q-", "aggregate[count]": "*", "groupBy": "trigger"})
    assert counted == [{"trigger": "manual", "count": 1}, {"trigger": "webhook", "count": 2}]


def test_nested_operation_fields(api: Api, flows_host: TestClient) -> None:
    flow_id, _ = api.build({"name": "nested", "trigger": "webhook"}, [{"key": "only", "type": "log", "options": {}}])
    flow = api.get(f"/flows/{flow_id}", fields="id,operations.key,operations.type")
    assert flow == {"id": flow_id, "operations": [{"key": "only", "type": "log"}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trigger": "webhook"}, '"name"'),
        ({"name": "x", "trigger": "cron"}, '"trigger"'),
        ({"name": "x", "trigger": "webhook", "status": "paused"}, '"status"'),
        ({"name": "x", "trigger": "webhook", "accountability": "everything"}, '"accountability"'),
        ({"name": "x", "trigger": "webhook", "colour": "red"}, '"colour". Unknown field'),
        ({"name": "x", "trigger": "schedule", "options": {"cron": "every minute"}}, '"options.cron"'),
        ({"name": "x", "trigger": "event", "options": {"type": "filter", "scope": ["auth.login"], "collections": ["a"]}}, '"options.scope"'),
        ({"name": "x", "trigger": "event", "options": {"type": "later", "scope": ["items.create"], "collections": ["a"]}}, '"options.type"'),
        ({"name": "x", "trigger": "webhook", "options": {"method": "DELETE"}}, '"options.method"'),
        ({"name": "x", "trigger": "manual", "options": {"collections": [1]}}, '"options.collections"'),
    ],
)
def test_bad_flows_are_refused_naming_the_field(flows_host: TestClient, body: dict[str, Any], field: str) -> None:
    assert field in error_of(flows_host.post("/flows", json=body, headers=ADMIN))


def test_bad_operations_are_refused_naming_the_field(api: Api, flows_host: TestClient) -> None:
    flow_id, ops = api.build(
        {"name": "graph", "trigger": "webhook"},
        [
            {"key": "a", "type": "log", "options": {}},
            {"key": "b", "type": "log", "options": {}},
            {"key": "c", "type": "condition", "options": {"filter": {"$trigger": {"x": {"_eq": 1}}}}},
        ],
    )
    other_id, other = api.build({"name": "elsewhere", "trigger": "webhook"}, [{"key": "z", "type": "log", "options": {}}])

    def create(body: dict[str, Any]) -> str:
        return error_of(flows_host.post("/operations", json={"flow": flow_id, "position_x": 1, "position_y": 1, **body}, headers=ADMIN))

    def link(op: str, body: dict[str, Any]) -> str:
        return error_of(flows_host.patch(f"/operations/{ops[op]}", json=body, headers=ADMIN))

    assert '"type". Unknown operation type "no-such-op"' in create({"key": "d", "type": "no-such-op"})
    assert '"key"' in create({"key": "a", "type": "log"})
    assert '"key"' in create({"key": "not a key!", "type": "log"})
    assert '"flow"' in create({"key": "d", "type": "log", "flow": "missing-flow"})
    assert '"options.filter"' in create({"key": "d", "type": "condition", "options": {"filter": {"x": {"_nope": 1}}}})
    assert '"options.iterationMode"' in create({"key": "d", "type": "trigger", "options": {"flow": other_id, "iterationMode": "random"}})
    duplicate = error_of(flows_host.post("/operations", json=[
        {"flow": flow_id, "key": "e", "type": "log"}, {"flow": flow_id, "key": "e", "type": "log"}], headers=ADMIN))
    assert '"key". ' in duplicate and "(item [1] of the batch)" in duplicate
    assert '"resolve"' in link("a", {"resolve": other["z"]})
    assert '"reject"' in link("a", {"reject": "00000000-0000-0000-0000-000000000000"})
    assert '"resolve"' in link("a", {"resolve": ops["a"]})
    api.patch(f"/operations/{ops['a']}", {"resolve": ops["b"]})
    cycle = link("b", {"resolve": ops["a"]})
    assert '"resolve"' in cycle and "never end" in cycle
    api.patch(f"/operations/{ops['b']}", {"resolve": ops["c"]})
    api.patch(f"/operations/{ops['c']}", {"resolve": ops["a"]})  # a loop a condition can leave is fine
    assert '"operation"' in error_of(flows_host.patch(f"/flows/{flow_id}", json={"operation": other["z"]}, headers=ADMIN))
    assert api.get(f"/operations/{ops['a']}")["resolve"] == ops["b"], "a refused change was stored"


def test_bad_json_and_batch_shapes(flows_host: TestClient) -> None:
    bad = flows_host.post("/flows", content=b"{not json", headers={**ADMIN, "content-type": "application/json"})
    assert "not valid JSON" in error_of(bad, "INVALID_PAYLOAD")
    assert '"keys"' in error_of(flows_host.patch("/flows", json={"data": {"name": "x"}}, headers=ADMIN), "INVALID_PAYLOAD")
    assert flows_host.patch("/flows/nope", json={"name": "x"}, headers=ADMIN).status_code == 404


def test_options_are_parsed_once_per_revision_of_the_flow(api: Api, flows_host: TestClient) -> None:
    flow_id, ids = api.build(
        {"name": "parsed once", "trigger": "webhook", "options": {"cache": False}},
        [{"key": "t", "type": "transform", "options": {"json": {"n": "{{ $trigger.query.n }}"}}}],
    )
    manager = flows_host.app.state.flows  # type: ignore[attr-defined]
    tree = manager.lookup(flow_id)
    template = tree.options_template(tree.operations[ids["t"]])
    for n in range(3):
        assert flows_host.get(f"/flows/trigger/{flow_id}?n={n}").json() == {"n": str(n)}
    assert manager.lookup(flow_id) is tree  # the same revision: its parsed options were reused
    assert tree.options_template(tree.operations[ids["t"]]) is template
    api.patch(f"/operations/{ids['t']}", {"options": {"json": {"m": "{{ $trigger.query.n }}"}}})
    assert flows_host.get(f"/flows/trigger/{flow_id}?n=5").json() == {"m": "5"}
    changed = manager.lookup(flow_id)
    assert changed is not tree and changed.options_template(changed.operations[ids["t"]]) is not template
