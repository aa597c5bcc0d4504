"""Input, numbers and storage: numbers outside what the database stores are a 400, and
nothing can be stored that later makes a read of a collection, or of a flow's runs, fail.

Every test runs on SQLite and on PostgreSQL (the local server of tests/storage/databases.py;
skipped, saying why, when none runs). Each refused write is followed by a read of the
collection: it works, and holds exactly what was accepted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import StatementError

from host.flows.runlog import RunEntry, RunLog
from host.storage import Database
from host.storage.database import dump_json
from tests.security.input_support import deep_object_text, error_of, nested, runs_of, webhook_flow
from tests.storage.databases import BACKENDS, database
from tests.support import ADMIN, make_settings, running_host

INT64_MAX = 2**63 - 1
JSON = {**ADMIN, "Content-Type": "application/json"}


@dataclass
class Backend:
    name: str
    url: str
    client: TestClient


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    tmp = tmp_path_factory.mktemp(f"input-{request.param}")
    with database(request.param, tmp) as url, running_host(make_settings(tmp, db_url=url)) as client:
        yield Backend(request.param, url, client)


def collection(backend: Backend, name: str) -> list[Any]:
    response = backend.client.get(f"/items/{name}", params={"limit": -1}, headers=ADMIN)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["data"]
    return items


def refused(response: Any, code: str, *words: str) -> str:
    status, got, message = error_of(response)
    assert (status, got) == (400, code), response.text
    for word in words:
        assert word in message, message
    return message


# --------------------------------------------------------------------------- limit, offset, page

BAD_INTEGERS = ["1.5", "1e3", "9223372036854775808", "99999999999999999999999", "\uff11\uff12", "1_0", "0x10",
                "", "+-1", "9" * 5000, "NaN", "--1"]


@pytest.mark.parametrize("route", ["/items/numbers", "/flows", "/operations", "runs"])
def test_limit_offset_and_page_outside_the_database_are_400(backend: Backend, route: str) -> None:
    client = backend.client
    client.post("/items/numbers", json={"id": 1}, headers=ADMIN)
    if route == "runs":
        route = f"/flows/{webhook_flow(client, 'numbers')}/runs"
    names = ("limit", "offset") if route.endswith("/runs") else ("limit", "offset", "page")
    for name in names:
        for value in [*BAD_INTEGERS, {"limit": "-2", "offset": "-1", "page": "0"}[name], "-9223372036854775809"]:
            refused(client.get(route, params={name: value}, headers=ADMIN), "INVALID_QUERY", f'"{name}"')
    if "page" in names:
        for params in ({"page": INT64_MAX, "limit": 100}, {"page": 3, "limit": INT64_MAX}):
            refused(client.get(route, params=params, headers=ADMIN), "INVALID_QUERY", '"offset"')
    for params in ({"limit": INT64_MAX}, {"offset": INT64_MAX}, {"limit": -1, "offset": 0}):
        response = client.get(route, params=params, headers=ADMIN)
        assert response.status_code == 200, (params, response.text)
    assert collection(backend, "numbers") == [{"id": 1}]


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize("key", ["99999999999999999999999", "9223372036854775808", "-9223372036854775809"])
def test_an_integer_id_in_a_path_outside_64_bits_is_400(backend: Backend, key: str) -> None:
    client = backend.client
    client.post("/items/paths", json={"id": 1}, headers=ADMIN)
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"/items/paths/{key}", json={"x": 1} if method == "PATCH" else None,
                                  headers=ADMIN)
        refused(response, "INVALID_PAYLOAD", "out of range")
    for key_ok in (str(INT64_MAX), str(-(2**63)), "0099999999999999999999999"):  # in range, or not an integer
        assert client.get(f"/items/paths/{key_ok}", headers=ADMIN).status_code == 404
    refused(client.get("/items/paths/" + "k" * 256, headers=ADMIN), "INVALID_PAYLOAD", "255")
    assert collection(backend, "paths") == [{"id": 1}]


def test_primary_keys_in_bodies_outside_64_bits_are_400(backend: Backend) -> None:
    client = backend.client
    for body in ({"id": 2**63}, {"id": "9223372036854775808"}, {"id": -(2**63) - 1}, {"id": 10**30},
                 {"id": "1" * 300}):
        refused(client.post("/items/keys", json=body, headers=ADMIN), "FAILED_VALIDATION", '"id"')
    refused(client.post("/items/keys", content=b'{"id": 1e30}', headers=JSON), "FAILED_VALIDATION", '"id"')
    assert client.get("/items/keys", headers=ADMIN).status_code == 404, "the collection was created"

    assert client.post("/items/keys", json={"id": INT64_MAX}, headers=ADMIN).status_code == 200
    assert client.post("/items/keys", json={"id": -(2**63)}, headers=ADMIN).status_code == 200
    # the automatic ids have reached the end of the range: a clear refusal, not an overflow
    refused(client.post("/items/keys", json={"x": 1}, headers=ADMIN), "RECORD_NOT_UNIQUE")
    for method, body in (("PATCH", {"keys": [2**64], "data": {"x": 1}}), ("DELETE", [2**64])):
        refused(client.request(method, "/items/keys", json=body, headers=ADMIN), "INVALID_PAYLOAD", "out of range")
    assert collection(backend, "keys") == [{"id": INT64_MAX}, {"id": -(2**63)}]


def test_operation_positions_outside_their_column_are_400(backend: Backend) -> None:
    client = backend.client
    flow = client.post("/flows", json={"name": "pos", "trigger": "webhook"}, headers=ADMIN).json()["data"]["id"]
    for position in (2**31, -(2**31) - 1, 10**30):
        response = client.post("/operations", json={"key": "p", "type": "log", "flow": flow, "position_x": position},
                               headers=ADMIN)
        refused(response, "FAILED_VALIDATION", "position_x")
    made = client.post("/operations", json={"key": "p", "type": "log", "flow": flow, "position_y": 2**31 - 1},
                       headers=ADMIN)
    assert made.status_code == 200, made.text
    operation = made.json()["data"]["id"]
    refused(client.patch(f"/operations/{operation}", json={"position_y": 2**31}, headers=ADMIN), "FAILED_VALIDATION")
    assert client.get(f"/operations/{operation}", headers=ADMIN).json()["data"]["position_y"] == 2**31 - 1


# --------------------------------------------------------------------------- what a write may hold

REFUSED_BODIES = {
    "NaN": b'{"x": NaN}',
    "Infinity": b'{"x": Infinity}',
    "-Infinity": b'{"x": [-Infinity]}',
    "1e400": b'{"x": 1e400}',
    "-1e999": b'{"x": {"y": -1e999}}',
    "a long float": b'{"x": ' + b"9" * 400 + b".5}",
    "5000 digits": b'{"x": ' + b"9" * 5000 + b"}",
    "lone high surrogate": b'{"x": "\\ud800"}',
    "lone low surrogate": b'{"x": "a\\udc00b"}',
    "reversed pair": b'{"x": "\\ude00\\ud83d"}',
    "surrogate key": b'{"\\udbff": 1}',
    "NUL": b'{"x": "a\\u0000b"}',
    "NUL key": b'{"a\\u0000": 1}',
    "NUL id": b'{"id": "k\\u0000"}',
    "not UTF-8": b'{"x": "\xff\xfe"}',
    "UTF-16": '{"x": 1}'.encode("utf-16"),
}
REASONS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "1e400": "out of range",
           "-1e999": "out of range", "a long float": "out of range", "5000 digits": "4300 digits",
           "lone high surrogate": "lone surrogate", "lone low surrogate": "lone surrogate",
           "reversed pair": "lone surrogate", "surrogate key": "lone surrogate", "NUL": "NUL", "NUL key": "NUL",
           "NUL id": "NUL", "not UTF-8": "UTF-8", "UTF-16": "UTF-8"}


@pytest.mark.parametrize("case", list(REFUSED_BODIES))
def test_a_value_no_read_could_render_is_refused(backend: Backend, case: str) -> None:
    client = backend.client
    client.post("/items/values", json={"id": 1, "ok": True}, headers=ADMIN)
    body = REFUSED_BODIES[case]
    refused(client.post("/items/values", content=body, headers=JSON), "INVALID_PAYLOAD", REASONS[case])
    refused(client.patch("/items/values/1", content=body, headers=JSON), "INVALID_PAYLOAD", REASONS[case])
    assert collection(backend, "values") == [{"id": 1, "ok": True}]
    assert client.get("/items/values/1", headers=ADMIN).json()["data"] == {"id": 1, "ok": True}


@pytest.mark.parametrize("param", ["NaN", "Infinity", "1e400", "9" * 5000, '"\\ud800"', '"\\u0000"'])
def test_a_filter_holding_such_a_value_is_400(backend: Backend, param: str) -> None:
    refused(backend.client.get("/items/values", params={"filter": f'{{"x": {{"_eq": {param}}}}}'}, headers=ADMIN),
            "INVALID_QUERY", '"filter"')


def test_what_is_accepted_reads_back_exactly(backend: Backend) -> None:
    client = backend.client
    huge_key = "k" * 100_000
    documents = [
        {"id": "deep", "value": json.loads(deep_object_text(99))},  # the item is 100 levels deep
        {"id": "int", "value": int("7" * 4300), "negative": -int("8" * 4300)},
        {"id": "floats", "value": [1.7976931348623157e308, -0.0, 5e-324]},
        {"id": "emoji", "value": "\U0001f600 \u00e9 \u4e2d", "escaped": "\\u0000 \\ud800"},
        {"id": "key", huge_key: "v", "value": "x" * 500_000},
        {"id": "controls", "value": "tab\tnew\nline\x01\x1f"},
        {"id": "arrays", "value": nested(98)},
    ]
    for document in documents:
        response = client.post("/items/accepted", content=json.dumps(document), headers=JSON)
        assert response.status_code == 200, (document["id"], response.text[:200])
    read = collection(backend, "accepted")
    assert read == documents
    for document in documents:
        assert client.get(f"/items/accepted/{document['id']}", headers=ADMIN).json()["data"] == document
    sorted_ = client.get("/items/accepted", params={"sort": "-value", "filter": '{"value": {"_gt": 1}}'}, headers=ADMIN)
    assert sorted_.status_code == 200, sorted_.text


def test_a_flow_run_log_reads_back_whatever_its_trigger_held(backend: Backend) -> None:
    client = backend.client
    flow = webhook_flow(client, "storable")
    deep_body = json.dumps(nested(100))
    triggers = [
        (deep_body, {"Content-Type": "application/json"}),
        (json.dumps({"big": int("9" * 4300), "emoji": "\U0001f600"}), {"Content-Type": "application/json"}),
        ("text with a NUL \x00 inside", {"Content-Type": "text/plain"}),
        (("x" * 200_000), {"Content-Type": "text/plain"}),
    ]
    for body, headers in triggers:
        response = client.post(f"/flows/trigger/{flow}?q=%00&r=%ED%A0%80", content=body, headers=headers)
        assert response.status_code == 200, response.text[:300]
    runs = runs_of(client, flow)
    assert len(runs) == len(triggers)
    bodies = [run["data"]["$trigger"]["body"] for run in reversed(runs)]
    assert bodies[0] == nested(100) and json.dumps(bodies[0]) == deep_body
    assert bodies[1]["big"] == int("9" * 4300)
    assert bodies[2] == "text with a NUL \x00 inside"
    assert runs[0]["data"]["$trigger"]["query"]["q"] == "\x00"
    for run in runs:
        assert client.get(f"/flows/{flow}/runs", params={"limit": 1, "offset": runs.index(run)},
                          headers=ADMIN).status_code == 200


# --------------------------------------------------------------------------- the last line: the storage itself


def test_the_storage_refuses_to_write_what_it_could_not_read_back(backend: Backend) -> None:
    for value in (float("nan"), float("inf"), "\ud800", {"k": ["\udfff"]}):
        with pytest.raises(ValueError):
            dump_json(value)
    database = Database(backend.url)
    try:
        runlog = RunLog(database, "0", 1000, 1 << 20)
        good = RunEntry("flow-x", "all", "resolve", "webhook", None, datetime.now(UTC), 1, data={"ok": "\u00e9"})
        asyncio.run(runlog.record(good))
        for poison in (float("nan"), float("-inf"), "\ud800", {"\udc00": 1}):
            entry = RunEntry("flow-x", "all", "resolve", "webhook", None, datetime.now(UTC), 1, data={"v": poison})
            with pytest.raises((ValueError, StatementError)) as refused_write:
                asyncio.run(runlog.record(entry))
            cause = refused_write.value
            assert isinstance(cause.orig if isinstance(cause, StatementError) else cause, ValueError)
        assert [run["data"] for run in asyncio.run(runlog.runs("flow-x"))] == [{"ok": "\u00e9"}]
    finally:
        database.close()
