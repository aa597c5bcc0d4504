"""Authority in flows (issue 8, item 8; DESIGN section 9): manual triggers need read
permission on the flow's collection and existing keys; `item-*` operations act with the
rights their `permissions` option names, and a run without a user has none.

Every case attacks through real HTTP against a real host (a sandboxed JS operation
extension included), asserts a clear refusal, that the host is still up and, reading
the collections back as the admin, that nothing was written or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.flows.conftest import Api
from tests.support import ADMIN, make_settings, running_host, wait_for, write_extension

PERMISSIONS = {
    "viewer": {"*": ["read"]},
    "editor": {"*": ["*"]},
    "reader": {"orders": ["read"]},
    "clerk": {"orders": ["create", "read"]},
    "shredder": {"orders": ["delete"]},
    "poster": {"inbox": ["create"]},
    "public": {"menu": ["*"]},
}
TOKENS = {
    "viewer": "viewer-token",
    "editor": "editor-token",
    "reader": "reader-token",
    "poster": "poster-token",
    "ghost": "ghost-token",
    "admin-user": "admin-user-token",
}
USERS = {"viewer": "vic", "editor": "eddie", "reader": "rita", "poster": "pat", "ghost": "gus", "admin-user": "ann"}
ROLES = {"viewer": "viewer", "editor": "editor", "reader": "reader", "poster": "poster", "ghost": "ghost", "admin-user": "admin"}

STEER_OPERATION = """
export default {
  id: 'steer-op',
  handler: (options) => ({ collection: options.to, key: options.key, permissions: '$full' }),
};
"""


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def settings_for(tmp: Path, **overrides: Any) -> Any:
    extensions = tmp / "extensions"
    extensions.mkdir(exist_ok=True)
    write_extension(extensions, "steer-op", "operation", STEER_OPERATION)
    tokens = ",".join(f"{TOKENS[name]}:{USERS[name]}:{ROLES[name]}" for name in TOKENS)
    values: dict[str, Any] = {"user_tokens": tokens, "items_permissions": json.dumps(PERMISSIONS), **overrides}
    return make_settings(tmp, extensions, **values)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_host(settings_for(tmp_path_factory.mktemp("authority"))) as client:
        yield client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def snapshot(client: TestClient, collection: str) -> list[dict[str, Any]]:
    """The collection as the admin reads it (empty if it does not exist)."""
    response = client.get(f"/items/{collection}", params={"limit": -1}, headers=ADMIN)
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda item: str(item["id"]))


def seed(client: TestClient, collection: str, key: str, **fields: Any) -> None:
    client.delete(f"/items/{collection}/{key}", headers=ADMIN)
    response = client.post(f"/items/{collection}", json={"id": key, **fields}, headers=ADMIN)
    assert response.status_code == 200, response.text


def assert_up(client: TestClient) -> None:
    assert client.get("/server/health").status_code == 200


def assert_error(response: Any, status: int, code: str, *words: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code, error
    for word in words:
        assert word in error["message"], (word, error["message"])
    return str(error["message"])


def webhook(api: Api, name: str, ops: list[dict[str, Any]], links: Any = ()) -> str:
    flow_id, _ = api.build(
        {"name": name, "trigger": "webhook", "accountability": "all", "options": {"method": "POST", "cache": False}},
        ops,
        links,
    )
    return flow_id


def manual(api: Api, name: str, collections: list[str], ops: list[dict[str, Any]], **options: Any) -> str:
    flow_id, _ = api.build(
        {
            "name": name,
            "trigger": "manual",
            "accountability": "all",
            "options": {"collections": collections, **options},
        },
        ops,
    )
    return flow_id


def refused_step(api: Api, flow_id: str, key: str, *words: str) -> dict[str, Any]:
    """The newest run's step `key` rejected with FORBIDDEN naming `words`; returns the run."""
    run = api.runs(flow_id)[0]
    step = next(s for s in run["steps"] if s["key"] == key)
    assert step["status"] == "reject", run
    assert step["data"]["code"] == "FORBIDDEN" and step["data"]["status"] == 403, step
    for word in words:
        assert word in step["data"]["message"], (word, step["data"]["message"])
    return dict(run)


# -- manual triggers ----------------------------------------------------------------


def touch_flow(api: Api, name: str, collections: list[str], **options: Any) -> str:
    """A manual flow that marks the selected items (as the caller)."""
    return manual(
        api,
        name,
        collections,
        [{"key": "mark", "type": "item-update", "options": {"collection": "{{ $trigger.body.collection }}", "key": "{{ $trigger.body.keys }}", "payload": {"marked": True}}}],
        **options,
    )


def test_manual_trigger_refuses_anonymous_callers(api: Api, client: TestClient) -> None:
    seed(client, "orders", "m1", qty=1)
    flow_id = touch_flow(api, "anon manual", ["orders"])
    url = f"/flows/trigger/{flow_id}"
    body = {"collection": "orders", "keys": ["m1"]}
    before = snapshot(client, "orders")
    assert_error(client.post(url, json=body), 401, "INVALID_CREDENTIALS", "Authentication required")
    for headers in ({"Authorization": "Bearer "}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        assert_error(client.post(url, json=body, headers=headers), 401, "INVALID_CREDENTIALS")
    assert_error(client.post(url, params={"access_token": "nope"}, json=body), 401, "INVALID_CREDENTIALS")
    for variant in ({}, {"collection": "orders"}, {"collection": "vault", "keys": ["m1"]}, [], "x"):
        assert_error(client.post(url, json=variant), 401, "INVALID_CREDENTIALS")
    assert client.get(url).status_code == 404
    assert snapshot(client, "orders") == before
    assert api.runs(flow_id) == []
    assert_up(client)


def test_manual_trigger_needs_read_permission_on_the_collection(api: Api, client: TestClient) -> None:
    seed(client, "orders", "r1", qty=1)
    seed(client, "vault", "v1", secret="gold")
    flow_id = touch_flow(api, "read to run", ["orders", "vault"])
    url = f"/flows/trigger/{flow_id}"
    vault, orders = snapshot(client, "vault"), snapshot(client, "orders")
    # rita may read orders only; gus's role is not in ITEMS_PERMISSIONS; pat may only create in inbox.
    for who in ("reader", "ghost", "poster"):
        refused = client.post(url, json={"collection": "vault", "keys": ["v1"]}, headers=bearer(who))
        assert_error(refused, 403, "FORBIDDEN", "read", '"vault"', "manual flow")
    for who in ("ghost", "poster"):
        refused = client.post(url, json={"collection": "orders", "keys": ["r1"]}, headers=bearer(who))
        assert_error(refused, 403, "FORBIDDEN", "read", '"orders"')
    assert snapshot(client, "vault") == vault and snapshot(client, "orders") == orders
    assert api.runs(flow_id) == []
    # Positive control: rita may read orders, so the flow runs (and acts with her rights).
    ran = client.post(url, json={"collection": "orders", "keys": ["r1"]}, headers=bearer("reader"))
    assert ran.status_code == 200, ran.text
    assert ran.json()["code"] == "FORBIDDEN", "rita may run the flow, but not update through it"
    assert len(api.runs(flow_id)) == 1 and api.runs(flow_id)[0]["user"] == "rita"
    # The admin, and a USER_TOKENS user whose role is admin, may run it on the vault.
    for headers in (ADMIN, bearer("admin-user")):
        assert client.post(url, json={"collection": "vault", "keys": ["v1"]}, headers=headers).status_code == 200
    assert [item["marked"] for item in snapshot(client, "vault") if item["id"] == "v1"] == [True]
    assert_up(client)


def test_manual_trigger_collection_must_be_one_of_the_flows(api: Api, client: TestClient) -> None:
    seed(client, "orders", "c1", qty=1)
    seed(client, "vault", "c1", secret="gold")
    flow_id = touch_flow(api, "orders only", ["orders"])
    url = f"/flows/trigger/{flow_id}"
    vault, orders = snapshot(client, "vault"), snapshot(client, "orders")
    for headers in (bearer("viewer"), bearer("editor"), ADMIN):
        for name in ("vault", "Orders", "orders ", " orders", "orders\u200b", "ORDERS", "*", "orders,vault"):
            refused = client.post(url, json={"collection": name, "keys": ["c1"]}, headers=headers)
            assert_error(refused, 403, "FORBIDDEN", "this flow runs on orders")
        for body in ({"keys": ["c1"]}, {"collection": "", "keys": ["c1"]}, {"collection": None, "keys": ["c1"]}):
            assert_error(client.post(url, json=body, headers=headers), 400, "INVALID_PAYLOAD", '"collection"')
        for name in (["orders"], {"orders": 1}, 1, True):
            refused = client.post(url, json={"collection": name, "keys": ["c1"]}, headers=headers)
            assert_error(refused, 400, "INVALID_PAYLOAD", '"collection"')
        for body in ([{"collection": "orders", "keys": ["c1"]}], "orders", 7, None):
            assert_error(client.post(url, json=body, headers=headers), 400, "INVALID_PAYLOAD")
    assert snapshot(client, "vault") == vault and snapshot(client, "orders") == orders
    assert api.runs(flow_id) == []
    assert_up(client)


def test_manual_trigger_keys_must_exist(api: Api, client: TestClient) -> None:
    seed(client, "orders", "k1", qty=1)
    seed(client, "orders", "7", qty=7)
    flow_id = touch_flow(api, "existing keys", ["orders"])
    url = f"/flows/trigger/{flow_id}"
    before = snapshot(client, "orders")
    for headers in (bearer("reader"), ADMIN):
        for keys, named in ((["nope"], '"nope"'), (["k1", "nope"], '"nope"'), ([404], '"404"'), (["K1"], '"K1"')):
            refused = client.post(url, json={"collection": "orders", "keys": keys}, headers=headers)
            message = assert_error(refused, 403, "FORBIDDEN", '"keys"', named, '"orders"', "existing items")
            assert '"k1"' not in message
        many = [f"g{i}" for i in range(40_000)]  # looked up in chunks, never one huge IN (...)
        refused = client.post(url, json={"collection": "orders", "keys": many}, headers=headers)
        assert_error(refused, 403, "FORBIDDEN", '"g0"', "and 39990 more")
        for keys in ([True], [{"id": "k1"}], [["k1"]], [None], [1.5], ["x" * 256], [""]):
            refused = client.post(url, json={"collection": "orders", "keys": keys}, headers=headers)
            assert_error(refused, 400, "INVALID_PAYLOAD", '"keys"')
        for keys in ("k1", {"0": "k1"}, 5):
            refused = client.post(url, json={"collection": "orders", "keys": keys}, headers=headers)
            assert_error(refused, 400, "INVALID_PAYLOAD", '"keys"')
        for body in ({"collection": "orders"}, {"collection": "orders", "keys": []}):
            assert_error(client.post(url, json=body, headers=headers), 400, "INVALID_PAYLOAD", '"keys"')
    assert snapshot(client, "orders") == before
    assert api.runs(flow_id) == []
    # 7 and "7" are the same key: both forms of an existing key are accepted.
    for key in (7, "7"):
        assert client.post(url, json={"collection": "orders", "keys": [key]}, headers=ADMIN).status_code == 200
    assert_up(client)


def test_manual_trigger_keys_are_checked_without_required_selection(api: Api, client: TestClient) -> None:
    flow_id = touch_flow(api, "optional keys", ["orders"], requireSelection=False)
    url = f"/flows/trigger/{flow_id}"
    before = snapshot(client, "orders")
    refused = client.post(url, json={"collection": "orders", "keys": ["missing"]}, headers=bearer("reader"))
    assert_error(refused, 403, "FORBIDDEN", '"missing"')
    refused = client.post(url, json={"collection": "orders"}, headers=bearer("ghost"))
    assert_error(refused, 403, "FORBIDDEN", "read", '"orders"')
    assert api.runs(flow_id) == []
    assert snapshot(client, "orders") == before


def test_an_async_manual_flow_is_refused_before_it_is_started(api: Api, client: TestClient) -> None:
    seed(client, "vault", "a1", secret="gold")
    flow_id = manual(
        api,
        "async wipe",
        ["vault"],
        [{"key": "wipe", "type": "item-delete", "options": {"collection": "vault", "key": "{{ $trigger.body.keys }}", "permissions": "$full"}}],
        **{"async": True},
    )
    url = f"/flows/trigger/{flow_id}"
    before = snapshot(client, "vault")
    assert_error(client.post(url, json={"collection": "vault", "keys": ["a1"]}, headers=bearer("reader")), 403, "FORBIDDEN", '"vault"')
    assert_error(client.post(url, json={"collection": "vault", "keys": ["zz"]}, headers=ADMIN), 403, "FORBIDDEN", '"zz"')
    assert snapshot(client, "vault") == before
    # The one accepted call runs; the log then holds exactly that run.
    assert client.post(url, json={"collection": "vault", "keys": ["a1"]}, headers=bearer("viewer")).status_code == 204
    runs = wait_for(lambda: api.runs(flow_id))
    assert len(runs) == 1 and runs[0]["user"] == "vic"
    assert all(item["id"] != "a1" for item in snapshot(client, "vault"))


# -- item operations and their permissions ----------------------------------------


def item_op(action: str, collection: str, key: str, permissions: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {"collection": collection}
    if action == "create":
        options["payload"] = {"id": key, "made": True}
    else:
        options["key"] = key
    if action == "update":
        options["payload"] = {"touched": True}
    if permissions is not None:
        options["permissions"] = permissions
    return {"key": "op", "type": f"item-{action}", "options": options}


ACTIONS = ("create", "read", "update", "delete")
# (permissions, collection, the actions it allows there)
CASES = [
    (None, "menu", ()),  # absent means $trigger: an anonymous caller has no rights, not even public ones
    ("$trigger", "menu", ()),
    ("$public", "menu", ACTIONS),  # public: {"menu": ["*"]}
    ("$public", "vault", ()),  # no public rights on vault
    ("$full", "vault", ACTIONS),
    ("clerk", "orders", ("create", "read")),
    ("clerk", "vault", ()),
    ("ghost", "orders", ()),  # a role ITEMS_PERMISSIONS does not list
    ("admin", "vault", ACTIONS),  # the admin role has every right
    ("public", "menu", ACTIONS),  # the public role by name
]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("permissions", "collection", "allows"), CASES)
def test_anonymous_webhook_item_operations(
    api: Api, client: TestClient, action: str, permissions: str | None, collection: str, allows: tuple[str, ...]
) -> None:
    key = f"{action}-{permissions or 'absent'}".replace("$", "s_")
    if action == "create":
        client.delete(f"/items/{collection}/{key}", headers=ADMIN)
    else:
        seed(client, collection, key, original=True)
    before = snapshot(client, collection)
    flow_id = webhook(api, f"anon {action} {permissions}", [item_op(action, collection, key, permissions)])
    response = client.post(f"/flows/trigger/{flow_id}", json={})
    assert response.status_code == 200, response.text
    after = snapshot(client, collection)
    stored = {item["id"]: item for item in after}
    if action not in allows:
        shown = permissions or "$trigger"
        assert response.json()["code"] == "FORBIDDEN"
        run = refused_step(api, flow_id, "op", action, f'"{collection}"', f'permissions "{shown}"')
        assert run["user"] is None
        if shown == "$trigger":
            assert "anonymous" in response.json()["message"]
        assert after == before, "a refused operation changed the collection"
    elif action == "create":
        assert response.json() == [key] and stored[key]["made"] is True  # Directus's createMany keys
    elif action == "read":
        assert response.json()["id"] == key and after == before
    elif action == "update":
        assert response.json() == key and stored[key]["touched"] is True
    else:
        assert response.json() == key and key not in stored
    assert_up(client)


def test_public_without_public_rights_configured(tmp_path: Path) -> None:
    permissions = {role: grants for role, grants in PERMISSIONS.items() if role != "public"}
    settings = settings_for(tmp_path, items_permissions=json.dumps(permissions))
    with running_host(settings) as client:
        api = Api(client)
        seed(client, "menu", "m1", dish="soup")
        before = snapshot(client, "menu")
        for action in ACTIONS:
            flow_id = webhook(api, f"public {action}", [item_op(action, "menu", "m1", "$public")])
            assert client.post(f"/flows/trigger/{flow_id}", json={}).json()["code"] == "FORBIDDEN"
            refused_step(api, flow_id, "op", action, '"menu"', 'permissions "$public"')
        assert snapshot(client, "menu") == before
        assert_up(client)


def test_selecting_by_query_needs_the_right_to_read(api: Api, client: TestClient) -> None:
    seed(client, "orders", "q1", qty=1, doomed=True)
    before = snapshot(client, "orders")
    query = {"filter": {"doomed": {"_eq": True}}}
    by_query = webhook(api, "shred by query", [
        {"key": "op", "type": "item-delete", "options": {"collection": "orders", "query": query, "permissions": "shredder"}},
    ])
    assert client.post(f"/flows/trigger/{by_query}", json={}).json()["code"] == "FORBIDDEN"
    refused_step(api, by_query, "op", "read", '"orders"', 'permissions "shredder"')
    update = webhook(api, "update by query", [
        {"key": "op", "type": "item-update", "options": {"collection": "orders", "query": query, "payload": {"x": 1}, "permissions": "shredder"}},
    ])
    assert client.post(f"/flows/trigger/{update}", json={}).json()["code"] == "FORBIDDEN"
    assert snapshot(client, "orders") == before
    by_key = webhook(api, "shred by key", [
        {"key": "op", "type": "item-delete", "options": {"collection": "orders", "key": "q1", "permissions": "shredder"}},
    ])
    assert client.post(f"/flows/trigger/{by_key}", json={}).json() == "q1"
    assert all(item["id"] != "q1" for item in snapshot(client, "orders"))


def test_a_reader_cannot_delete_through_a_flow(api: Api, client: TestClient) -> None:
    seed(client, "orders", "d1", qty=1)
    seed(client, "orders", "d2", qty=2)
    flow_id = manual(api, "delete selection", ["orders"], [
        {"key": "drop", "type": "item-delete", "options": {"collection": "orders", "key": "{{ $trigger.body.keys }}"}},
    ])
    url = f"/flows/trigger/{flow_id}"
    before = snapshot(client, "orders")
    for who in ("reader", "viewer"):
        response = client.post(url, json={"collection": "orders", "keys": ["d1", "d2"]}, headers=bearer(who))
        assert response.status_code == 200, response.text
        assert response.json()["code"] == "FORBIDDEN"
        run = refused_step(api, flow_id, "drop", "delete", '"orders"', 'permissions "$trigger"')
        assert run["user"] == USERS[who] and run["status"] == "reject"
        assert snapshot(client, "orders") == before
    # The same through a webhook with the reader's token.
    hook_id = webhook(api, "webhook delete", [
        {"key": "drop", "type": "item-delete", "options": {"collection": "orders", "key": "d1"}},
    ])
    assert client.post(f"/flows/trigger/{hook_id}", json={}, headers=bearer("reader")).json()["code"] == "FORBIDDEN"
    refused_step(api, hook_id, "drop", "delete")
    assert snapshot(client, "orders") == before
    # Positive control: the editor may delete.
    response = client.post(url, json={"collection": "orders", "keys": ["d1", "d2"]}, headers=bearer("editor"))
    assert response.json() == ["d1", "d2"]
    assert not {"d1", "d2"} & {item["id"] for item in snapshot(client, "orders")}
    assert_up(client)


def test_an_extension_cannot_steer_an_operation_past_the_callers_rights(api: Api, client: TestClient) -> None:
    """A sandboxed operation (real wasm) picks the collection; the check applies to what it picked."""
    seed(client, "vault", "s1", secret="gold")
    flow_id = webhook(
        api,
        "steered",
        [
            {"key": "steer", "type": "steer-op", "options": {"to": "vault", "key": "s1"}},
            {"key": "op", "type": "item-delete", "options": {"collection": "{{ steer.collection }}", "key": "{{ steer.key }}"}},
        ],
        [("steer", "resolve", "op")],
    )
    before = snapshot(client, "vault")
    for headers in ({}, bearer("reader"), bearer("viewer")):
        assert client.post(f"/flows/trigger/{flow_id}", json={}, headers=headers).json()["code"] == "FORBIDDEN"
        refused_step(api, flow_id, "op", "delete", '"vault"')
    assert snapshot(client, "vault") == before
    assert_up(client)


@pytest.mark.parametrize(
    "value",
    ["{{ $trigger.query.as }}", "{{steer.permissions}}", "$admin", "$TRIGGER", "$", " ", 5, True, ["$full"], {"role": "admin"}],
)
def test_permissions_cannot_be_templated_or_malformed(api: Api, client: TestClient, value: Any) -> None:
    flow_id = api.post("/flows", {"name": "bad permissions", "trigger": "webhook", "options": {"method": "POST"}})["id"]
    op = {"key": "op", "type": "item-read", "flow": flow_id, "options": {"collection": "vault", "permissions": value}}
    assert_error(client.post("/operations", json=op, headers=ADMIN), 400, "FAILED_VALIDATION", "options.permissions")
    good = api.post("/operations", {**op, "options": {"collection": "vault", "permissions": "$trigger"}})
    patched = client.patch(f"/operations/{good['id']}", json={"options": {"collection": "vault", "permissions": value}}, headers=ADMIN)
    assert_error(patched, 400, "FAILED_VALIDATION", "options.permissions")
    assert api.get(f"/operations/{good['id']}")["options"]["permissions"] == "$trigger"


def test_trigger_operation_passes_the_callers_rights_on(api: Api, client: TestClient) -> None:
    child_id, _ = api.build(
        {"name": "child writer", "trigger": "operation", "accountability": "all", "options": {"return": "$last"}},
        [{"key": "write", "type": "item-create", "options": {"collection": "vault", "payload": {"from": "child"}}}],
    )
    parent_id = webhook(api, "parent", [{"key": "call", "type": "trigger", "options": {"flow": child_id, "payload": {}}}])
    before = snapshot(client, "vault")
    for headers in ({}, bearer("viewer")):
        assert client.post(f"/flows/trigger/{parent_id}", json={}, headers=headers).json()["code"] == "FORBIDDEN"
        refused_step(api, child_id, "write", "create", '"vault"', 'permissions "$trigger"')
    assert snapshot(client, "vault") == before
    [created] = client.post(f"/flows/trigger/{parent_id}", json={}, headers=bearer("editor")).json()
    assert any(item["id"] == created for item in snapshot(client, "vault"))


def test_event_flows_act_with_the_events_caller(api: Api, client: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "copy to audit", "trigger": "event", "accountability": "all", "options": {"type": "action", "scope": ["items.create"], "collections": ["inbox"]}},
        [{"key": "copy", "type": "item-create", "options": {"collection": "audit", "payload": {"of": "{{ $trigger.key }}"}}}],
    )
    before = snapshot(client, "audit")
    posted = client.post("/items/inbox", json={"text": "hi"}, headers=bearer("poster"))
    assert posted.status_code == 200, posted.text
    run = wait_for(lambda: api.runs(flow_id))[0]
    assert run["user"] == "pat"
    refused_step(api, flow_id, "copy", "create", '"audit"', 'permissions "$trigger"')
    assert snapshot(client, "audit") == before
    made = client.post("/items/inbox", json={"text": "by admin"}, headers=ADMIN).json()["data"]
    entries = wait_for(lambda: [e for e in snapshot(client, "audit") if e.get("of") == made["id"]])
    assert len(entries) == 1


def test_schedule_flows_have_no_caller(api: Api, client: TestClient) -> None:
    flow_id, _ = api.build(
        {"name": "ticker", "trigger": "schedule", "accountability": "all", "status": "inactive",
         "options": {"cron": "* * * * * *"}},
        [{"key": "tick", "type": "item-create", "options": {"collection": "ticks", "payload": {"n": 1}}}],
    )
    api.patch(f"/flows/{flow_id}", {"status": "active"})  # ticks only once it is wholly built
    try:
        run = wait_for(lambda: api.runs(flow_id), timeout=10)[0]
    finally:
        api.patch(f"/flows/{flow_id}", {"status": "inactive"})
    assert run["user"] is None and run["trigger"] == "schedule"
    refused_step(api, flow_id, "tick", "anonymous", "create", '"ticks"', 'permissions "$trigger"')
    assert snapshot(client, "ticks") == []
    assert_up(client)
