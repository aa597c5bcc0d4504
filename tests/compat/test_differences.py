"""The deliberate differences from Directus 11: one test per row of the table in
docs/directus-compatibility.md, named after the row, run against the host only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cluster.processes import HostProcess
from tests.compat.conftest import USER_TOKEN, Sdk, SdkProcess, Target
from tests.support import ADMIN_TOKEN


@pytest.fixture
def target(exthost: HostProcess) -> Target:
    return Target("exthost", exthost.url, ADMIN_TOKEN)


def test_missing_item_flow_or_operation_is_404(sdk: Sdk, collection: str) -> None:
    sdk("createItem", collection, {"title": "here"}).ok()
    for result in (sdk("readItem", collection, 999), sdk("updateItem", collection, 999, {"title": "x"}),
                   sdk("deleteItem", collection, 999), sdk("deleteItems", collection, [999])):
        assert (result.status, result.code) == (404, "NOT_FOUND"), result
        assert result.errors[0]["message"] == f'Item "999" doesn\'t exist in collection "{collection}".'
    missing = "00000000-0000-4000-8000-000000000000"
    for result in (sdk("readFlow", missing), sdk("readOperation", missing), sdk("deleteFlow", missing)):
        assert (result.status, result.code) == (404, "NOT_FOUND"), result


def test_collections_are_schemaless(sdk: Sdk, collection: str) -> None:
    read = sdk("readItems", collection)
    assert (read.status, read.code) == (404, "NOT_FOUND")
    assert read.errors[0]["message"] == f'Collection "{collection}" doesn\'t exist.'
    made = sdk("createItem", collection, {"title": "first", "anything": {"nested": [1, 2]}}).ok()
    assert made == {"id": 1, "title": "first", "anything": {"nested": [1, 2]}}
    assert sdk("readItems", collection).ok() == [made]


def test_unset_fields_are_absent(sdk: Sdk, collection: str) -> None:
    """`*` shows the fields an item has; a field asked for by name that it lacks is null (as in Directus)."""
    made = sdk("createItems", collection, [{"title": "a", "n": 1}, {"title": "b"}]).ok()
    assert made == [{"id": 1, "title": "a", "n": 1}, {"id": 2, "title": "b"}]
    assert sdk("readItems", collection).ok() == made
    named = sdk("readItems", collection, {"fields": ["title", "n"], "sort": ["title"]}).ok()
    assert named == [{"title": "a", "n": 1}, {"title": "b", "n": None}]


def test_flow_and_operation_values_are_validated(sdk: Sdk) -> None:
    for body, field in (({"name": "x", "trigger": "sometimes"}, "trigger"),
                        ({"name": "x", "trigger": "webhook", "colour": "red"}, "colour"),
                        ({"name": "x", "trigger": "webhook", "options": {"method": "PUT"}}, "options.method")):
        result = sdk("createFlow", body)
        assert (result.status, result.code, result.errors[0]["extensions"]["field"]) == (400, "FAILED_VALIDATION", field)
    flow = sdk("createFlow", {"name": "v", "trigger": "webhook"}).ok()
    unknown = sdk("createOperation", {"flow": flow["id"], "key": "k", "type": "not-installed"})
    assert (unknown.status, unknown.code, unknown.errors[0]["extensions"]["field"]) == (400, "FAILED_VALIDATION", "type")


def test_flows_api_is_for_the_administrator(exthost: HostProcess, sdk_process: SdkProcess) -> None:
    user = Target("exthost", exthost.url, USER_TOKEN)
    for command, args in (("readFlows", ()), ("readOperations", ()), ("createFlow", ({"name": "x", "trigger": "webhook"},))):
        result = sdk_process.call(user, command, *args)
        assert (result.status, result.code) == (403, "FORBIDDEN"), result


def test_trigger_one_operation(sdk: Sdk) -> None:
    """`POST /operations/{id}`: runs the flow from that operation, the body as `$trigger`
    (called here with the SDK's `customEndpoint`)."""
    flow = sdk("createFlow", {"name": "from-op", "trigger": "operation"}).ok()
    op = sdk("createOperation", {"flow": flow["id"], "key": "echo", "type": "transform",
                                 "options": {"json": {"seen": "{{ $trigger.x }}"}}}).ok()
    result = sdk("customEndpoint", {"path": f"/operations/{op['id']}", "method": "POST", "body": '{"x": 42}'})
    assert result.ok() == {"seen": 42}


def test_endpoint_request_fields_are_a_superset(sdk: Sdk) -> None:
    """An endpoint's handler gets Directus's `url, headers, body` and more."""
    fields = sdk("customEndpoint", {"path": "/compat-echo/", "method": "GET"}).ok()
    assert {"url", "headers", "body"} <= set(fields)
    assert set(fields) == {"accountability", "body", "headers", "method", "params", "path", "query", "url"}


def test_users_are_named_by_their_tokens(sdk: Sdk) -> None:
    """`user_created` (and `$accountability.user`) is the user named in `ADMIN_TOKEN`/`USER_TOKENS`."""
    flow = sdk("createFlow", {"name": "whose", "trigger": "webhook"}).ok()
    assert flow["user_created"] == "admin"
    op = sdk("createOperation", {"flow": flow["id"], "key": "k", "type": "log"}).ok()
    assert op["user_created"] == "admin"


def test_every_row_of_the_table_names_a_test_that_exists() -> None:
    """The table of deliberate differences and its tests cannot drift apart."""
    root = Path(__file__).parents[2]
    text = (root / "docs" / "directus-compatibility.md").read_text()
    table = text.split("## Deliberate differences", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| Where")
            and not line.startswith("| ---")]
    assert len(rows) >= 10
    for row in rows:
        last = row.rstrip(" |").rsplit(" | ", 1)[1]
        named = re.findall(r"`([\w/.]+\.py::)?(test_\w+)`", last)
        assert named, row
        for path, name in named:
            source = root / path.removesuffix("::") if path else Path(__file__)
            assert re.search(rf"^def {name}\(", source.read_text(), re.M), (row[:60], path, name)
