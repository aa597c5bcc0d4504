"""The query on its own: parsing and validation, the in-memory evaluator, sort, fields, paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from host.errors import InvalidQuery
from host.query import Query, query_from_params
from host.query.filter import parse_filter
from host.query.lists import run_list
from host.query.memory import matches, sort_rows
from host.query.model import Sort
from host.query.project import project
from host.query.variables import now_value
from host.types import Accountability

ITEMS: list[dict[str, Any]] = [
    {"id": 1, "title": "Alpha", "price": 10, "tags": ["a", "b"], "author": {"name": "ann"}, "done": True},
    {"id": 2, "title": "beta", "price": 25.5, "tags": [], "author": {"name": "bob"}, "done": False},
    {"id": 3, "title": "Gamma ray", "price": None, "author": None},
    {"id": "x", "title": "", "price": 7},
]


def ids(filter_: dict[str, Any]) -> list[Any]:
    node = parse_filter(filter_, None, datetime.now(UTC), 100)
    return [item["id"] for item in ITEMS if matches(node, item)]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"price": {"_eq": 10}}, [1]),
        ({"price": {"_eq": "10"}}, [1]),  # query strings carry no types
        ({"price": {"_neq": 10}}, [2, "x"]),  # a negation needs a value (as Directus's SQL)
        ({"price": {"_in": "7,10"}}, [1, "x"]),
        ({"price": {"_gte": "10"}}, [1, 2]),
        ({"title": {"_ncontains": "a"}}, ["x"]),
        ({"tags": {"_empty": True}}, [2, 3, "x"]),
        ({"done": {"_gt": 0}}, []),  # different kinds never order
        ({"author": {"_gt": "a"}}, []),
        ({"_or": [{"price": {"_lt": 8}}, {"author": {"name": {"_eq": "ann"}}}]}, [1, "x"]),
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
        ({"price": {"_between": [1]}}, '"_between" needs an array of two values'),
        ({"price": {"_null": "maybe"}}, '"_null" needs true or false'),
        ({"price": {"_eq": {"a": 1}}}, '"_eq" needs a string, a number'),
        ({"price": {"_eq": "x" * 5000}}, "longer than 4096"),
        ({"price": {"_in": list(range(1001))}}, "at most 1000 values"),
        ({"title": {"_regex": "("}}, "not a valid regular expression"),
        ({"title": {"_regex": "(a+)+$"}}, "exponential"),
        ({"title": {"_regex": "(?=a)"}}, "no look-around"),
        ({"title": {"_regex": "a" * 300}}, "longer than 256"),
        ({"title": {"_regex": "a{1,300}"}}, "repeat counts go up to 255"),
        ({"title": {"_regex": "\\bword"}}, 'does not support "\\b"'),
        ({'ti"tle': {"_eq": 1}}, "Invalid field name"),
        ({"when": {"_gt": "$NOW(-1 fortnight)"}}, "Unknown $NOW adjustment"),
        ([], "expected an object"),
    ],
)
def test_malformed_filters_are_invalid_queries(filter_: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=re.escape(message)):
        parse_filter(filter_, None, datetime.now(UTC), 100)


def test_filters_deeper_than_the_limit_are_refused() -> None:
    deep: dict[str, Any] = {"v": {"_eq": 1}}
    for _ in range(12):
        deep = {"_and": [deep]}
    with pytest.raises(InvalidQuery, match="MAX_JSON_DEPTH"):
        parse_filter(deep, None, datetime.now(UTC), 10)


def test_dynamic_variables() -> None:
    moment = datetime(2024, 1, 31, 12, 0, 0, tzinfo=UTC)
    assert now_value("$NOW", moment) == "2024-01-31T12:00:00.000Z"
    assert now_value("$NOW(-1 hour)", moment) == "2024-01-31T11:00:00.000Z"
    assert now_value("$NOW(+1 month)", moment) == "2024-02-29T12:00:00.000Z"
    assert now_value("$NOW(-2 years)", moment) == "2022-01-31T12:00:00.000Z"
    who = Accountability(user="ann", role="editor")
    query = Query.from_json({"filter": {"owner": {"_in": ["$CURRENT_USER", "$CURRENT_ROLE"]}}}, who, now=moment)
    assert query.filter_json == {"owner": {"_in": ["ann", "editor"]}}
    anonymous = Query.from_json({"filter": {"owner": {"_eq": "$CURRENT_USER"}}})
    assert anonymous.filter_json == {"owner": {"_eq": None}}


def test_query_string_forms() -> None:
    params = [
        ("fields", "id,title"),
        ("fields[]", "author.name"),
        ("sort", "-price"),
        ("limit", "2"),
        ("page", "3"),
        ("filter[_or][0][price][_gt]", "5"),
        ("filter[_or][1][title][_eq]", "x"),
        ("aggregate[sum]", "price"),
        ("groupBy[]", "year(date)"),
        ("deep[comments][_limit]", "1"),
        ("alias[headline]", "title"),
        ("search", "al"),
        ("access_token", "ignored"),
    ]
    raw = query_from_params(params, 100, 100)
    assert raw["filter"] == {"_or": [{"price": {"_gt": "5"}}, {"title": {"_eq": "x"}}]}
    query = Query.from_json(raw)
    assert (query.limit, query.offset, query.fields) == (2, 4, ("id", "title", "author.name"))
    assert query.sort == (Sort(("price",), True),)
    assert query.aggregate == (("sum", "price"),)
    assert [g.key for g in query.group_by] == ["date_year"]
    assert query.deep == {"comments": {"_limit": "1"}}
    assert query.alias == {"headline": "title"}
    assert query.search == "al"
    with pytest.raises(InvalidQuery, match='"filter" is not valid JSON'):
        query_from_params([("filter", "{nope")], 100, 100)
    with pytest.raises(InvalidQuery, match=r'either "filter" as JSON or "filter\[\.\.\.\]"'):
        query_from_params([("filter", "{}"), ("filter[a][_eq]", "1")], 100, 100)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "ten"}, '"limit" must be an integer'),
        ({"limit": -2}, '"limit" must be an integer >= -1'),
        ({"offset": -1}, '"offset" must be an integer >= 0'),
        ({"sort": ["a..b"]}, 'Invalid field "a..b"'),
        ({"fields": 3}, '"fields" must be a comma-separated string'),
        ({"meta": ["everything"]}, 'Unknown meta "everything"'),
        ({"aggregate": {"median": "x"}}, 'Unknown aggregate function "median"'),
        ({"aggregate": {"sum": "*"}}, '"aggregate\\[sum\\]" needs a field'),
        ({"groupBy": ["weekday(x)"]}, 'Unknown function "weekday"'),
        ({"deep": {"c": {"_bogus": 1}}}, 'Unknown "deep" parameter "_bogus"'),
        ({"deep": {"c": {"_filter": {"a": {"_nope": 1}}}}}, 'Unknown filter operator "_nope"'),
        ({"alias": {"a.b": "c"}}, 'may not hold a "."'),
        ({"bogus": 1}, "Unknown query parameter"),
        ("limit=1", "A query must be an object"),
    ],
)
def test_invalid_queries(query: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        Query.from_json(query)


def test_sort_is_multi_key_with_missing_values_last() -> None:
    rows = [{"g": 1, "n": 2}, {"g": 0, "n": 5}, {"g": 1, "n": 9}, {"n": 1}, {"g": 0, "n": None}]
    by = Query.from_json({"sort": ["g", "-n"]}).sort
    assert [r["n"] for r in sort_rows(list(rows), by)] == [None, 5, 9, 2, 1]
    assert [r.get("g") for r in sort_rows(list(rows), Query.from_json({"sort": "-g"}).sort)] == [None, 1, 1, 0, 0]
    mixed = [{"v": "b"}, {"v": 2}, {"v": True}, {"v": None}, {"v": [1]}, {"v": "a"}, {"v": 1.5}, {"v": False}]
    ordered = [r["v"] for r in sort_rows(list(mixed), Query.from_json({"sort": "v"}).sort)]
    assert ordered == [False, True, 1.5, 2, "a", "b", [1], None]


def test_fields_alias_and_deep() -> None:
    item = {**ITEMS[0], "comments": [{"n": 3, "by": "a"}, {"n": 1, "by": "b"}, {"n": 2, "by": "a"}]}
    assert project(item, ["title", "author.name", "missing"]) == {
        "title": "Alpha",
        "author": {"name": "ann"},
        "missing": None,
    }
    assert project(item, ["*"]) == item == project(item, ["*.*"])
    assert project(item, ["author.*"]) == {"author": {"name": "ann"}}
    assert project(item, ["id", "headline"], {"headline": "title"}) == {"id": 1, "headline": "Alpha"}
    query = Query.from_json({"fields": ["comments"], "deep": {"comments": {"_filter": {"by": {"_eq": "a"}},
                                                                            "_sort": "-n", "_limit": 1}}})
    rows, _ = run_list([item], query)
    assert rows == [{"comments": [{"n": 3, "by": "a"}]}]


def test_lists_in_memory_page_count_and_aggregate() -> None:
    rows, meta = run_list(ITEMS, Query.from_json({"filter": {"price": {"_nnull": True}}, "sort": ["price"],
                                                 "limit": 2, "offset": 1, "meta": "*"}))
    assert [row["id"] for row in rows] == [1, 2]
    assert meta == {"total_count": 4, "filter_count": 3}
    aggregated, _ = run_list(ITEMS, Query.from_json({"aggregate": {"count": "*", "sum": "price", "max": "price",
                                                                   "countDistinct": "done"}}))
    assert aggregated == [{"count": 4, "sum": {"price": 42.5}, "max": {"price": 25.5}, "countDistinct": {"done": 2}}]
    search, _ = run_list(ITEMS, Query.from_json({"search": "RAY", "fields": "id"}))
    assert search == [{"id": 3}]
