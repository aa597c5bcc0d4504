"""The data chain in Directus's shapes, flow by flow, against a real host.

Every expected literal below was read from a real Directus 11.3.5 (npm `directus@11`,
SQLite) running the same flow: the run data in `/revisions` (accountability `all`), the
webhook's answer, or the items API. The comment at each literal says where it comes from.
Where exthost deliberately differs, the test says so (docs/directus-compatibility.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.flows.conftest import Api
from tests.support import ADMIN, wait_for

ACCOUNTABILITY_KEYS = {"user", "role", "roles", "admin", "app", "ip", "userAgent"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FLOWS_TEST_PUBLIC", "public-value")
    monkeypatch.setenv("FLOWS_TEST_HIDDEN", "not-allow-listed")
    yield


def webhook(api: Api, ops: list[dict[str, Any]], links: Any = (), *, method: str = "POST", ret: str = "$all") -> str:
    flow_id, _ = api.build(
        {"name": "shape", "trigger": "webhook", "accountability": "all", "options": {"method": method, "return": ret}},
        ops,
        links,
    )
    return flow_id


def chain_of(api: Api, client: TestClient, ops: list[dict[str, Any]], body: Any = None, links: Any = ()) -> Any:
    flow_id = webhook(api, ops, links)
    response = client.post(f"/flows/trigger/{flow_id}", json=body if body is not None else {})
    assert response.status_code == 200, response.text
    return response.json()


# -- $trigger of webhook and manual flows -------------------------------------


def test_webhook_get_trigger_path_query_and_empty_body(api: Api, flows_host: TestClient) -> None:
    flow_id = webhook(api, [{"key": "t", "type": "transform", "options": {"json": "{{ $trigger }}"}}], method="GET", ret="$last")
    response = flows_host.get(f"/flows/trigger/{flow_id}?x=1&x=2&y=z&a[b]=1", headers={**ADMIN, "X-Extra": "kept"})
    assert response.status_code == 200, response.text
    trigger = response.json()
    # Directus 11.3.5: {"path": "/trigger/<id>", "query": {...}, "body": {}, "method": "GET", "headers": {...}}
    assert set(trigger) == {"path", "query", "body", "method", "headers"}
    assert trigger["path"] == f"/trigger/{flow_id}"
    assert trigger["body"] == {}
    assert trigger["method"] == "GET"
    assert trigger["query"] == {"x": ["1", "2"], "y": "z", "a": {"b": "1"}}  # Directus 11.3.5: the same
    assert trigger["headers"]["x-extra"] == "kept"
    assert "authorization" not in trigger["headers"]  # deliberate: Directus keeps it in the chain


def test_webhook_post_body_is_the_parsed_json(api: Api, flows_host: TestClient) -> None:
    flow_id = webhook(api, [{"key": "t", "type": "transform", "options": {"json": "{{ $trigger }}"}}], ret="$last")
    trigger = flows_host.post(f"/flows/trigger/{flow_id}", json={"a": [1, {"b": None}]}).json()
    assert trigger["path"] == f"/trigger/{flow_id}" and trigger["method"] == "POST"
    assert trigger["body"] == {"a": [1, {"b": None}]}
    empty = flows_host.post(f"/flows/trigger/{flow_id}").json()
    assert empty["body"] == {}  # Directus 11.3.5: a POST without a body leaves {}


def test_manual_trigger_shape(api: Api, flows_host: TestClient) -> None:
    flows_host.post("/items/shelves", json={"id": "s1", "name": "top"}, headers=ADMIN).raise_for_status()
    flow_id, _ = api.build(
        {"name": "manual shape", "trigger": "manual", "options": {"collections": ["shelves"]}},
        [{"key": "t", "type": "transform", "options": {"json": {"trigger": "{{ $trigger }}", "who": "{{ $accountability }}"}}}],
    )
    response = flows_host.post(f"/flows/trigger/{flow_id}", json={"collection": "shelves", "keys": ["s1"]}, headers=ADMIN)
    assert response.status_code == 200, response.text
    seen = response.json()
    # Directus 11.3.5: the body the app sends, under the webhook's shape
    assert seen["trigger"]["path"] == f"/trigger/{flow_id}"
    assert seen["trigger"]["method"] == "POST"
    assert seen["trigger"]["body"] == {"collection": "shelves", "keys": ["s1"]}
    assert seen["who"]["admin"] is True and seen["who"]["app"] is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [  # each: what a real Directus 11.3.5 put in `$trigger.query`
        ("a[]=1&a[]=2", {"a": ["1", "2"]}),
        ("b[0]=x&b[1]=y&c[25]=z", {"b": ["x", "y"], "c": {"25": "z"}}),
        ("a[b][c][d][e][f][g]=deep", {"a": {"b": {"c": {"d": {"e": {"f": {"g": "deep"}}}}}}}),
        ("filter[title][_eq]=x&[x]=1", {"filter": {"title": {"_eq": "x"}}, "x": "1"}),
        ("a[b]=1&a[b]=2", {"a": {"b": ["1", "2"]}}),
    ],
)
def test_webhook_query_nests_as_directus_reads_it(api: Api, flows_host: TestClient, query: str, expected: Any) -> None:
    flow_id = webhook(api, [{"key": "t", "type": "transform", "options": {"json": "{{ $trigger.query }}"}}], method="GET", ret="$last")
    assert flows_host.get(f"/flows/trigger/{flow_id}?{query}").json() == expected


def test_webhook_query_clash_keeps_the_first_value(api: Api, flows_host: TestClient) -> None:
    flow_id = webhook(api, [{"key": "t", "type": "transform", "options": {"json": "{{ $trigger.query }}"}}], method="GET", ret="$last")
    # Directus 11.3.5 merges them: {"a": ["1", {"b": "2"}]}; exthost keeps the first (deliberate difference)
    assert flows_host.get(f"/flows/trigger/{flow_id}?a=1&a[b]=2&a[c][d]=3").json() == {"a": "1"}
    assert flows_host.get(f"/flows/trigger/{flow_id}?a[b]=2&a=1").json() == {"a": {"b": "2"}}


def test_event_flow_triggers(api: Api, flows_host: TestClient) -> None:
    scope = ["items.create", "items.update", "items.delete"]
    seen = [{"key": "keep", "type": "item-create", "options": {"collection": "ev_seen", "payload": {"trigger": "{{ $trigger }}"}, "permissions": "$full"}}]
    api.build({"name": "ev filter", "trigger": "event", "options": {"type": "filter", "scope": scope, "collections": ["ev"]}}, seen)
    api.build({"name": "ev action", "trigger": "event", "options": {"type": "action", "scope": scope, "collections": ["ev"]}}, seen)
    flows_host.post("/items/ev", json={"id": "k1", "v": 1}, headers=ADMIN).raise_for_status()
    flows_host.patch("/items/ev/k1", json={"v": 2}, headers=ADMIN).raise_for_status()
    flows_host.delete("/items/ev/k1", headers=ADMIN).raise_for_status()
    # Directus 11.3.5 (the `$trigger` of each run, from /revisions)
    expected = [
        {"payload": {"id": "k1", "v": 1}, "event": "ev.items.create", "collection": "ev"},
        {"event": "ev.items.create", "payload": {"id": "k1", "v": 1}, "key": "k1", "collection": "ev"},
        {"payload": {"v": 2}, "event": "ev.items.update", "keys": ["k1"], "collection": "ev"},
        {"event": "ev.items.update", "payload": {"v": 2}, "keys": ["k1"], "collection": "ev"},
        {"payload": ["k1"], "event": "ev.items.delete", "collection": "ev"},
        {"event": "ev.items.delete", "payload": ["k1"], "keys": ["k1"], "collection": "ev"},
    ]

    def triggers() -> list[Any]:
        return [item["trigger"] for item in flows_host.get("/items/ev_seen", headers=ADMIN, params={"limit": -1}).json()["data"]]

    wait_for(lambda: len(triggers()) >= len(expected))
    def canonical(values: list[Any]) -> list[str]:
        return sorted(json.dumps(value, sort_keys=True) for value in values)

    assert canonical(triggers()) == canonical(expected)


# -- $accountability ----------------------------------------------------------


def test_accountability_of_a_token_and_of_an_anonymous_caller(api: Api, flows_host: TestClient) -> None:
    flow_id = webhook(api, [{"key": "t", "type": "transform", "options": {"json": "{{ $accountability }}"}}], ret="$last")
    admin = flows_host.post(f"/flows/trigger/{flow_id}", json={}, headers={**ADMIN, "User-Agent": "shape-test/1"}).json()
    # Directus 11.3.5 (static admin token): {"role": <admin role>, "user": <admin user>,
    # "roles": [<admin role>], "admin": true, "app": true, "ip": "127.0.0.1", "userAgent": "..."}
    assert set(admin) == ACCOUNTABILITY_KEYS
    assert admin == {
        "user": "admin", "role": "admin", "roles": ["admin"], "admin": True, "app": True,
        "ip": "testclient", "userAgent": "shape-test/1",
    }
    editor = flows_host.post(f"/flows/trigger/{flow_id}", json={}, headers={"Authorization": "Bearer editor-token"}).json()
    assert editor["user"] == "ed" and editor["role"] == "editor" and editor["roles"] == ["editor"]
    assert editor["admin"] is False and editor["app"] is False
    anonymous = flows_host.post(f"/flows/trigger/{flow_id}", json={}, headers={"User-Agent": "anon/2"}).json()
    # Directus 11.3.5, no token: {"role": null, "user": null, "roles": [], "admin": false,
    # "app": false, "ip": "127.0.0.1", "userAgent": "..."}
    assert anonymous == {
        "user": None, "role": None, "roles": [], "admin": False, "app": False,
        "ip": "testclient", "userAgent": "anon/2",
    }


def test_anonymous_public_accountability_has_no_rights(api: Api, flows_host: TestClient) -> None:
    chain = chain_of(api, flows_host, [
        {"key": "make", "type": "item-create", "options": {"collection": "vault", "payload": {"x": 1}}},
    ])
    assert chain["make"]["code"] == "FORBIDDEN"
    assert chain["$accountability"]["user"] is None


# -- condition ----------------------------------------------------------------


def test_condition_rejection_value(api: Api, flows_host: TestClient) -> None:
    chain = chain_of(api, flows_host, [
        {"key": "check", "type": "condition", "options": {"filter": {"$trigger": {"body": {"a": {"_eq": 2}}}}}},
        {"key": "why", "type": "transform", "options": {"json": {"message": "{{ check[0].details[0].message }}", "top": "{{ check[0].message }}"}}},
    ], {"a": 1, "s": "x"}, links=[("check", "reject", "why")])
    # Directus 11.3.5 answers `[{"_original": <the chain>, "details": [...]}]` and its run log
    # shows the error's name and message; exthost gives details, name and message, without
    # `_original` (a copy of the whole chain, $env included: deliberate difference)
    assert chain["check"] == [{
        "name": "ValidationError",
        "message": '"$trigger.body.a" must be [2]',
        "details": [{
            "message": '"$trigger.body.a" must be [2]',
            "path": ["$trigger", "body", "a"],
            "type": "any.only",
            "context": {"valids": [2], "label": "$trigger.body.a", "value": 1, "key": "a"},
        }],
    }]
    assert chain["why"] == {"message": '"$trigger.body.a" must be [2]', "top": '"$trigger.body.a" must be [2]'}


def test_condition_null_on_a_missing_field_fails_as_required(api: Api, flows_host: TestClient) -> None:
    rules = {"_and": [{"$trigger": {"body": {"missing": {"_null": True}}}}, {"$trigger": {"body": {"s": {"_eq": "y"}}}}]}
    chain = chain_of(api, flows_host, [{"key": "check", "type": "condition", "options": {"filter": rules}}], {"a": 1, "s": "x"})
    # Directus 11.3.5: a missing field fails every operator, `_null` included; `_and` lists each failure
    assert chain["check"] == [
        {
            "name": "ValidationError",
            "message": '"$trigger.body.missing" is required',
            "details": [{
                "message": '"$trigger.body.missing" is required',
                "path": ["$trigger", "body", "missing"],
                "type": "any.required",
                "context": {"label": "$trigger.body.missing", "key": "missing"},
            }],
        },
        {
            "name": "ValidationError",
            "message": '"$trigger.body.s" must be [y]',
            "details": [{
                "message": '"$trigger.body.s" must be [y]',
                "path": ["$trigger", "body", "s"],
                "type": "any.only",
                "context": {"valids": ["y"], "label": "$trigger.body.s", "value": "x", "key": "s"},
            }],
        },
    ]
    present = chain_of(api, flows_host, [
        {"key": "check", "type": "condition", "options": {"filter": {"$trigger": {"body": {"n": {"_null": True}}}}}},
    ], {"n": None})
    assert present["check"] is None  # Directus 11.3.5: a present null meets `_null`; the condition resolves with null


def test_condition_or_fails_only_when_every_branch_fails(api: Api, flows_host: TestClient) -> None:
    rules = {"_or": [{"$trigger": {"body": {"nope": {"_eq": 1}}}}, {"$trigger": {"body": {"a": {"_eq": 1}}}}]}
    passed = chain_of(api, flows_host, [{"key": "check", "type": "condition", "options": {"filter": rules}}], {"a": 1})
    assert passed["check"] is None
    failed = chain_of(api, flows_host, [{"key": "check", "type": "condition", "options": {"filter": rules}}], {"a": 2})
    assert [entry["message"] for entry in failed["check"]] == [
        '"$trigger.body.nope" is required',
        '"$trigger.body.a" must be [1]',
    ]


# -- thrown values and Run Script ---------------------------------------------


def _script(body: str) -> dict[str, Any]:
    return {"key": "s", "type": "exec", "options": {"code": f"module.exports = async function (data) {{ {body} }};"}}


@pytest.mark.parametrize(
    ("thrown", "expected"),
    [
        ("'Not allowed'", "Not allowed"),  # Directus 11.3.5: "Not allowed"
        # Directus's executeOperation keeps a thrown object as it is; its 11.3.5 Run Script
        # (isolated-vm) turns it into an Error first ("An object was thrown ... not an
        # instance of `Error`."): exthost keeps the fields (deliberate difference)
        ("{ reason: 'too big', limit: 3 }", {"reason": "too big", "limit": 3}),
        ("'{\"a\": 1}'", {"a": 1}),  # Directus 11.3.5: {"a": 1} (a string of JSON is parsed)
        ("42", 42),  # Directus 11.3.5: 42
        ("null", None),  # Directus 11.3.5: null
    ],
)
def test_a_thrown_value_joins_the_chain_as_thrown(api: Api, flows_host: TestClient, thrown: str, expected: Any) -> None:
    flow_id = webhook(api, [_script(f"throw {thrown};")])
    chain = flows_host.post(f"/flows/trigger/{flow_id}", json={}).json()
    assert chain["s"] == expected and chain["$last"] == expected
    runs = api.runs(flow_id)
    assert runs[0]["steps"][0]["status"] == "reject"


def test_a_thrown_object_field_reaches_the_next_operation(api: Api, flows_host: TestClient) -> None:
    chain = chain_of(api, flows_host, [
        _script("throw { reason: 'out of stock' };"),
        {"key": "said", "type": "transform", "options": {"json": {"why": "{{ s.reason }}"}}},
    ], links=[("s", "reject", "said")])
    assert chain["said"] == {"why": "out of stock"}


def test_a_thrown_error_keeps_its_message_and_fields(api: Api, flows_host: TestClient) -> None:
    chain = chain_of(api, flows_host, [_script("const e = new RangeError('too far'); e.code = 'FAR'; throw e;")])
    # Directus 11.3.5 keeps the Error: its run log shows {"name": "RangeError", "message": "too far"}
    # and `{{ s.message }}` reads "too far"; exthost also keeps the error's own fields (`code`)
    assert chain["s"] == {"name": "RangeError", "message": "too far", "code": "FAR"}


def test_run_script_process_env_is_the_allow_listed_env(api: Api, flows_host: TestClient) -> None:
    chain = chain_of(api, flows_host, [_script("return { env: process.env, same: process.env.FLOWS_TEST_PUBLIC === data.$env.FLOWS_TEST_PUBLIC };")])
    # Directus 11.3.5: {"env": {<the FLOWS_ENV_ALLOW_LIST names>}, "same": true}
    assert chain["s"]["env"]["FLOWS_TEST_PUBLIC"] == "public-value"
    assert "FLOWS_TEST_HIDDEN" not in chain["s"]["env"]
    assert "ADMIN_TOKEN" not in chain["s"]["env"]
    assert set(chain["s"]["env"]) <= {"FLOWS_TEST_PUBLIC", "FLOWS_TEST_SECRET"}
    assert chain["s"]["same"] is True


# -- trigger ------------------------------------------------------------------


def test_trigger_operation_on_an_unknown_flow_resolves_with_null(api: Api, flows_host: TestClient) -> None:
    flow_id = webhook(api, [
        {"key": "call", "type": "trigger", "options": {"flow": "00000000-0000-0000-0000-000000000000", "payload": {"a": 1}}},
        {"key": "after", "type": "transform", "options": {"json": {"went": "resolve"}}},
    ], links=[("call", "resolve", "after")])
    chain = flows_host.post(f"/flows/trigger/{flow_id}", json={}).json()
    # Directus 11.3.5: runOperationFlow logs a warning and returns null; the operation resolves
    assert chain["call"] is None
    assert chain["after"] == {"went": "resolve"}
    assert [step["status"] for step in api.runs(flow_id)[0]["steps"]] == ["resolve", "resolve"]


# -- filter-event rejections --------------------------------------------------


def test_a_filter_flow_rejection_message_reaches_the_client(api: Api, flows_host: TestClient) -> None:
    api.build(
        {"name": "needs title", "trigger": "event", "options": {"type": "filter", "scope": ["items.create"], "collections": ["titled"]}},
        [{"key": "check", "type": "condition", "options": {"filter": {"$trigger": {"payload": {"title": {"_nnull": True}}}}}}],
    )
    refused = flows_host.post("/items/titled", json={"other": 1}, headers=ADMIN)
    # Directus 11.3.5 answers 500 {"errors": [{"message": "\"$trigger.payload.title\" is required",
    # "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]} (the message to admins only); exthost answers
    # every caller with the message, as a 400 FLOW_REJECTED (deliberate difference)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["message"] == '"$trigger.payload.title" is required'
    assert refused.json()["errors"][0]["extensions"]["code"] == "FLOW_REJECTED"
    assert flows_host.post("/items/titled", json={"title": "ok"}, headers=ADMIN).status_code == 200


def test_a_filter_flow_script_throwing_a_string_is_the_message(api: Api, flows_host: TestClient) -> None:
    api.build(
        {"name": "script says no", "trigger": "event", "options": {"type": "filter", "scope": ["items.create"], "collections": ["guarded"]}},
        [_script("if (data.$trigger.payload.n > 3) throw 'n is too big'; return data.$trigger.payload;")],
    )
    refused = flows_host.post("/items/guarded", json={"n": 5}, headers=ADMIN)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["message"] == "n is too big"  # Directus 11.3.5: "n is too big" (500)


# -- item-* -------------------------------------------------------------------


def test_item_operations_emit_no_events_unless_asked(api: Api, flows_host: TestClient) -> None:
    api.build(
        {"name": "stamp quiet", "trigger": "event", "options": {"type": "filter", "scope": ["items.create"], "collections": ["quiet"], "return": "$last"}},
        [{"key": "stamp", "type": "transform", "options": {"json": {"n": "{{ $trigger.payload.n }}", "stamped": True}}}],
    )
    chain = chain_of(api, flows_host, [
        {"key": "silent", "type": "item-create", "options": {"collection": "quiet", "payload": {"n": 1}, "permissions": "$full"}},
        {"key": "loud", "type": "item-create", "options": {"collection": "quiet", "payload": {"n": 2}, "permissions": "$full", "emitEvents": True}},
    ], links=[("silent", "resolve", "loud")])
    items = {item["n"]: item for item in flows_host.get("/items/quiet", headers=ADMIN).json()["data"]}
    # Directus 11.3.5: silent ["q1"], loud ["q2"], and only q2 stamped by the filter flow
    assert "stamped" not in items[1]
    assert items[2]["stamped"] is True
    assert chain["silent"] == [items[1]["id"]] and chain["loud"] == [items[2]["id"]]


def test_item_operation_result_shapes(api: Api, flows_host: TestClient) -> None:
    for key in ("a", "b", "c"):
        flows_host.post("/items/shapes", json={"id": key, "v": 0}, headers=ADMIN).raise_for_status()
    full = {"collection": "shapes", "permissions": "$full"}
    ops = [
        {"key": "create_one", "type": "item-create", "options": {**full, "payload": {"id": "d", "v": 1}}},
        {"key": "create_none", "type": "item-create", "options": full},
        {"key": "read_key", "type": "item-read", "options": {**full, "key": "a", "query": {"fields": ["id", "v"]}}},
        {"key": "read_list_of_one", "type": "item-read", "options": {**full, "key": ["b"], "query": {"fields": ["id"]}}},
        {"key": "read_keys", "type": "item-read", "options": {**full, "key": ["a", "b"], "query": {"fields": ["id"], "sort": ["id"]}}},
        {"key": "read_commas", "type": "item-read", "options": {**full, "key": "a,c", "query": {"fields": ["id"], "sort": ["id"]}}},
        {"key": "update_key", "type": "item-update", "options": {**full, "key": "a", "payload": {"v": 2}}},
        {"key": "update_keys", "type": "item-update", "options": {**full, "key": ["a", "b"], "payload": {"v": 3}}},
        {"key": "update_batch", "type": "item-update", "options": {**full, "payload": [{"id": "b", "v": 4}, {"id": "c", "v": 5}]}},
        {"key": "update_none", "type": "item-update", "options": {**full, "key": "a"}},
        {"key": "update_query", "type": "item-update", "options": {**full, "query": {"filter": {"v": {"_eq": 5}}}, "payload": {"v": 6}}},
        {"key": "delete_key", "type": "item-delete", "options": {**full, "key": "d"}},
        {"key": "delete_query", "type": "item-delete", "options": {**full, "query": {"filter": {"v": {"_eq": 6}}}}},
    ]
    links = [(ops[i]["key"], "resolve", ops[i + 1]["key"]) for i in range(len(ops) - 1)]
    chain = chain_of(api, flows_host, ops, links=links)
    # Directus 11.3.5 (operations item-*): createMany's keys; readOne for one key, readMany for
    # several; updateOne/deleteOne's key; updateMany, updateBatch, updateByQuery and deleteByQuery's
    # keys; null when item-create or item-update has no payload
    assert chain["create_one"] == ["d"]
    assert chain["create_none"] is None
    assert chain["read_key"] == {"id": "a", "v": 0}
    assert chain["read_list_of_one"] == {"id": "b"}
    assert chain["read_keys"] == [{"id": "a"}, {"id": "b"}]
    assert chain["read_commas"] == [{"id": "a"}, {"id": "c"}]
    assert chain["update_key"] == "a"
    assert chain["update_keys"] == ["a", "b"]
    assert chain["update_batch"] == ["b", "c"]
    assert chain["update_none"] is None
    assert chain["update_query"] == ["c"]
    assert chain["delete_key"] == "d"
    assert chain["delete_query"] == ["c"]
    left = flows_host.get("/items/shapes", headers=ADMIN, params={"sort": "id"}).json()["data"]
    assert [(item["id"], item["v"]) for item in left] == [("a", 3), ("b", 4)]


# Each literal: the `details[0]` a real Directus 11.3.5 gave for `{"$trigger": {"body": {"v": {op: arg}}}}`
_V = ["$trigger", "body", "v"]
_L = "$trigger.body.v"


@pytest.mark.parametrize(
    ("op", "arg", "value", "detail"),
    [
        ("_neq", 1, 1, {"message": f'"{_L}" contains an invalid value', "path": _V, "type": "any.invalid", "context": {"invalids": [1], "label": _L, "value": 1, "key": "v"}}),
        ("_gt", 5, 1, {"message": f'"{_L}" must be greater than 5', "path": _V, "type": "number.greater", "context": {"limit": 5, "value": 1, "label": _L, "key": "v"}}),
        ("_gte", 5, 1, {"message": f'"{_L}" must be greater than or equal to 5', "path": _V, "type": "number.min", "context": {"limit": 5, "value": 1, "label": _L, "key": "v"}}),
        ("_lt", 0, 1, {"message": f'"{_L}" must be less than 0', "path": _V, "type": "number.less", "context": {"limit": 0, "value": 1, "label": _L, "key": "v"}}),
        ("_lte", 0, 1, {"message": f'"{_L}" must be less than or equal to 0', "path": _V, "type": "number.max", "context": {"limit": 0, "value": 1, "label": _L, "key": "v"}}),
        ("_in", [2, 3], 1, {"message": f'"{_L}" must be one of [2, 3]', "path": _V, "type": "any.only", "context": {"valids": [2, 3], "label": _L, "value": 1, "key": "v"}}),
        ("_nnull", True, None, {"message": f'"{_L}" contains an invalid value', "path": _V, "type": "any.invalid", "context": {"invalids": [None], "label": _L, "value": None, "key": "v"}}),
        ("_contains", "zz", "abc", {"message": f'"{_L}" must contain [zz]', "path": _V, "type": "string.contains", "context": {"substring": "zz", "label": _L, "value": "abc", "key": "v"}}),
        ("_empty", True, "x", {"message": f'"{_L}" must be []', "path": _V, "type": "any.only", "context": {"valids": [""], "label": _L, "value": "x", "key": "v"}}),
    ],
)
def test_condition_error_details_per_operator(api: Api, flows_host: TestClient, op: str, arg: Any, value: Any, detail: dict[str, Any]) -> None:
    rules = {"$trigger": {"body": {"v": {op: arg}}}}
    chain = chain_of(api, flows_host, [{"key": "check", "type": "condition", "options": {"filter": rules}}], {"v": value})
    assert chain["check"] == [{"name": "ValidationError", "message": detail["message"], "details": [detail]}]


def test_item_read_of_several_integer_keys(api: Api, flows_host: TestClient) -> None:
    chain = chain_of(api, flows_host, [
        {"key": "made", "type": "item-create", "options": {"collection": "numbered", "payload": [{"n": 1}, {"n": 2}, {"n": 3}], "permissions": "$full"}},
        {"key": "two", "type": "item-read", "options": {"collection": "numbered", "key": "{{ made }}", "query": {"fields": ["id", "n"], "sort": ["n"]}, "permissions": "$full"}},
        {"key": "gone", "type": "item-read", "options": {"collection": "numbered", "key": [999999, "{{ made[0] }}"], "permissions": "$full", "query": {"fields": ["n"]}}},
    ], links=[("made", "resolve", "two"), ("two", "resolve", "gone")])
    assert [item["n"] for item in chain["two"]] == [1, 2, 3]
    assert all(isinstance(item["id"], int) for item in chain["two"])
    # Directus 11.3.5: made [1, 2, 3], two the three items, gone [{"n": 1}] (readMany leaves out
    # the keys that are not items, without an error)
    assert chain["gone"] == [{"n": 1}]


def test_webhook_query_names_that_are_not_indexes_stay_keys(api: Api, flows_host: TestClient) -> None:
    flow_id = webhook(api, [{"key": "t", "type": "transform", "options": {"json": "{{ $trigger.query }}"}}], method="GET", ret="$last")
    huge = "9" * 5000  # Directus 11.3.5 gives the same for a[123], b[²], c[20], d[21]
    response = flows_host.get(f"/flows/trigger/{flow_id}?a[{huge}]=1&b[%C2%B2]=2&c[20]=x&d[21]=y")
    assert response.status_code == 200, response.text
    assert response.json() == {"a": {huge: "1"}, "b": {"²": "2"}, "c": ["x"], "d": {"21": "y"}}
