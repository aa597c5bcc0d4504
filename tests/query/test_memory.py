"""The query language on its own: parsing, every filter operator, sort, fields, paging."""

from __future__ import annotations

from typing import Any

import pytest

from host.errors import InvalidQuery
from host.items.query import Query, compile_filter, project, query_from_params, run_query, sort_items

ITEMS: list[dict[str, Any]] = [
    {"id": 1, "title": "Alpha", "price": 10, "tags": ["a", "b"], "author": {"name": "ann"}, "done": True},
    {"id": 2, "title": "beta", "price": 25.5, "tags": [], "author": {"name": "bob"}, "done": False},
    {"id": 3, "title": "Gamma ray", "price": None, "author": None},
    {"id": "x", "title": "", "price": 7},
]


def ids(filter_: dict[str, Any]) -> list[Any]:
    predicate = compile_filter(filter_)
    return [item["id"] for item in ITEMS if predicate(item)]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"price": {"_eq": 10}}, [1]),
        ({"price": {"_eq": "10"}}, [1]),  # query strings carry no types
        ({"price": {"_neq": 10}}, [2, 3, "x"]),
        ({"price": {"_in": [7, 25.5]}}, [2, "x"]),
        ({"price": {"_in": "7,10"}}, [1, "x"]),
        ({"price": {"_nin": [7, 10]}}, [2, 3]),
        ({"price": {"_gt": 10}}, [2]),
        ({"price": {"_gte": "10"}}, [1, 2]),
        ({"price": {"_lt": 10}}, ["x"]),
        ({"price": {"_lte": 10}}, [1, "x"]),
        ({"price": {"_between": [8, 30]}}, [1, 2]),
        ({"title": {"_contains": "a"}}, [1, 2, 3]),
        ({"title": {"_icontains": "ALPHA"}}, [1]),
        ({"title": {"_ncontains": "a"}}, ["x"]),
        ({"tags": {"_contains": "b"}}, [1]),
        ({"title": {"_starts_with": "Gam"}}, [3]),
        ({"price": {"_null": True}}, [3]),
        ({"price": {"_null": "false"}}, [1, 2, "x"]),
        ({"price": {"_nnull": True}}, [1, 2, "x"]),
        ({"tags": {"_empty": True}}, [2, 3, "x"]),
        ({"done": {"_eq": "true"}}, [1]),
        ({"author": {"name": {"_eq": "bob"}}}, [2]),
        ({"done": {"_gt": 0}}, []),  # different kinds never order
        ({"author": {"_gt": "a"}}, []),
        ({"_or": [{"price": {"_lt": 8}}, {"author": {"name": {"_eq": "ann"}}}]}, [1, "x"]),
        ({"_and": [{"price": {"_gt": 5}}, {"price": {"_lt": 20}}]}, [1, "x"]),
        ({"price": {"_gt": 5}, "title": {"_contains": "l"}}, [1]),
    ],
)
def test_filter_operators(filter_: dict[str, Any], expected: list[Any]) -> None:
    assert ids(filter_) == expected


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ({"price": {"_like": 1}}, 'Unknown filter operator "_like"'),
        ({"_eq": 1}, 'Operator "_eq" needs a field'),
        ({"price": 10}, 'Invalid filter at "price"'),
        ({"_or": {}}, '"_or" needs a non-empty array'),
        ({"price": {"_in": 5}}, '"_in" needs an array'),
        ({"price": {"_null": "maybe"}}, '"_null" needs true or false'),
        ([], "expected an object"),
    ],
)
def test_malformed_filters_are_invalid_queries(filter_: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        compile_filter(filter_)


def test_query_string_forms() -> None:
    params = [
        ("fields", "id,title"),
        ("fields[]", "author.name"),
        ("sort", "-price"),
        ("limit", "2"),
        ("page", "3"),
        ("filter[_or][0][price][_gt]", "5"),
        ("filter[_or][1][title][_eq]", "x"),
        ("access_token", "ignored"),
    ]
    query = query_from_params(params, 100, 100)
    assert query == {
        "limit": "2",
        "offset": 4,
        "filter": {"_or": [{"price": {"_gt": "5"}}, {"title": {"_eq": "x"}}]},
        "fields": ["id", "title", "author.name"],
        "sort": ["-price"],
    }
    parsed = Query.from_json(query)
    assert (parsed.limit, parsed.offset, parsed.fields, parsed.sort) == (2, 4, ("id", "title", "author.name"), ("-price",))


def test_filter_as_json_and_bad_json() -> None:
    assert query_from_params([("filter", '{"a": {"_eq": 1}}')], 100, 100)["filter"] == {"a": {"_eq": 1}}
    with pytest.raises(InvalidQuery, match='"filter" is not valid JSON'):
        query_from_params([("filter", "{nope")], 100, 100)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "ten"}, '"limit" must be an integer'),
        ({"limit": -2}, '"limit" must be an integer >= -1'),
        ({"offset": -1}, '"offset" must be an integer >= 0'),
        ({"sort": ["a..b"]}, 'Invalid field "a..b"'),
        ({"fields": 3}, '"fields" must be a comma-separated string'),
        ({"meta": ["everything"]}, 'Unknown meta "everything"'),
        ({"search": "x"}, "Unknown query parameter"),
        ("limit=1", "A query must be an object"),
    ],
)
def test_invalid_queries(query: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        Query.from_json(query)


def test_sort_is_multi_key_with_missing_values_last() -> None:
    rows = [{"g": 1, "n": 2}, {"g": 0, "n": 5}, {"g": 1, "n": 9}, {"n": 1}, {"g": 0, "n": None}]
    assert [r["n"] for r in sort_items(list(rows), ["g", "-n"])] == [None, 5, 9, 2, 1]
    assert [r.get("g") for r in sort_items(list(rows), ["-g"])] == [None, 1, 1, 0, 0]


def test_fields_projection() -> None:
    item = ITEMS[0]
    assert project(item, ["title", "author.name", "missing"]) == {
        "title": "Alpha",
        "author": {"name": "ann"},
        "missing": None,
    }
    assert project(item, ["*"]) == item
    assert project(item, ["author.*"]) == {"author": {"name": "ann"}}


def test_run_query_filters_sorts_and_pages() -> None:
    query = Query.from_json({"filter": {"price": {"_nnull": True}}, "sort": ["price"], "limit": 2, "offset": 1})
    page = run_query(ITEMS, query)
    assert [item["id"] for item in page.items] == [1, 2]
    assert page.filter_count == 3
    assert len(run_query(ITEMS, Query.from_json({"limit": -1})).items) == 4
