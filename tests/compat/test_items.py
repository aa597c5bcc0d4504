"""`@directus/sdk` item commands against a real host: one test per SDK call.

Each asserts what Directus 11 answers to the same call (the same tests ran against one: see
docs/directus-compatibility.md); where the host deliberately differs, the difference has a
row in that page's table and its own test in `test_differences.py`.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.compat.conftest import Sdk, Target

ROWS = [
    {"title": "alpha", "status": "draft", "n": 1},
    {"title": "beta", "status": "published", "n": 2},
    {"title": "gamma", "status": "published", "n": 3},
]


def seed(sdk: Sdk, collection: str) -> list[dict[str, Any]]:
    created: list[dict[str, Any]] = sdk("createItems", collection, ROWS).ok()
    return created


def ids(rows: list[dict[str, Any]]) -> list[Any]:
    return [row["id"] for row in rows]


def test_create_item(sdk: Sdk, collection: str) -> None:
    result = sdk("createItem", collection, {"title": "one", "n": 1})
    item = result.ok()
    assert (result.method, result.path, result.status) == ("POST", f"/items/{collection}", 200)
    assert item["title"] == "one" and item["n"] == 1 and isinstance(item["id"], int)


def test_create_items(sdk: Sdk, collection: str) -> None:
    created = seed(sdk, collection)
    assert [row["title"] for row in created] == ["alpha", "beta", "gamma"]
    assert len(set(ids(created))) == 3


def test_read_items(sdk: Sdk, collection: str) -> None:
    seed(sdk, collection)
    rows = sdk("readItems", collection, {"filter": {"status": {"_eq": "published"}}, "sort": ["-n"],
                                         "fields": ["title", "n"]}).ok()
    assert rows == [{"title": "gamma", "n": 3}, {"title": "beta", "n": 2}]


def test_read_item(sdk: Sdk, collection: str) -> None:
    first = seed(sdk, collection)[0]
    result = sdk("readItem", collection, first["id"], {"fields": ["id", "title"]})
    assert result.ok() == {"id": first["id"], "title": "alpha"}
    assert result.path == f"/items/{collection}/{first['id']}?fields=id%2Ctitle"


def test_read_items_with_search(sdk: Sdk, collection: str) -> None:
    """`withSearch`: a SEARCH request whose body holds the query."""
    seed(sdk, collection)
    query = {"filter": {"n": {"_gte": 2}}, "sort": ["n"], "fields": ["title"], "limit": 1}
    result = sdk("readItems", collection, query, search=True)
    assert (result.method, result.path) == ("SEARCH", f"/items/{collection}")
    assert result.ok() == [{"title": "beta"}]


def test_update_item(sdk: Sdk, collection: str) -> None:
    first = seed(sdk, collection)[0]
    updated = sdk("updateItem", collection, first["id"], {"status": "published"}).ok()
    assert updated == {**first, "status": "published"}
    assert sdk("readItem", collection, first["id"]).ok()["status"] == "published"


def test_update_items_by_keys(sdk: Sdk, collection: str) -> None:
    created = seed(sdk, collection)
    result = sdk("updateItems", collection, ids(created[:2]), {"status": "archived"})
    assert result.method == "PATCH"
    assert [(row["title"], row["status"]) for row in result.ok()] == [("alpha", "archived"), ("beta", "archived")]
    assert sdk("readItem", collection, created[2]["id"]).ok()["status"] == "published"


def test_update_items_by_query(sdk: Sdk, collection: str) -> None:
    created = seed(sdk, collection)
    query = {"filter": {"status": {"_eq": "published"}}}
    updated = sdk("updateItems", collection, query, {"status": "archived"}).ok()
    assert sorted(ids(updated)) == sorted(ids(created[1:]))
    assert all(row["status"] == "archived" for row in updated)
    assert sdk("readItem", collection, created[0]["id"]).ok()["status"] == "draft"


def test_update_items_by_query_selecting_nothing(sdk: Sdk, collection: str) -> None:
    seed(sdk, collection)
    assert sdk("updateItems", collection, {"filter": {"n": {"_gt": 100}}}, {"status": "x"}).ok() == []


def test_update_items_batch(sdk: Sdk, collection: str) -> None:
    """`updateItemsBatch`: an array of items, each carrying its key and its own change."""
    created = seed(sdk, collection)
    batch = [{"id": created[0]["id"], "n": 10}, {"id": created[2]["id"], "title": "GAMMA"}]
    updated = sdk("updateItemsBatch", collection, batch).ok()
    assert [(row["title"], row["n"]) for row in updated] == [("alpha", 10), ("GAMMA", 3)]
    assert sdk("readItem", collection, created[1]["id"]).ok()["n"] == 2


def test_delete_item(sdk: Sdk, collection: str) -> None:
    created = seed(sdk, collection)
    result = sdk("deleteItem", collection, created[0]["id"])
    assert (result.status, result.data, result.error) == (204, None, None)
    assert ids(sdk("readItems", collection).ok()) == ids(created[1:])


def test_delete_items_by_keys(sdk: Sdk, collection: str) -> None:
    created = seed(sdk, collection)
    result = sdk("deleteItems", collection, ids(created[:2]))
    assert (result.status, result.error) == (204, None)
    assert ids(sdk("readItems", collection).ok()) == ids(created[2:])


def test_delete_items_by_query(sdk: Sdk, collection: str) -> None:
    created = seed(sdk, collection)
    result = sdk("deleteItems", collection, {"filter": {"status": {"_eq": "published"}}})
    assert (result.status, result.error) == (204, None)
    assert ids(sdk("readItems", collection).ok()) == ids(created[:1])


def test_aggregate(sdk: Sdk, collection: str) -> None:
    """`aggregate` with `groupBy`: Directus's answer (the query engine's part; see docs)."""
    seed(sdk, collection)
    rows = sdk("aggregate", collection, {"aggregate": {"count": "*", "sum": ["n"]}, "groupBy": ["status"]}).ok()
    by_status = {row["status"]: row for row in rows}
    assert set(by_status) == {"draft", "published"}
    assert int(by_status["published"]["count"]) == 2
    assert int(by_status["published"]["sum"]["n"]) == 5


def test_create_collection(sdk: Sdk, target: Target) -> None:
    """`createCollection`: the minimal /collections API (built by the query engine's work)."""
    name = f"made_{uuid.uuid4().hex[:10]}"
    made = sdk("createCollection", {"collection": name, "schema": {}, "meta": {},
                                    "fields": [{"field": "id", "type": "integer",
                                                "schema": {"is_primary_key": True, "has_auto_increment": True}},
                                               {"field": "title", "type": "string"}]})
    assert made.ok()["collection"] == name
    item = sdk("createItem", name, {"title": "first"}).ok()
    assert item["title"] == "first"
