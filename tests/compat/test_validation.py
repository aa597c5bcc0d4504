"""Validation errors as the SDK sees them: Directus's 400 `FAILED_VALIDATION`, with
`extensions.field` (the field) and `extensions.type` (the kind of rule broken), and a message
`Validation failed for field "<field>". ...` (`@directus/validation`).

Tests on `host_sdk` check values Directus stores unchecked (the host's stricter validation,
a row of docs/directus-compatibility.md); the others hold for Directus too."""

from __future__ import annotations

from tests.compat.conftest import Result, Sdk, Target


def failed(result: Result, field: str, kind: str) -> dict[str, object]:
    assert result.status == 400, result
    error = result.errors[0]
    assert error["extensions"]["code"] == "FAILED_VALIDATION"
    assert (error["extensions"]["field"], error["extensions"]["type"]) == (field, kind)
    assert error["message"].startswith(f'Validation failed for field "{field}".')
    extensions: dict[str, object] = error["extensions"]
    return extensions


def test_flow_without_a_name_is_refused_as_required(sdk: Sdk) -> None:
    result = sdk("createFlow", {"trigger": "webhook"})
    failed(result, "name", "required")
    assert result.errors[0]["message"] == 'Validation failed for field "name". Value is required.'


def test_flow_name_set_to_null_is_refused_as_nnull(sdk: Sdk) -> None:
    flow = sdk("createFlow", {"name": "named", "trigger": "webhook"}).ok()
    result = sdk("updateFlow", flow["id"], {"name": None})
    failed(result, "name", "nnull")
    assert result.errors[0]["message"] == 'Validation failed for field "name". Value can\'t be null.'


def test_flow_status_outside_its_values_names_the_valid_ones(host_sdk: Sdk) -> None:
    extensions = failed(host_sdk("createFlow", {"name": "s", "trigger": "webhook", "status": "paused"}), "status", "in")
    assert extensions["valid"] == ["active", "inactive"]


def test_schedule_flow_with_a_bad_cron_names_the_option(host_sdk: Sdk) -> None:
    failed(host_sdk("createFlow", {"name": "s", "trigger": "schedule", "options": {"cron": "every day"}}), "options.cron",
           "regex")


def test_batch_create_names_the_field(sdk: Sdk, target: Target) -> None:
    result = sdk("createFlows", [{"name": "ok", "trigger": "webhook"}, {"trigger": "webhook"}])
    failed(result, "name", "required")
    if not target.directus:  # the host's message also says which item
        assert "(item [1] of the batch)" in result.errors[0]["message"]


def test_operation_of_an_unknown_type_names_the_known_ones(host_sdk: Sdk) -> None:
    flow = host_sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    body = {"flow": flow["id"], "key": "k", "type": "no-such-type", "position_x": 1, "position_y": 1}
    extensions = failed(host_sdk("createOperation", body), "type", "in")
    assert isinstance(extensions["valid"], list) and "log" in extensions["valid"]


def test_operation_key_with_spaces_is_refused(host_sdk: Sdk) -> None:
    flow = host_sdk("createFlow", {"name": "ops", "trigger": "webhook"}).ok()
    body = {"flow": flow["id"], "key": "not a key", "type": "log", "position_x": 1, "position_y": 1}
    failed(host_sdk("createOperation", body), "key", "regex")


def test_item_with_a_key_that_cannot_be_one_names_id(host_sdk: Sdk) -> None:
    failed(host_sdk("createItem", "keyed", {"id": {"nested": 1}, "title": "x"}), "id", "regex")
    failed(host_sdk("createItems", "keyed", [{"title": "fine"}, {"id": True}]), "id", "regex")


def test_batch_update_of_an_item_without_its_key_is_a_400(sdk: Sdk, collection: str, target: Target) -> None:
    sdk("createItem", collection, {"title": "x"}).ok()
    result = sdk("updateItemsBatch", collection, [{"title": "no key"}])
    assert (result.status, result.code) == (400, "INVALID_PAYLOAD")
    if not target.directus:  # Directus: "Item in update misses primary key."
        assert '"[0].id"' in result.errors[0]["message"]


def test_bad_search_bodies_are_400_naming_what_is_wrong(target: Target, collection: str) -> None:
    with target.http() as http:
        http.post(f"/items/{collection}", json={"title": "x"}).raise_for_status()
        for body, words in (({"query": "title"}, '"query"'), ({"nope": 1}, '"nope"'), ([1], "object"),
                            ({"keys": 5}, '"keys"')):
            response = http.request("SEARCH", f"/items/{collection}", json=body)
            assert response.status_code == 400, response.text
            assert words in response.json()["errors"][0]["message"]
        empty = http.request("SEARCH", f"/items/{collection}?fields=title")  # no body: the query string's query
        assert empty.json()["data"] == [{"title": "x"}]


def test_batch_writes_without_keys_or_query_are_400(target: Target, collection: str) -> None:
    with target.http() as http:
        http.post(f"/items/{collection}", json={"title": "x"}).raise_for_status()
        for method, body in (("PATCH", {"data": {"title": "y"}}), ("PATCH", {"keys": [1]}),
                             ("PATCH", {"keys": [1], "query": {}, "data": {}}), ("DELETE", {"keys": [1], "query": {}}),
                             ("DELETE", {"query": []})):
            response = http.request(method, f"/items/{collection}", json=body)
            assert response.status_code == 400, (method, body, response.text)
            assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_PAYLOAD"
        assert [item["title"] for item in http.get(f"/items/{collection}").json()["data"]] == ["x"]
