"""Parity: every filter operator and dynamic variable gives the same answer from `/items`
(compiled to SQL), the `item-read` flow operation and the `condition` operation (in memory),
on SQLite and on PostgreSQL - and the answer this test expects. The condition operation
differs only where Directus's does: a field missing from the chain fails it (`requireAll`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.query.variables import iso
from tests.flows.conftest import Api
from tests.items.conftest import bearer
from tests.storage.databases import BACKENDS, fresh_postgres_schema
from tests.support import make_settings, running_host

NOW = datetime.now(UTC)
PAST, FUTURE = iso(NOW - timedelta(hours=2)), iso(NOW + timedelta(hours=2))
ANN = bearer("ann-token")

ITEMS: list[dict[str, Any]] = [
    {"id": 1, "title": "Alpha", "price": 10, "tags": ["a", "b"], "author": {"name": "ann"}, "done": True,
     "when": PAST, "owner": "ann", "role": "editor"},
    {"id": 2, "title": "beta", "price": 25.5, "tags": [], "author": {"name": "bob"}, "done": False,
     "when": FUTURE, "owner": "bob"},
    {"id": 3, "title": "Gamma ray", "price": None, "author": None,
     "comments": [{"by": "ann", "n": 1}, {"by": "cy", "n": 5}]},
    {"id": 4, "title": "", "price": 7, "comments": [], "meta": {}},
    {"id": 5, "title": "ÄLPHA", "price": "12", "tags": ["c"], "done": "true", "role": "viewer"},
    {"id": 6, "title": "delta 10%", "price": -3, "author": {"name": "Ann"}, "comments": [{"by": "bob", "n": 2}]},
    {"id": 7, "title": "x_y", "price": 1000.0, "tags": [1, 2], "meta": {"k": 1}},
]

CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({"price": {"_eq": 10}}, [1]),
    ({"price": {"_eq": "10"}}, [1]),
    ({"price": {"_eq": "12"}}, [5]),
    ({"price": {"_eq": 1000}}, [7]),
    ({"price": {"_eq": None}}, [3]),
    ({"title": {"_eq": "beta"}}, [2]),
    ({"done": {"_eq": True}}, [1, 5]),
    ({"done": {"_eq": "true"}}, [1, 5]),
    ({"author": {"name": {"_eq": "ann"}}}, [1]),
    ({"price": {"_neq": 10}}, [2, 4, 5, 6, 7]),
    ({"price": {"_lt": 10}}, [4, 6]),
    ({"price": {"_lt": "10"}}, [4, 6]),
    ({"price": {"_lte": 10}}, [1, 4, 6]),
    ({"price": {"_gt": "10"}}, [2, 5, 7]),
    ({"price": {"_gte": 25.5}}, [2, 7]),
    ({"title": {"_gt": "b"}}, [2, 6, 7, 5]),
    ({"price": {"_in": [7, "10"]}}, [1, 4]),
    ({"title": {"_in": "Alpha,beta"}}, [1, 2]),
    ({"price": {"_nin": [7, 10]}}, [2, 5, 6, 7]),
    ({"price": {"_null": True}}, [3]),
    ({"author": {"_null": True}}, [3, 4, 5, 7]),
    ({"price": {"_null": False}}, [1, 2, 4, 5, 6, 7]),
    ({"author": {"_nnull": True}}, [1, 2, 6]),
    ({"title": {"_contains": "a"}}, [1, 2, 3, 6]),
    ({"title": {"_contains": "10%"}}, [6]),
    ({"title": {"_contains": "_"}}, [7]),
    ({"tags": {"_contains": "b"}}, [1]),
    ({"tags": {"_contains": "1"}}, [7]),
    ({"title": {"_ncontains": "a"}}, [4, 5, 7]),
    ({"title": {"_icontains": "ALPHA"}}, [1]),
    ({"title": {"_icontains": "äLPHA"}}, []),  # ASCII letters fold, "Ä" does not
    ({"title": {"_nicontains": "alpha"}}, [2, 3, 4, 5, 6, 7]),
    ({"title": {"_starts_with": "Gam"}}, [3]),
    ({"title": {"_nstarts_with": "a"}}, [1, 2, 3, 4, 5, 6, 7]),
    ({"title": {"_istarts_with": "al"}}, [1]),
    ({"title": {"_nistarts_with": "AL"}}, [2, 3, 4, 5, 6, 7]),
    ({"title": {"_ends_with": "ray"}}, [3]),
    ({"title": {"_iends_with": "PHA"}}, [1, 5]),
    ({"title": {"_nends_with": "a"}}, [3, 4, 5, 6, 7]),
    ({"title": {"_niends_with": "A"}}, [3, 4, 6, 7]),
    ({"price": {"_between": [5, 20]}}, [1, 4]),  # "12" is a string: compared as text,
    ({"price": {"_between": "5,20"}}, [1, 4]),
    ({"price": {"_nbetween": [5, 20]}}, [2, 5, 6, 7]),
    ({"tags": {"_empty": True}}, [2, 3, 4, 6]),
    ({"meta": {"_empty": True}}, [1, 2, 3, 4, 5, 6]),
    ({"title": {"_empty": False}}, [1, 2, 3, 5, 6, 7]),
    ({"tags": {"_nempty": True}}, [1, 5, 7]),
    ({"title": {"_regex": "^[a-z]+$"}}, [2]),
    ({"title": {"_regex": "a.*y"}}, [3]),
    ({"title": {"_regex": "\\d+%"}}, [6]),
    ({"comments": {"_some": {"by": {"_eq": "ann"}}}}, [3]),
    ({"comments": {"_some": {"n": {"_gt": 1}}}}, [3, 6]),
    ({"comments": {"_none": {"by": {"_eq": "ann"}}}}, [4, 6]),
    ({"tags": {"_some": {"_eq": "c"}}}, [5]),
    ({"_or": [{"price": {"_lt": 0}}, {"author": {"name": {"_eq": "bob"}}}]}, [2, 6]),
    ({"_and": [{"price": {"_gt": 5}}, {"price": {"_lt": 20}}]}, [1, 4]),
    ({"price": {"_gt": 5}, "title": {"_contains": "l"}}, [1]),
    ({"when": {"_lt": "$NOW"}}, [1]),
    ({"when": {"_gt": "$NOW(-1 hour)"}}, [2]),
    ({"when": {"_lt": "$NOW(+3 hours)"}}, [1, 2]),
    ({"owner": {"_eq": "$CURRENT_USER"}}, [1]),
    ({"role": {"_eq": "$CURRENT_ROLE"}}, [1]),
    ({"role": {"_in": ["$CURRENT_ROLE", "viewer"]}}, [1, 5]),
]


@pytest.fixture(scope="module", params=BACKENDS)
def parity(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("parity")
    with ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(fresh_postgres_schema())
        else:
            url = f"sqlite:///{tmp / 'parity.db'}"
        settings = make_settings(tmp, db_url=url, user_tokens="ann-token:ann:editor",
                                 items_permissions={"editor": {"*": ["*"]}})
        client = stack.enter_context(running_host(settings))
        assert client.post("/items/parity", json=ITEMS, headers=ANN).status_code == 200
        api = Api(client)
        read_flow, _ = api.build(
            {"name": "read", "trigger": "webhook", "options": {"method": "POST", "return": "$last"}},
            [{"key": "read", "type": "item-read",
              "options": {"collection": "parity", "query": "{{ $trigger.body.query }}"}}],
        )
        condition_flow, _ = api.build(
            {"name": "condition", "trigger": "webhook", "options": {"method": "POST", "return": "$last"}},
            [
                {"key": "check", "type": "condition", "options": {"filter": "{{ $trigger.body.filter }}"}},
                {"key": "yes", "type": "transform", "options": {"json": {"ok": True}}},
                {"key": "no", "type": "transform", "options": {"json": {"ok": False}}},
            ],
            links=[("check", "resolve", "yes"), ("check", "reject", "no")],
        )
        yield {"client": client, "read": read_flow, "condition": condition_flow}


def _from_items(client: TestClient, filter_: dict[str, Any]) -> list[int]:
    response = client.get("/items/parity", params={"filter": json.dumps(filter_), "fields": "id", "limit": -1,
                                                   "sort": "id"}, headers=ANN)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def _from_item_read(client: TestClient, flow: str, filter_: dict[str, Any]) -> list[int]:
    query = {"filter": filter_, "fields": ["id"], "limit": -1, "sort": ["id"]}
    response = client.post(f"/flows/trigger/{flow}", json={"query": query}, headers=ANN)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def _from_condition(client: TestClient, flow: str, filter_: dict[str, Any]) -> list[int]:
    found = []
    for item in ITEMS:
        body = {"item": item, "filter": {"$trigger": {"body": {"item": filter_}}}}
        response = client.post(f"/flows/trigger/{flow}", json=body, headers=ANN)
        assert response.status_code == 200, response.text
        if response.json() == {"ok": True}:
            found.append(item["id"])
        else:
            assert response.json() == {"ok": False}
    return found


@pytest.mark.parametrize(("filter_", "expected"), CASES, ids=[json.dumps(c[0])[:60] for c in CASES])
def test_same_answer_everywhere(parity: dict[str, Any], filter_: dict[str, Any], expected: list[int]) -> None:
    client = parity["client"]
    answers = {
        "/items": _from_items(client, filter_),
        "item-read": _from_item_read(client, parity["read"], filter_),
        "condition": _from_condition(client, parity["condition"], filter_),
    }
    assert answers == {"/items": sorted(expected), "item-read": sorted(expected),
                       "condition": _condition_expected(filter_, expected)}


def _condition_expected(filter_: dict[str, Any], expected: list[int]) -> list[int]:
    """The one difference, Directus's own: the condition operation validates the chain with
    `requireAll`, so an item that lacks a field the filter names fails it (`"..." is required`),
    where `/items` reads the missing field as null (`_null`, `_empty` match it)."""
    named = [key for key in filter_ if not key.startswith("_")]
    by_id = {item["id"]: item for item in ITEMS}
    return sorted(i for i in expected if all(key in by_id[i] for key in named))
