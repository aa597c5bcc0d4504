"""The query run in the database through `/items`, on SQLite and PostgreSQL: sort, search,
meta, paging, aggregate and groupBy (checked against the in-memory evaluator), deep, alias,
and bad queries answered 400 INVALID_QUERY."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.query import Query
from host.query.lists import run_list
from tests.items.test_api import error
from tests.support import ADMIN

ROWS: list[dict[str, Any]] = [
    {"id": 1, "cat": "a", "price": 10, "qty": 1, "date": "2023-05-01T10:20:30Z", "name": "Red apple",
     "nested": {"rank": 2}},
    {"id": 2, "cat": "b", "price": 20, "qty": 2, "date": "2024-01-02T00:00:00Z", "name": "green pear",
     "nested": {"rank": 1}},
    {"id": 3, "cat": "a", "price": 30, "qty": 2, "date": "2024-07-09", "name": "Apple pie", "nested": {"rank": 3}},
    {"id": 4, "cat": None, "price": "40", "date": "soon", "name": "Plum 42", "comments": [{"n": 1}, {"n": 9}]},
    {"id": 5, "cat": "b", "price": 5.5, "qty": True, "name": "kiwi", "nested": {"rank": "x"}},
    {"id": 6, "cat": True, "price": None, "qty": [1], "name": "ÄPFEL"},
]


def get(api: TestClient, **params: Any) -> Any:
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    response = api.get("/items/shop", params=encoded, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def shop(api: TestClient) -> TestClient:
    assert api.post("/items/shop", json=ROWS, headers=ADMIN).status_code == 200
    return api


def memory(query: dict[str, Any]) -> list[dict[str, Any]]:
    rows, _ = run_list(ROWS, Query.from_json({"limit": -1, **query}))
    return rows


@pytest.mark.parametrize("sort", ["price", "-price", "cat,-id", "nested.rank", "-nested.rank,id", "qty", "-name"])
def test_sort_matches_the_memory_order(shop: TestClient, sort: str) -> None:
    ids = [row["id"] for row in get(shop, sort=sort, fields="id", limit=-1)["data"]]
    assert ids == [row["id"] for row in memory({"sort": sort, "fields": "id"})]
    if sort == "price":
        assert ids == [5, 1, 2, 3, 4, 6]  # numbers, then the string "40", then null


def test_search_limit_offset_page_meta(shop: TestClient) -> None:
    assert [r["id"] for r in get(shop, search="apple", fields="id")["data"]] == [1, 3]
    assert [r["id"] for r in get(shop, search="42", fields="id")["data"]] == [4]
    assert [r["id"] for r in get(shop, search="30", fields="id")["data"]] == [1, 3]  # in a text, or a number
    assert [r["id"] for r in get(shop, search="äpfel", fields="id")["data"]] == []  # ASCII folding only
    page = get(shop, sort="id", limit=2, page=2, fields="id", meta="*", filter={"price": {"_nnull": True}})
    assert page == {"data": [{"id": 3}, {"id": 4}], "meta": {"total_count": 6, "filter_count": 5}}
    assert [r["id"] for r in get(shop, sort="id", limit=2, offset=4, fields="id")["data"]] == [5, 6]
    assert len(get(shop, limit=-1)["data"]) == 6
    assert get(shop, meta="filter_count", limit=0, search="apple") == {"data": [], "meta": {"filter_count": 2}}


@pytest.mark.parametrize(
    "query",
    [
        {"aggregate": {"count": "*"}},
        {"aggregate": {"countAll": "*", "count": "qty", "countDistinct": "cat"}},
        {"aggregate": {"sum": "price", "avg": "price", "min": "price", "max": "price"}},
        {"aggregate": {"sumDistinct": "qty", "avgDistinct": "qty", "countDistinct": "qty"}},
        {"aggregate": {"count": "*", "sum": "price"}, "groupBy": "cat"},
        {"aggregate": {"count": "*"}, "groupBy": "cat,qty"},
        {"aggregate": {"count": "*"}, "groupBy": "year(date)"},
        {"aggregate": {"max": "price"}, "groupBy": "month(date),hour(date)"},
        {"aggregate": {"count": "*"}, "groupBy": "cat", "filter": {"price": {"_gt": 5}}},
        {"aggregate": {"sum": "price"}, "search": "apple"},
        {"aggregate": {"count": "*"}, "filter": {"price": {"_gt": 1000}}},
    ],
)
def test_aggregate_and_group_by_match_the_memory_answer(shop: TestClient, query: dict[str, Any]) -> None:
    params = {k: json.dumps(v) if k in ("aggregate", "filter") else v for k, v in query.items()}
    response = shop.get("/items/shop", params={**params, "limit": -1}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == memory(query)


def test_aggregate_shapes(shop: TestClient) -> None:
    data = get(shop, aggregate={"count": "*", "sum": "price"}, groupBy="cat")["data"]
    assert data == [
        {"cat": True, "count": 1, "sum": {"price": None}},
        {"cat": "a", "count": 2, "sum": {"price": 40}},
        {"cat": "b", "count": 2, "sum": {"price": 25.5}},
        {"cat": None, "count": 1, "sum": {"price": None}},
    ]
    years = get(shop, **{"aggregate[count]": "*", "groupBy[]": "year(date)"})["data"]
    assert years == [{"date_year": 2023, "count": 1}, {"date_year": 2024, "count": 2}, {"date_year": None, "count": 3}]


def test_fields_alias_deep_on_items(shop: TestClient) -> None:
    one = get(shop, filter={"id": {"_eq": 4}}, fields="id,n,nested.rank",
              alias=json.dumps({"n": "name"}))["data"]
    assert one == [{"id": 4, "n": "Plum 42", "nested": {"rank": None}}]
    deep = get(shop, filter={"id": {"_eq": 4}}, fields="comments",
               deep={"comments": {"_filter": {"n": {"_gt": 5}}}})["data"]
    assert deep == [{"comments": [{"n": 9}]}]
    item = shop.get("/items/shop/1?fields=name,nested.*", headers=ADMIN).json()["data"]
    assert item == {"name": "Red apple", "nested": {"rank": 2}}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("filter[price][_like]=1", 'Unknown filter operator "_like"'),
        ("filter={oops", '"filter" is not valid JSON'),
        ("filter[name][_regex]=(a%2B)%2B", "exponential"),
        ("filter[name][_regex]=[", "not a valid regular expression"),
        ("filter[price][_eq]=" + "9" * 5000, "longer than 4096"),
        ("filter[price][_in]=" + ",".join(["1"] * 1001), "at most 1000 values"),
        ("filter=" + "[" * 200 + "]" * 200, "MAX_JSON_DEPTH"),
        ("filter" + "[a]" * 150 + "[_eq]=1", "MAX_JSON_DEPTH"),
        ("sort=" + ".".join(["a"] * 150), "MAX_JSON_DEPTH"),
        ("aggregate[median]=price", 'Unknown aggregate function "median"'),
        ("groupBy=week(date)", 'Unknown function "week"'),
        ("limit=99999999999999999999999", '"limit" must be an integer'),
        ("filter[price][_eq]=$NOW(-3 eons)", "Unknown $NOW adjustment"),
        ("deep[comments][_limit]=x", '"limit" must be an integer'),
    ],
)
def test_bad_queries_are_400_invalid_query(shop: TestClient, query: str, message: str) -> None:
    status, code, text = error(shop.get(f"/items/shop?{query}", headers=ADMIN))
    assert (status, code) == (400, "INVALID_QUERY")
    assert message in text


def test_huge_numbers_and_odd_values_do_not_fail(shop: TestClient) -> None:
    for value in ("1e400", str(2**70), "-0", "NaN", "Infinity", "1e-400"):
        response = shop.get(f"/items/shop?filter[price][_gt]={value}&fields=id", headers=ADMIN)
        assert response.status_code == 200, (value, response.text)
    assert get(shop, filter={"price": {"_lt": 2**70}}, fields="id", sort="id")["data"] == [
        {"id": 1}, {"id": 2}, {"id": 3}, {"id": 5}
    ]


def test_field_names_and_values_cannot_reach_the_sql(api: TestClient) -> None:
    odd = {"it's": "x'; DROP TABLE exthost_items; --", "50%_off": "%", "a b": 1}
    api.post("/items/odd", json=[odd, {"it's": "y"}], headers=ADMIN)
    filters = [
        ({"it's": {"_eq": "x'; DROP TABLE exthost_items; --"}}, [1]),
        ({"50%_off": {"_contains": "%"}}, [1]),
        ({"it's": {"_starts_with": "%"}}, []),
        ({"it's": {"_contains": "_"}}, [1]),  # a literal "_", not a wildcard: "y" does not match
        ({"a b": {"_gte": 1}}, [1]),
    ]
    for filter_, expected in filters:
        response = api.get("/items/odd", params={"filter": json.dumps(filter_), "fields": "id"}, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert [row["id"] for row in response.json()["data"]] == expected, filter_
    status, code, _ = error(api.get('/items/odd?filter={"a\\"b":{"_eq":1}}', headers=ADMIN))
    assert (status, code) == (400, "INVALID_QUERY")
    assert len(api.get("/items/odd", headers=ADMIN).json()["data"]) == 2
