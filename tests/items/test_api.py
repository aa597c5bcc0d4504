"""The items REST API over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.items.conftest import bearer
from tests.support import ADMIN


def error(response: Any) -> tuple[int, str, str]:
    body = response.json()["errors"][0]
    return response.status_code, body["extensions"]["code"], body["message"]


def test_create_read_update_delete(api: TestClient) -> None:
    created = api.post("/items/articles", json={"title": "Hello", "tags": ["a"]}, headers=ADMIN)
    assert created.status_code == 200
    assert created.json() == {"data": {"id": 1, "title": "Hello", "tags": ["a"]}}

    assert api.get("/items/articles/1", headers=ADMIN).json() == {"data": {"id": 1, "title": "Hello", "tags": ["a"]}}

    patched = api.patch("/items/articles/1", json={"title": "Bye", "views": 3}, headers=ADMIN)
    assert patched.json() == {"data": {"id": 1, "title": "Bye", "tags": ["a"], "views": 3}}
    assert api.get("/items/articles/1", headers=ADMIN).json()["data"]["title"] == "Bye"

    deleted = api.delete("/items/articles/1", headers=ADMIN)
    assert deleted.status_code == 204 and deleted.content == b""
    assert error(api.get("/items/articles/1", headers=ADMIN))[:2] == (404, "NOT_FOUND")
    assert api.get("/items/articles", headers=ADMIN).json() == {"data": []}  # the collection stays


def test_batch_create_and_keys(api: TestClient) -> None:
    batch = [{"n": 1}, {"id": "custom", "n": 2}, {"id": 10, "n": 3}, {"n": 4}]
    created = api.post("/items/things", json=batch, headers=ADMIN).json()["data"]
    assert [item["id"] for item in created] == [1, "custom", 10, 11]
    assert [item["id"] for item in api.get("/items/things", headers=ADMIN).json()["data"]] == [1, "custom", 10, 11]
    # "10" and 10 are the same key
    assert api.get("/items/things/10", headers=ADMIN).json()["data"]["n"] == 3
    assert api.post("/items/things", json=[], headers=ADMIN).json() == {"data": []}


def test_duplicate_keys_are_refused_and_nothing_is_written(api: TestClient) -> None:
    api.post("/items/things", json={"id": "a"}, headers=ADMIN)
    status, code, message = error(api.post("/items/things", json=[{"id": "b"}, {"id": "a"}], headers=ADMIN))
    assert (status, code) == (400, "RECORD_NOT_UNIQUE")
    assert '"a"' in message
    assert error(api.post("/items/things", json=[{"id": 5}, {"id": "5"}], headers=ADMIN))[:2] == (
        400,
        "RECORD_NOT_UNIQUE",
    )
    assert [item["id"] for item in api.get("/items/things", headers=ADMIN).json()["data"]] == ["a"]


def test_query_parameters(api: TestClient) -> None:
    rows = [
        {"title": "a", "price": 5, "author": {"name": "ann"}},
        {"title": "b", "price": 15, "author": {"name": "bob"}},
        {"title": "c", "price": 25, "author": {"name": "ann"}},
        {"title": "d", "price": None},
    ]
    api.post("/items/books", json=rows, headers=ADMIN)

    def titles(query: str) -> list[Any]:
        response = api.get(f"/items/books?{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        return [row.get("title") for row in response.json()["data"]]

    assert titles("filter[price][_gte]=15") == ["b", "c"]
    assert titles('filter={"author":{"name":{"_eq":"ann"}}}') == ["a", "c"]
    assert titles('filter={"_or":[{"price":{"_lt":10}},{"price":{"_null":true}}]}') == ["a", "d"]
    assert titles("filter[title][_in]=a,d") == ["a", "d"]
    assert titles("filter[title][_nin]=a,d") == ["b", "c"]
    assert titles("filter[title][_neq]=a") == ["b", "c", "d"]
    assert titles("sort=-price") == ["d", "c", "b", "a"]  # missing values first when descending
    assert titles("sort=price&limit=2&offset=1") == ["b", "c"]
    assert titles("limit=1&page=2") == ["b"]
    assert titles("limit=2&offset=3") == ["d"]
    assert titles("limit=-1") == ["a", "b", "c", "d"]
    assert api.get("/items/books?fields=title,author.name&limit=1", headers=ADMIN).json() == {
        "data": [{"title": "a", "author": {"name": "ann"}}]
    }
    counted = api.get("/items/books?filter[price][_gt]=10&meta=*&limit=1", headers=ADMIN).json()
    assert counted["meta"] == {"total_count": 4, "filter_count": 2}
    assert len(counted["data"]) == 1
    assert api.get("/items/books?meta=total_count", headers=ADMIN).json()["meta"] == {"total_count": 4}
    # fields on a write's answer, and on a single read
    assert api.post("/items/books?fields=id", json={"title": "e"}, headers=ADMIN).json() == {"data": {"id": 5}}
    assert api.get("/items/books/2?fields=title", headers=ADMIN).json() == {"data": {"title": "b"}}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("filter[price][_like]=1", 'Unknown filter operator "_like"'),
        ("filter={oops", '"filter" is not valid JSON'),
        ("limit=many", '"limit" must be an integer'),
        ("sort=a..b", 'Invalid field "a..b"'),
        ("meta=all", 'Unknown meta "all"'),
    ],
)
def test_invalid_queries_are_400(api: TestClient, query: str, message: str) -> None:
    api.post("/items/books", json={"title": "a"}, headers=ADMIN)
    status, code, text = error(api.get(f"/items/books?{query}", headers=ADMIN))
    assert (status, code) == (400, "INVALID_QUERY")
    assert message in text


def test_bad_bodies_are_400_and_write_nothing(api: TestClient) -> None:
    api.post("/items/notes", json={"id": 1}, headers=ADMIN)
    cases = [
        (b"{not json", "Invalid JSON body"),
        (b"", "The request body is empty"),
        (b'"a string"', "Expected a JSON object"),
        (b"[1, 2]", "An item must be a JSON object"),
        (b'{"x": NaN}', "NaN, which is not valid JSON"),
    ]
    for body, message in cases:
        status, code, text = error(api.post("/items/notes", content=body, headers=ADMIN))
        assert (status, code) == (400, "INVALID_PAYLOAD"), body
        assert message in text, (body, text)
    status, code, text = error(api.post("/items/notes", content=b'{"id": true}', headers=ADMIN))
    assert (status, code) == (400, "FAILED_VALIDATION") and '"id" must be a string or an integer' in text
    assert error(api.patch("/items/notes/1", content=b"[]", headers=ADMIN))[2] == "The update must be a JSON object"
    assert "cannot be changed" in error(api.patch("/items/notes/1", json={"id": 2}, headers=ADMIN))[2]
    assert error(api.post("/items/bad%20name", json={}, headers=ADMIN))[:2] == (400, "INVALID_PAYLOAD")
    assert api.get("/items/notes", headers=ADMIN).json() == {"data": [{"id": 1}]}


def test_unknown_collections_and_ids_are_404(api: TestClient) -> None:
    assert error(api.get("/items/ghosts", headers=ADMIN)) == (404, "NOT_FOUND", 'Collection "ghosts" doesn\'t exist.')
    assert error(api.get("/items/ghosts/1", headers=ADMIN))[:2] == (404, "NOT_FOUND")
    assert error(api.patch("/items/ghosts/1", json={}, headers=ADMIN))[:2] == (404, "NOT_FOUND")
    api.post("/items/real", json={"id": 1}, headers=ADMIN)
    for response in (
        api.get("/items/real/2", headers=ADMIN),
        api.patch("/items/real/2", json={"a": 1}, headers=ADMIN),
        api.delete("/items/real/2", headers=ADMIN),
        api.request("DELETE", "/items/real", json=[1, 2], headers=ADMIN),
    ):
        assert error(response) == (404, "NOT_FOUND", 'Item "2" doesn\'t exist in collection "real".')
    assert len(api.get("/items/real", headers=ADMIN).json()["data"]) == 1  # the batch delete deleted nothing


def test_batch_update_and_delete(api: TestClient) -> None:
    api.post("/items/tasks", json=[{"n": 1}, {"n": 2}, {"n": 3}], headers=ADMIN)
    updated = api.patch("/items/tasks", json={"keys": [1, 3], "data": {"done": True}}, headers=ADMIN)
    assert updated.json()["data"] == [{"id": 1, "n": 1, "done": True}, {"id": 3, "n": 3, "done": True}]
    assert api.get("/items/tasks?filter[done][_eq]=true&fields=id", headers=ADMIN).json()["data"] == [
        {"id": 1},
        {"id": 3},
    ]
    assert api.request("DELETE", "/items/tasks", json={"keys": [1, 2]}, headers=ADMIN).status_code == 204
    assert api.get("/items/tasks", headers=ADMIN).json()["data"] == [{"id": 3, "n": 3, "done": True}]
    assert error(api.patch("/items/tasks", json={"data": {}}, headers=ADMIN))[:2] == (400, "INVALID_PAYLOAD")


def test_tokens_and_roles(api: TestClient) -> None:
    assert error(api.get("/items/x")) == (
        401,
        "INVALID_CREDENTIALS",
        "Authentication required: send 'Authorization: Bearer <token>'",
    )
    assert error(api.post("/items/x", json={}))[:2] == (401, "INVALID_CREDENTIALS")
    assert error(api.get("/items/x", headers=bearer("wrong")))[:2] == (401, "INVALID_CREDENTIALS")
    assert error(api.get("/items/x", headers={"Authorization": "Basic abc"}))[:2] == (401, "INVALID_CREDENTIALS")
    assert error(api.get("/items/x", headers={"Authorization": "Bearer tökén".encode("latin-1")}))[:2] == (401, "INVALID_CREDENTIALS")

    # an editor may do everything, a token may also come as ?access_token=
    assert api.post("/items/posts", json={"id": 1}, headers=bearer("alice-token")).status_code == 200
    assert api.get("/items/posts?access_token=alice-token").json() == {"data": [{"id": 1}]}
    # a viewer may read, and create only drafts
    assert api.get("/items/posts", headers=bearer("victor-token")).status_code == 200
    forbidden = api.post("/items/posts", json={}, headers=bearer("victor-token"))
    assert error(forbidden) == (403, "FORBIDDEN", 'You don\'t have permission to create items in "posts".')
    assert error(api.delete("/items/posts/1", headers=bearer("victor-token")))[:2] == (403, "FORBIDDEN")
    assert api.post("/items/drafts", json={}, headers=bearer("victor-token")).status_code == 200
    # a role with no permissions may do nothing; a user whose role is admin may do everything
    assert error(api.get("/items/posts", headers=bearer("nobody-token")))[:2] == (403, "FORBIDDEN")
    assert api.delete("/items/posts/1", headers=bearer("root-token")).status_code == 204


def test_concurrent_writes_lose_nothing(api: TestClient) -> None:
    api.post("/items/counters", json={"id": 1}, headers=ADMIN)
    with ThreadPoolExecutor(8) as pool:
        patches = list(pool.map(lambda n: api.patch("/items/counters/1", json={f"f{n}": n}, headers=ADMIN), range(24)))
        creates = list(pool.map(lambda n: api.post("/items/counters", json={"n": n}, headers=ADMIN), range(24)))
    assert {r.status_code for r in patches + creates} == {200}
    item = api.get("/items/counters/1", headers=ADMIN).json()["data"]
    assert item == {"id": 1, **{f"f{n}": n for n in range(24)}}
    ids = sorted(r.json()["data"]["id"] for r in creates)
    assert ids == list(range(2, 26))


def test_batch_update_by_array_and_by_query_delete_by_query_and_search(api: TestClient) -> None:
    api.post("/items/jobs", json=[{"n": 1, "s": "a"}, {"n": 2, "s": "b"}, {"n": 3, "s": "b"}], headers=ADMIN)
    each = api.patch("/items/jobs?fields=id,n", json=[{"id": 3, "n": 30}, {"id": 1, "n": 10}], headers=ADMIN)
    assert each.json() == {"data": [{"id": 3, "n": 30}, {"id": 1, "n": 10}]}
    missing = api.patch("/items/jobs", json=[{"id": 2, "n": 20}, {"id": 99, "n": 0}], headers=ADMIN)
    assert error(missing)[:2] == (404, "NOT_FOUND")
    assert api.get("/items/jobs/2", headers=ADMIN).json()["data"]["n"] == 2, "a refused batch wrote nothing"

    by_query = {"query": {"filter": {"s": {"_eq": "b"}}, "sort": ["-n"]}, "data": {"s": "c"}}
    assert [item["id"] for item in api.patch("/items/jobs", json=by_query, headers=ADMIN).json()["data"]] == [3, 2]
    limited = {"query": {"filter": {"s": {"_eq": "c"}}, "sort": ["n"], "limit": 1}, "data": {"first": True}}
    assert api.patch("/items/jobs", json=limited, headers=ADMIN).json()["data"] == [
        {"id": 2, "n": 2, "s": "c", "first": True}
    ]
    nothing = {"query": {"filter": {"s": {"_eq": "zzz"}}}, "data": {"s": "never"}}
    assert api.patch("/items/jobs", json=nothing, headers=ADMIN).json() == {"data": []}

    search = api.request("SEARCH", "/items/jobs", json={"query": {"filter": {"s": {"_eq": "c"}}, "fields": ["id"],
                                                                  "sort": "id", "meta": "filter_count"}}, headers=ADMIN)
    assert search.json() == {"data": [{"id": 2}, {"id": 3}], "meta": {"filter_count": 2}}
    by_keys = api.request("SEARCH", "/items/jobs?fields=id", json={"keys": [3, 1]}, headers=ADMIN)
    assert sorted(item["id"] for item in by_keys.json()["data"]) == [1, 3]

    gone = api.request("DELETE", "/items/jobs", json={"query": {"filter": {"n": {"_gte": 10}}}}, headers=ADMIN)
    assert gone.status_code == 204
    assert [item["id"] for item in api.get("/items/jobs", headers=ADMIN).json()["data"]] == [2]
    assert api.get("/items/jobs", headers=bearer("nobody-token")).status_code == 403
    assert api.request("SEARCH", "/items/jobs", json={"query": {}}, headers=bearer("nobody-token")).status_code == 403
    viewer = api.request("DELETE", "/items/jobs", json={"query": {}}, headers=bearer("victor-token"))
    assert viewer.status_code == 403
    assert [item["id"] for item in api.get("/items/jobs", headers=ADMIN).json()["data"]] == [2]
