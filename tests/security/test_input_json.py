"""Input, JSON depth: nesting deeper than `MAX_JSON_DEPTH` (100) is a 400 naming the limit,
in every body, every query parameter that carries JSON, and every guest output; exactly
the limit works. Never a 500, the host stays up, and nothing is written.
"""

from __future__ import annotations

import json
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from host.jsontext import JsonRefused, JsonTooLarge, decoded_size, depth, loads
from tests.security.holding import LOOPBACK_ALLOWED
from tests.security.input_support import (
    deep_object_text,
    error_of,
    nested,
    nested_text,
    operation_flow,
    raw_output_module,
    runs_of,
    webhook_flow,
    write_input_extensions,
)
from tests.support import ADMIN, make_settings, running_host, write_extension

LIMIT = 100
TOO_DEEP = "MAX_JSON_DEPTH (100 levels)"
JSON = {**ADMIN, "Content-Type": "application/json"}

RAW_OUTPUTS = {
    "/ok": '{"done":{"status":200,"body":' + nested_text(LIMIT) + "}}",
    "/deeper": '{"done":{"status":200,"body":' + nested_text(LIMIT + 1) + "}}",
    "/bomb": '{"done":{"status":200,"body":' + nested_text(100_000) + "}}",
    "/nan": '{"done":{"status":200,"body":[NaN]}}',
    "/huge": '{"done":{"status":200,"body":[1e400]}}',
    "/surrogate": '{"done":{"status":200,"body":"\\ud800"}}',
    "/nul": '{"done":{"status":200,"body":"a\\u0000b"}}',
    "/digits": '{"done":{"status":200,"body":' + "9" * 5000 + "}}",
    "/broken": '{"done":{"status":200,"body":[1,}}',
    "/emoji": '{"done":{"status":200,"body":"\\ud83d\\ude00"}}',
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    tmp = tmp_path_factory.mktemp("input-json")
    root = tmp / "extensions"
    write_input_extensions(root)
    routes = [{"method": "GET", "path": path, "handler": index} for index, path in enumerate(RAW_OUTPUTS)]
    wasm = raw_output_module(list(RAW_OUTPUTS.values()), {"id": "raw", "routes": routes})
    write_extension(root, "raw", "endpoint", wasm, filename="index.wasm")
    with running_host(make_settings(tmp, root)) as c:
        yield c


def assert_deep_refused(response: Any, code: str = "INVALID_PAYLOAD") -> str:
    status, got, message = error_of(response)
    assert (status, got) == (400, code), response.text
    assert TOO_DEEP in message, message
    return message


def assert_up(client: TestClient) -> None:
    assert client.get("/server/health").json()["status"] in ("ok", "warn")  # warn: the database answered, slowly


# --------------------------------------------------------------------------- the decoder itself


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 0), ('"[[["', 0), ("[]", 1), ("{}", 1), ('[{"a": [1]}]', 3),
        ('["]]]", [["\\"[["]]]', 3), ('["\\\\", [[0]]]', 3), ('{"a\\"{": {"b": "}"}}', 2),
        (nested_text(LIMIT), LIMIT), (nested_text(5000, "{", "}", ""), 5000),
        ('"unterminated [[[', 0), ("[[[", 3),
    ],
)
def test_depth_is_read_from_the_text(text: str, expected: int) -> None:
    assert depth(text) == expected


def test_depth_of_quotes_and_escapes() -> None:
    """Inputs that make naive string-skipping regexes backtrack (quadratic): one pass each here."""
    assert depth('"' + '\\"' * 500_000) == 0
    assert depth('"\\' * 500_000) == 0
    assert depth('"' * 1_000_000) == 0
    assert depth("\\" * 1_000_000 + "[[]]") == 2
    assert depth("[" + '"\\[",' * 300_000 + "1]") == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (nested_text(LIMIT + 1), TOO_DEEP), (nested_text(1_000_000), TOO_DEEP),
        ("[NaN]", "NaN"), ("[Infinity]", "Infinity"), ("[-Infinity]", "-Infinity"),
        ("[1e400]", "out of range"), ("[-1e999]", "out of range"), ("[" + "9" * 400 + ".0]", "out of range"),
        ("9" * 4301, "4300 digits"), ('"\\ud800"', "lone surrogate"), ('"\\udc00\\ud800"', "lone surrogate"),
        ('{"\\ud800": 1}', "lone surrogate"), ('"\\u0000"', "NUL"), ('{"a\\u0000": 1}', "NUL"),
        ("[1,", "not valid JSON"), (b"\xff\xfe[]", "not UTF-8"),
    ],
)
def test_the_decoder_refuses(text: str | bytes, reason: str) -> None:
    with pytest.raises(JsonRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        loads(text, LIMIT)


def test_the_decoder_takes_what_is_valid() -> None:
    assert loads(nested_text(LIMIT), LIMIT) == nested(LIMIT)
    assert loads('"\\ud83d\\ude00"', LIMIT) == "\U0001f600"
    assert loads('"\\\\u0000 \\\\ud800"', LIMIT) == "\\u0000 \\ud800"  # escaped backslashes: plain text
    assert loads("9" * 4300, LIMIT) == int("9" * 4300)
    assert loads("[1.5e308, -0.0]", LIMIT) == [1.5e308, -0.0]


SHAPES = {
    "empty objects": "[" + "{}," * 30_000 + "0]",
    "empty arrays": "[" + "[]," * 30_000 + "0]",
    "nested arrays": json.dumps([[[[0]]]] * 10_000),
    "integers": "[" + "12345," * 30_000 + "0]",
    "floats": "[" + "1.5," * 30_000 + "0]",
    "strings": "[" + '"ab",' * 30_000 + "0]",
    "objects": json.dumps([{"id": i, "name": "abc", "tags": ["x", "y"]} for i in range(10_000)]),
    "keys": json.dumps({f"k{i}": i for i in range(30_000)}),
    "wide strings": json.dumps(["\U0001f600" + "x" * 100 for _ in range(3000)], ensure_ascii=False),
    "one string": json.dumps("x" * 300_000),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_decoded_size_is_an_upper_estimate(shape: str) -> None:
    """What `max_size` bounds (guest output, remote responses) is never more than the estimate."""
    text = SHAPES[shape]
    tracemalloc.start()
    try:
        value = loads(text, LIMIT)
        taken, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert value is not None
    assert taken <= decoded_size(text), (taken, decoded_size(text))
    with pytest.raises(JsonTooLarge, match=r"more than the 0\.1 MB allowed"):
        loads("[" + "{}," * 30_000 + "0]", LIMIT, 100_000)
    assert loads(text, LIMIT, decoded_size(text)) == value


# --------------------------------------------------------------------------- bodies


def body_routes(client: TestClient) -> list[tuple[str, str]]:
    flow = webhook_flow(client, "body-depth")
    operation = client.get("/operations", headers=ADMIN).json()["data"][0]["id"]
    client.post("/items/depth", json={"id": 1}, headers=ADMIN)
    return [
        ("POST", "/items/depth"), ("PATCH", "/items/depth/1"), ("PATCH", "/items/depth"), ("DELETE", "/items/depth"),
        ("POST", "/flows"), ("PATCH", f"/flows/{flow}"), ("PATCH", "/flows"), ("DELETE", "/flows"),
        ("POST", "/operations"), ("PATCH", f"/operations/{operation}"), ("PATCH", "/operations"),
        ("DELETE", "/operations"), ("POST", f"/operations/{operation}"),
        ("PATCH", "/extensions/probe"), ("POST", f"/flows/trigger/{flow}"), ("POST", "/probe/echo"),
    ]


@pytest.mark.parametrize("levels", [LIMIT + 1, 100_000])
def test_a_body_nested_too_deep_is_refused_on_every_route(client: TestClient, levels: int) -> None:
    routes = body_routes(client)
    flows_before = client.get("/flows", headers=ADMIN).json()["data"]
    for text in (nested_text(levels), deep_object_text(levels)):
        for method, path in routes:
            response = client.request(method, path, content=text, headers=JSON)
            message = assert_deep_refused(response)
            assert message.startswith("Invalid JSON body: the body is nested deeper"), (method, path, message)
    assert_up(client)
    assert client.get("/items/depth", headers=ADMIN).json()["data"] == [{"id": 1}]
    assert client.get("/flows", headers=ADMIN).json()["data"] == flows_before
    assert all(runs_of(client, flow["id"]) == [] for flow in flows_before)


def test_a_body_exactly_at_the_limit_is_stored_and_read_back(client: TestClient) -> None:
    created = client.post("/items/at-limit", content=deep_object_text(LIMIT), headers=JSON)
    assert created.status_code == 200, created.text
    item = client.get("/items/at-limit/1", headers=ADMIN).json()["data"]
    assert depth(json.dumps(item)) == LIMIT
    assert client.get("/items/at-limit", headers=ADMIN).status_code == 200

    echoed = client.post("/probe/echo", content=nested_text(LIMIT), headers=JSON)
    assert echoed.json() == {"size": len(nested_text(LIMIT))}

    flow = webhook_flow(client, "at-limit")
    ran = client.post(f"/flows/trigger/{flow}", content=nested_text(LIMIT), headers=JSON)
    assert ran.status_code == 200, ran.text
    assert ran.json()["$trigger"]["body"] == nested(LIMIT)
    assert runs_of(client, flow)[0]["data"]["$trigger"]["body"] == nested(LIMIT)


def test_a_text_body_is_not_json(client: TestClient) -> None:
    """Endpoints and webhooks read JSON only when the content type says so: deep text is just text."""
    echoed = client.post("/probe/echo", content=nested_text(100_000), headers={"Content-Type": "text/plain"})
    assert echoed.json() == {"size": 200_001 + 2}


# --------------------------------------------------------------------------- query parameters


def filter_text(levels: int) -> str:
    """A valid filter `levels` deep: `{"a": {"a": ... {"_eq": 1}}}`."""
    return '{"a":' * (levels - 1) + '{"_eq":1}' + "}" * (levels - 1)


def bracket_filter(levels: int) -> str:
    return "filter" + "[a]" * (levels - 1) + "[_eq]=1"


@pytest.mark.parametrize("route", ["/items/query-depth", "/items/query-depth/1", "/flows", "/operations"])
def test_a_query_parameter_nested_too_deep_is_refused(client: TestClient, route: str) -> None:
    client.post("/items/query-depth", json={"id": 1}, headers=ADMIN)
    deep_path = ".".join(["a"] * (LIMIT + 1))
    cases = [
        {"filter": filter_text(LIMIT + 1)},
        {"filter": nested_text(5000, "{", "}", '"a":1')},  # (a real server refuses a request line over 16 kB)
        {"filter": nested_text(5000)},
        {"fields": deep_path},
    ]
    if route.startswith("/items"):
        cases.append({"sort": deep_path})
    for params in cases:
        assert_deep_refused(client.get(route, params=params, headers=ADMIN), "INVALID_QUERY")
    for levels in (LIMIT + 1, 5000):
        assert_deep_refused(client.get(f"{route}?{bracket_filter(levels)}", headers=ADMIN), "INVALID_QUERY")
    assert_up(client)
    assert client.get("/items/query-depth", headers=ADMIN).json()["data"] == [{"id": 1}]


@pytest.mark.parametrize("route", ["/items/query-depth", "/flows", "/operations"])
def test_a_query_parameter_at_the_limit_works(client: TestClient, route: str) -> None:
    client.post("/items/query-depth", json={"id": 1}, headers=ADMIN)
    path = ".".join(["a"] * LIMIT)
    for query in (f"filter={filter_text(LIMIT)}", bracket_filter(LIMIT)):
        response = client.get(f"{route}?{query}", headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == []
    if route.startswith("/items"):
        response = client.get(route, params={"fields": path, "sort": path}, headers=ADMIN)
        assert response.status_code == 200, response.text


def test_deeply_nested_query_objects_are_refused_naming_them(client: TestClient) -> None:
    """`deep`, `alias`, `aggregate` (JSON) and `groupBy` are read like `filter`: too deep is a 400."""
    client.post("/items/query-depth", json={"id": 1}, headers=ADMIN)
    for name in ("deep", "alias", "aggregate"):
        response = client.get("/items/query-depth", params={name: nested_text(5000)}, headers=ADMIN)
        assert response.status_code == 400, (name, response.text)
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "INVALID_QUERY"
        assert f'"{name}" is nested deeper than MAX_JSON_DEPTH' in error["message"]
    response = client.get("/items/query-depth", params={"groupBy": nested_text(5000)}, headers=ADMIN)
    assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "INVALID_QUERY"


# --------------------------------------------------------------------------- guest output


def test_an_endpoint_returning_too_deep_json_is_400_naming_it(client: TestClient) -> None:
    ok = client.get(f"/probe/nest/{LIMIT}")
    assert ok.status_code == 200 and ok.json() == nested(LIMIT)
    for _ in range(8):  # more than EXTENSIONS_QUARANTINE_AFTER: not a fault, never quarantined
        message = assert_deep_refused(client.get(f"/probe/nest/{LIMIT + 1}"))
        assert message == f'Extension "probe" returned JSON nested deeper than {TOO_DEEP}'
    assert client.get(f"/probe/nest/{LIMIT}").status_code == 200
    assert_up(client)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/deeper", f'Extension "raw" returned JSON nested deeper than {TOO_DEEP}'),
        ("/bomb", f'Extension "raw" returned JSON nested deeper than {TOO_DEEP}'),
        ("/nan", "NaN, which is not valid JSON"),
        ("/huge", "a number out of range (1e400)"),
        ("/surrogate", "lone surrogate"),
        ("/nul", "NUL character"),
        ("/digits", "longer than 4300 digits"),
        ("/broken", "not valid JSON"),
    ],
)
def test_a_hand_written_module_cannot_make_the_host_fail(client: TestClient, path: str, reason: str) -> None:
    """A core module answering raw bytes: every refusal is a 400 naming the extension."""
    for _ in range(6):
        status, code, message = error_of(client.get(f"/raw{path}"))
        assert (status, code) == (400, "INVALID_PAYLOAD")
        assert message.startswith('Extension "raw" returned') and reason in message, message
    assert client.get("/raw/ok").json() == nested(LIMIT)
    assert client.get("/raw/emoji").text == "\U0001f600"
    assert_up(client)


def test_a_filter_returning_too_deep_json_writes_nothing(client: TestClient) -> None:
    created = client.post("/items/deep", json={"id": 1, "depth": LIMIT - 1}, headers=ADMIN)
    assert created.status_code == 200, created.text
    assert depth(json.dumps(client.get("/items/deep/1", headers=ADMIN).json()["data"])) == LIMIT
    message = assert_deep_refused(client.post("/items/deep", json={"id": 2, "depth": LIMIT}, headers=ADMIN))
    assert message == f'Extension "deep-hook" returned JSON nested deeper than {TOO_DEEP}'
    # deeper still, the JS runtime cannot even serialize it: a 400 from the filter all the same
    assert error_of(client.post("/items/deep", json={"id": 2, "depth": 5000}, headers=ADMIN))[0] == 400
    assert [item["id"] for item in client.get("/items/deep", headers=ADMIN).json()["data"]] == [1]
    assert_up(client)


def test_an_operation_returning_too_deep_json_rejects_and_is_logged(client: TestClient) -> None:
    fine = operation_flow(client, LIMIT)
    answered = client.post(f"/flows/trigger/{fine}", json={})
    assert answered.status_code == 200, answered.text
    assert answered.json() == nested(LIMIT)
    assert runs_of(client, fine)[0]["status"] == "resolve"

    deep = operation_flow(client, LIMIT + 1)
    refused = client.post(f"/flows/trigger/{deep}", json={}).json()  # the webhook answers $last: the rejection
    assert refused["code"] == "INVALID_PAYLOAD" and refused["status"] == 400
    assert refused["message"] == f'Extension "nest-op" returned JSON nested deeper than {TOO_DEEP}'
    run = runs_of(client, deep)[0]
    assert run["status"] == "reject"
    assert TOO_DEEP in json.dumps(run["data"])
    assert_up(client)


def test_max_json_depth_is_a_setting(tmp_path: Path) -> None:
    write_input_extensions(tmp_path / "extensions")
    with running_host(make_settings(tmp_path, tmp_path / "extensions", max_json_depth=5)) as small:
        assert small.post("/items/five", content=deep_object_text(5), headers=JSON).status_code == 200
        refused = small.post("/items/five", content=deep_object_text(6), headers=JSON)
        assert "MAX_JSON_DEPTH (5 levels)" in refused.json()["errors"][0]["message"]
        assert small.get("/probe/nest/5").status_code == 200
        assert "MAX_JSON_DEPTH (5 levels)" in small.get("/probe/nest/6").json()["errors"][0]["message"]


# --------------------------------------------------------------------------- what a remote server answers

HOSTILE: dict[str, tuple[str, bytes]] = {
    # path: (Content-Type, body) of a server an extension calls with `request`
    "/bomb": ("application/json", nested_text(100_000).encode()),
    "/deeper": ("application/json", nested_text(LIMIT + 1).encode()),
    "/nan": ("application/json", b"[NaN, Infinity]"),
    "/huge": ("application/json", b"[1e400]"),
    "/digits": ("application/json", b"9" * 5000),
    "/surrogate": ("application/json", b'"\\ud800"'),
    "/nul": ("application/json", b'"a\\u0000b"'),
    "/utf7": ("text/plain; charset=utf-7", b"+2AA-"),  # decodes to a lone surrogate
    "/escapes": ("text/plain; charset=unicode_escape", b"\\ud800"),  # so does this codec
    "/punycode": ("text/plain; charset=punycode", b"mnchen-3ya"),  # quadratic to decode: never tried
    # 4 MB that would decode to some 100 MB in the host (25 times its length): more than the guest may hold
    "/amplified": ("application/json", b"[" + b"{}," * 1_400_000 + b"0]"),
}
FINE: dict[str, tuple[str, bytes]] = {
    "/ok": ("application/json", b'{"a": [1, 2.5, "\\ud83d\\ude00"]}'),
    "/latin1": ("text/plain; charset=iso-8859-1", "caf\u00e9".encode("latin-1")),
    "/within-limit": ("application/json", nested_text(LIMIT - 1).encode()),  # the guest answers it one level deeper
}

FETCH_JSON = """
import { request } from 'directus:api';
export default (router) => router.get('/*', async (req) => {
  const { data } = await request(req.query.url);
  const size = typeof data === 'string' ? data.length : JSON.stringify(data).length;
  return { status: 200, body: { kind: typeof data, size, data: size > 100000 ? null : data } };
});
"""


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        content_type, body = {**HOSTILE, **FINE}[self.path]
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    """A host whose `fetch-json` endpoint calls a hostile server on loopback; yields (client, server URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    tmp = tmp_path_factory.mktemp("remote-json")
    root = tmp / "extensions"
    scope = {"request": {"urls": ["http://127.0.0.1:*/*"], "methods": ["GET"]}}
    write_extension(root, "fetch-json", "endpoint", FETCH_JSON, scopes=scope)
    try:
        with running_host(make_settings(tmp, root, **LOOPBACK_ALLOWED)) as client:
            yield client, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path", list(HOSTILE))
def test_a_hostile_server_cannot_make_the_host_fail(remote: tuple[TestClient, str], path: str) -> None:
    """A JSON response goes through the host's one decoder: what it refuses reaches the guest as the
    text it was, decoded in a charset browsers read (else UTF-8). Never an error, never a fault."""
    client, server = remote
    _, body = HOSTILE[path]
    for _ in range(6):  # more than EXTENSIONS_QUARANTINE_AFTER
        response = client.get("/fetch-json/", params={"url": server + path})
        assert response.status_code == 200, response.text
        got = response.json()
        text = body.decode("utf-8")  # the text as sent (UTF-8 in place of a codec refused)
        assert (got["kind"], got["size"]) == ("string", len(text)), str(got)[:300]
        assert got["data"] == (text if len(text) <= 100_000 else None), str(got)[:300]
    listed = {e["name"]: e for e in client.get("/extensions", headers=ADMIN).json()["data"]}
    assert listed["fetch-json"]["status"] == "ready"
    assert_up(client)


def test_a_valid_remote_response_still_arrives_as_sent(remote: tuple[TestClient, str]) -> None:
    client, server = remote
    ok = client.get("/fetch-json/", params={"url": server + "/ok"}).json()
    assert (ok["kind"], ok["data"]) == ("object", {"a": [1, 2.5, "\U0001f600"]})
    latin1 = client.get("/fetch-json/", params={"url": server + "/latin1"}).json()
    assert (latin1["kind"], latin1["data"]) == ("string", "caf\u00e9")
    assert client.get("/fetch-json/", params={"url": server + "/within-limit"}).json()["kind"] == "object"
    # ... and the flows' request operation through the same capability: the run log stays readable
    created = client.post("/flows", headers=ADMIN, json={
        "name": "hostile", "trigger": "webhook", "status": "active", "accountability": "all",
        "options": {"method": "POST"},
    })  # fmt: skip
    flow_id = created.json()["data"]["id"]
    step = client.post("/operations", headers=ADMIN, json={
        "key": "call", "type": "request", "flow": flow_id, "options": {"url": server + "/surrogate", "method": "GET"},
    })  # fmt: skip
    client.patch(f"/flows/{flow_id}", headers=ADMIN, json={"operation": step.json()["data"]["id"]})
    answered = client.post(f"/flows/trigger/{flow_id}", json={})
    assert answered.status_code == 200, answered.text
    assert answered.json()["data"] == '"\\ud800"'
    assert runs_of(client, flow_id)[0]["status"] == "resolve"
