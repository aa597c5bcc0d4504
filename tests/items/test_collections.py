"""`/collections` and `/fields` (admin only) on SQLite and PostgreSQL, and the expression indexes
a field with `schema.is_indexed` gets: the compiled reads use them (read from the plans)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.items.plans import explain
from host.items.reads import page_statement
from host.query import Query
from host.query.sql import Compiler
from host.storage import Database
from tests.items.conftest import bearer
from tests.items.test_api import error
from tests.support import ADMIN


def test_create_read_list_delete_collection(api: TestClient) -> None:
    body = {
        "collection": "articles",
        "meta": {"icon": "article", "note": "News"},
        "schema": {},
        "fields": [
            {"field": "id", "type": "integer", "meta": {"hidden": True}, "schema": {"is_primary_key": True}},
            {"field": "title", "type": "string", "schema": {"is_indexed": True}},
        ],
    }
    created = api.post("/collections", json=body, headers=ADMIN)
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["collection"] == "articles"
    assert data["meta"]["icon"] == "article" and data["meta"]["collection"] == "articles"
    assert data["meta"]["singleton"] is False
    assert data["schema"] == {"name": "articles"}
    assert api.get("/collections/articles", headers=ADMIN).json()["data"] == data
    names = [c["collection"] for c in api.get("/collections", headers=ADMIN).json()["data"]]
    assert "articles" in names

    fields = api.get("/fields/articles", headers=ADMIN).json()["data"]
    assert [f["field"] for f in fields] == ["id", "title"]
    title = api.get("/fields/articles/title", headers=ADMIN).json()["data"]
    assert title["type"] == "string" and title["schema"]["is_indexed"] is True
    assert title["schema"]["name"] == "title" and title["schema"]["table"] == "articles"

    # the collection is usable at once, empty
    assert api.get("/items/articles", headers=ADMIN).json() == {"data": []}
    api.post("/items/articles", json={"title": "x"}, headers=ADMIN)
    assert api.get("/items/articles?filter[title][_eq]=x", headers=ADMIN).json()["data"] == [{"id": 1, "title": "x"}]

    assert error(api.post("/collections", json=body, headers=ADMIN))[:2] == (400, "INVALID_PAYLOAD")
    assert api.delete("/collections/articles", headers=ADMIN).status_code == 204
    assert error(api.get("/collections/articles", headers=ADMIN))[:2] == (404, "NOT_FOUND")
    assert error(api.get("/items/articles", headers=ADMIN))[:2] == (404, "NOT_FOUND")


def test_a_collection_made_by_its_first_item_is_listed_without_meta(api: TestClient) -> None:
    api.post("/items/notes", json={"text": "hi"}, headers=ADMIN)
    assert api.get("/collections/notes", headers=ADMIN).json()["data"] == {
        "collection": "notes",
        "meta": None,
        "schema": {"name": "notes"},
    }


def test_fields_create_update_delete(api: TestClient) -> None:
    api.post("/collections", json={"collection": "shop"}, headers=ADMIN)
    made = api.post("/fields/shop", json={"field": "price", "type": "float"}, headers=ADMIN)
    assert made.status_code == 200, made.text
    assert made.json()["data"]["schema"] is None
    patched = api.patch("/fields/shop/price", json={"schema": {"is_indexed": True}, "meta": {"note": "EUR"}},
                        headers=ADMIN)
    assert patched.json()["data"]["schema"]["is_indexed"] is True
    assert patched.json()["data"]["meta"] == {"collection": "shop", "field": "price", "note": "EUR"}
    assert [f["field"] for f in api.get("/fields", headers=ADMIN).json()["data"] if f["collection"] == "shop"] == [
        "price"
    ]
    assert api.delete("/fields/shop/price", headers=ADMIN).status_code == 204
    assert error(api.get("/fields/shop/price", headers=ADMIN))[:2] == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("post", "/collections", {"name": "x"}, '"collection" is required'),
        ("post", "/collections", {"collection": "bad name!"}, "Invalid collection name"),
        ("post", "/collections", {"collection": "c", "fields": [{"field": "a", "type": "nope"}]}, '"fields[0].type"'),
        ("post", "/collections", {"collection": "c", "meta": 3}, '"meta" must be an object'),
        ("post", "/fields/missing", {"field": "a"}, 'Collection "missing"'),
    ],
)
def test_bad_requests_name_the_problem(api: TestClient, method: str, path: str, body: Any, message: str) -> None:
    response = getattr(api, method)(path, json=body, headers=ADMIN)
    assert response.status_code in (400, 404)
    assert message in response.json()["errors"][0]["message"]


def test_admin_only(api: TestClient) -> None:
    assert api.get("/collections").status_code == 401
    assert api.get("/collections", headers=bearer("alice-token")).status_code == 403
    assert api.post("/fields/x", json={"field": "a"}, headers=bearer("alice-token")).status_code == 403


def _plan(db_url: str, query: dict[str, Any]) -> str:
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            compiler = Compiler(conn.dialect.name == "postgresql")
            return "\n".join(explain(conn, page_statement(compiler, "products", Query.from_json(query))))
    finally:
        db.close()


def test_an_indexed_field_is_read_through_its_index(api: TestClient, db_url: str) -> None:
    api.post("/collections", json={"collection": "products"}, headers=ADMIN)
    rows = [{"sku": f"s{i}", "price": i % 500, "category": f"c{i % 200}"} for i in range(3000)]
    for start in range(0, len(rows), 500):
        api.post("/items/products", json=rows[start : start + 500], headers=ADMIN)
    filters = [{"category": {"_eq": "c7"}}, {"price": {"_eq": "10"}}, {"price": {"_between": [3, 4]}}]
    for filter_ in filters:
        assert "exthost_ix_" not in _plan(db_url, {"filter": filter_, "sort": ["-price"], "limit": 10})
    for field in ("category", "price"):
        made = api.post("/fields/products", json={"field": field, "type": "unknown", "schema": {"is_indexed": True}},
                        headers=ADMIN)
        assert made.status_code == 200, made.text
    for filter_ in filters:
        plan = _plan(db_url, {"filter": filter_, "sort": ["-price"], "limit": 10})
        assert "exthost_ix_" in plan, plan
        response = api.get("/items/products", params={"filter": json.dumps(filter_), "limit": 3},
                           headers=ADMIN)
        assert response.status_code == 200 and response.json()["data"]
    # dropping the index flag drops the indexes
    api.patch("/fields/products/category", json={"schema": {"is_indexed": False}}, headers=ADMIN)
    assert "exthost_ix_" not in _plan(db_url, {"filter": filters[0], "limit": 10})
