"""Input, size: `MAX_PAYLOAD_SIZE` on every route, before anything is buffered.

Attacked over real sockets against a real uvicorn server: an oversized `Content-Length`
is refused from the header alone (the body is never sent), a chunked body is cut off
while it streams, a flood is cut off, and exactly the limit still works. After every
case the host answers and nothing was written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from starlette.types import Message

from host.app import create_app
from host.config import Settings, parse_byte_size
from tests.security.input_support import (
    chunk,
    connect,
    head,
    read_response,
    runs_of,
    served,
    webhook_flow,
    write_input_extensions,
)
from tests.support import ADMIN, make_settings

LIMIT = 1024 * 1024  # the default, 1mb


@dataclass
class Target:
    base: str
    client: httpx.Client
    flow: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("input-size")
    write_input_extensions(tmp / "extensions")
    with served(make_settings(tmp, tmp / "extensions")) as base, httpx.Client(base_url=base, timeout=60) as client:
        yield Target(base, client, webhook_flow(client))


def routes(target: Target) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Every kind of route: the host's API, a flow webhook, an endpoint extension, no route at all."""
    return {
        "items": ("POST", "/items/big", ADMIN),
        "webhook": ("POST", f"/flows/trigger/{target.flow}", {"Content-Type": "application/json"}),
        "endpoint": ("POST", "/probe/echo", {"Content-Type": "application/json"}),
        "unknown": ("POST", "/no-such-route/at-all", {}),
        "flows admin": ("POST", "/flows", ADMIN),
        "extensions admin": ("PATCH", "/extensions/probe", ADMIN),
    }


def assert_nothing_written(target: Target) -> None:
    assert target.client.get("/server/health").json()["status"] in ("ok", "warn")  # warn: the database answered, slowly
    assert target.client.get("/items/big", headers=ADMIN).status_code == 404, "an item was written"
    assert runs_of(target.client, target.flow) == [], "the webhook flow ran"
    assert [flow["id"] for flow in target.client.get("/flows", headers=ADMIN).json()["data"]] == [target.flow]


def assert_too_large(status: int, body: bytes) -> None:
    error = json.loads(body)["errors"][0]
    assert status == 413
    assert error["extensions"]["code"] == "CONTENT_TOO_LARGE"
    assert f"MAX_PAYLOAD_SIZE ({LIMIT} bytes)" in error["message"]


# --------------------------------------------------------------------------- the setting


def test_max_payload_size_reads_directus_sizes() -> None:
    cases = {"1mb": 1 << 20, "500kb": 500 << 10, "2MB": 2 << 20, "1.5mb": 1572864, "1 gb": 1 << 30,
             "1048576": 1048576, "100b": 100, "0": 0, 4096: 4096}
    for value, expected in cases.items():
        assert Settings(_env_file=None, max_payload_size=value).max_payload_size == expected, value
    assert Settings(_env_file=None).max_payload_size == LIMIT


@pytest.mark.parametrize("value", ["lots", "-1kb", "1 xb", "", "1e6", "0x100", -1, True, "99999999999pb"])
def test_a_bad_max_payload_size_fails_naming_the_variable(value: object) -> None:
    with pytest.raises(ValidationError, match="MAX_PAYLOAD_SIZE"):
        Settings(_env_file=None, max_payload_size=value)
    with pytest.raises(ValueError, match="MAX_PAYLOAD_SIZE"):
        parse_byte_size(value, "MAX_PAYLOAD_SIZE")


# --------------------------------------------------------------------------- Content-Length


@pytest.mark.parametrize("route", ["items", "webhook", "endpoint", "unknown", "flows admin", "extensions admin"])
@pytest.mark.parametrize("length", [LIMIT + 1, 10**15, 10**19])
def test_an_oversized_content_length_is_refused_before_the_body_is_sent(
    target: Target, route: str, length: int
) -> None:
    method, path, headers = routes(target)[route]
    with connect(target.base) as conn:
        conn.sendall(head(method, path, {**headers, "Content-Length": str(length)}))  # the body never comes
        response = read_response(conn)
    assert_too_large(response.status, response.body)
    assert response.headers["connection"] == "close"
    assert_nothing_written(target)


@pytest.mark.parametrize("value", ["abc", "-1", "1e6", "0x10", "1,2", ""])
def test_an_invalid_content_length_is_400(target: Target, value: str) -> None:
    with connect(target.base) as conn:
        conn.sendall(head("POST", "/items/big", {**ADMIN, "Content-Length": value}) + b"{}")
        response = read_response(conn)
    assert response.status == 400  # uvicorn refuses it before the host sees it
    assert_nothing_written(target)


async def _asgi(app: object, headers: list[tuple[bytes, bytes]], path: str = "/items/big") -> tuple[int, bytes]:
    """One request straight into the ASGI app (no server in front to refuse it first)."""
    sent: list[Message] = []
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("test", 80),
             "client": ("test", 1), "root_path": ""}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[operator]
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-length", b"abc")],
        [(b"content-length", b"-5")],
        [(b"content-length", b"2"), (b"content-length", b"3")],
        [(b"content-length", b"\xd9\xa2")],  # an Arabic-Indic digit: int() would take it
    ],
)
def test_the_host_itself_refuses_an_invalid_content_length(tmp_path: Path, headers: list[tuple[bytes, bytes]]) -> None:
    status, body = asyncio.run(_asgi(create_app(make_settings(tmp_path)), headers))
    assert status == 400
    assert json.loads(body)["errors"][0] == {
        "message": "Invalid Content-Length header.", "extensions": {"code": "INVALID_PAYLOAD"}}


@pytest.mark.parametrize("length", [LIMIT + 1, 10**40, 10**4000])  # past what uvicorn lets through
def test_the_host_itself_refuses_an_oversized_content_length(tmp_path: Path, length: int) -> None:
    status, body = asyncio.run(_asgi(create_app(make_settings(tmp_path)), [(b"content-length", str(length).encode())]))
    assert_too_large(status, body)


def test_a_nul_in_the_path_is_400(target: Target) -> None:
    for path in ("/items/big/%00", "/items/big%00", "/flows/%00", "/operations/a%00b", "/probe/echo%00"):
        response = target.client.get(path, headers=ADMIN)
        assert response.status_code == 400, path
        assert "NUL" in response.json()["errors"][0]["message"]
    assert_nothing_written(target)


# --------------------------------------------------------------------------- chunked


@pytest.mark.parametrize("route", ["items", "webhook", "endpoint", "flows admin", "extensions admin"])
def test_a_chunked_body_is_cut_off_at_the_limit(target: Target, route: str) -> None:
    method, path, headers = routes(target)[route]
    with connect(target.base) as conn:
        conn.sendall(head(method, path, {**headers, "Transfer-Encoding": "chunked"}))
        sent = 0
        while sent <= LIMIT:  # one byte past the limit, then wait (no last chunk)
            piece = b"x" * min(65536, LIMIT + 1 - sent)
            conn.sendall(chunk(piece))
            sent += len(piece)
        response = read_response(conn)
    assert_too_large(response.status, response.body)
    assert response.headers["connection"] == "close"
    assert_nothing_written(target)


@pytest.mark.parametrize(("path", "status"), [("/no-such-route", 404), ("/items/big", 401), ("/probe/echo", 405)])
def test_a_chunked_body_the_answer_does_not_need_is_never_read(target: Target, path: str, status: int) -> None:
    """No route, no token, a GET-only path: answered at once, and the connection ends there."""
    with connect(target.base) as conn:
        method = "PUT" if path == "/probe/echo" else "POST"
        conn.sendall(head(method, path, {"Transfer-Encoding": "chunked"}) + chunk(b"x" * 65536))
        response = read_response(conn)  # answered without waiting for the rest
        assert conn.recv(1) == b"", "the connection stayed open to read the rest"
    assert response.status == status
    assert response.headers["connection"] == "close"
    assert_nothing_written(target)


@pytest.mark.parametrize("route", ["items", "webhook", "endpoint", "unknown", "anonymous"])
def test_a_chunked_flood_is_cut_off(target: Target, route: str) -> None:
    """A client that never stops sending: the host closes the connection long before it is done."""
    method, path, headers = routes(target)[route] if route != "anonymous" else ("POST", "/items/big", {})
    flood = 256 * LIMIT
    piece = chunk(b"y" * 65536)
    sent = 0
    with connect(target.base) as conn:
        conn.sendall(head(method, path, {**headers, "Transfer-Encoding": "chunked"}))
        try:
            while sent < flood:
                conn.sendall(piece)
                sent += 65536
        except OSError:
            pass
        try:
            response = read_response(conn)
            assert response.status == {"unknown": 404, "anonymous": 401}.get(route, 413)
            assert response.headers["connection"] == "close"
        except (ConnectionError, OSError):
            pass  # reset: the host closed with the client's bytes still unread
    assert sent < flood, "the host read a 256 MB body"
    assert_nothing_written(target)


def test_a_streaming_client_gets_the_413(target: Target) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(16):
            yield b"z" * 65536
        yield b"!"  # 1 MB + 1

    response = target.client.post("/items/big", content=body(), headers=ADMIN)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "CONTENT_TOO_LARGE"
    assert_nothing_written(target)


# --------------------------------------------------------------------------- at the limit


def exact_item(size: int, key: int) -> bytes:
    start = f'{{"id": {key}, "pad": "'.encode()
    return start + b"p" * (size - len(start) - 2) + b'"}'


def test_exactly_the_limit_is_accepted(target: Target) -> None:
    body = exact_item(LIMIT, 1)
    assert len(body) == LIMIT
    created = target.client.post("/items/exact", content=body, headers=ADMIN)
    assert created.status_code == 200, created.text

    def streamed() -> Iterator[bytes]:
        data = exact_item(LIMIT, 2)
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    assert target.client.post("/items/exact", content=streamed(), headers=ADMIN).status_code == 200
    stored = target.client.get("/items/exact", params={"fields": "id"}, headers=ADMIN).json()["data"]
    assert stored == [{"id": 1}, {"id": 2}]
    assert len(target.client.get("/items/exact/2", headers=ADMIN).json()["data"]["pad"]) == LIMIT - 20

    text = json.dumps("q" * (LIMIT - 2)).encode()
    echoed = target.client.post("/probe/echo", content=text, headers={"Content-Type": "application/json"})
    assert echoed.json() == {"size": LIMIT}
    flow = webhook_flow(target.client, "exact")
    try:
        ran = target.client.post(f"/flows/trigger/{flow}", content=text, headers={"Content-Type": "application/json"})
        assert ran.status_code == 200
        assert len(ran.json()["$trigger"]["body"]) == LIMIT - 2
    finally:
        target.client.delete(f"/flows/{flow}", headers=ADMIN)


def test_a_smaller_limit_holds_on_every_route(tmp_path: Path) -> None:
    write_input_extensions(tmp_path / "extensions")
    settings = make_settings(tmp_path, tmp_path / "extensions", max_payload_size="1kb")
    with served(settings) as base, httpx.Client(base_url=base, timeout=60) as client:
        for path, headers in (("/items/small", ADMIN), ("/probe/echo", {"Content-Type": "application/json"})):
            assert client.post(path, content=json.dumps({"p": "x" * 1000}), headers=headers).status_code == 200
            # head and body in one write: the answer comes from the header alone and the connection is
            # closed, so a body sent after it could meet a reset before the client reads the 413
            body = json.dumps({"p": "x" * 1020}).encode()
            with connect(base) as conn:
                conn.sendall(head("POST", path, {**headers, "Content-Length": str(len(body))}) + body)
                refused = read_response(conn)
            assert refused.status == 413
            assert "MAX_PAYLOAD_SIZE (1024 bytes)" in json.loads(refused.body)["errors"][0]["message"]
        assert client.get("/items/small", headers=ADMIN).json()["data"] == [{"id": 1, "p": "x" * 1000}]


def test_sockets_left_open_do_not_stop_the_host(target: Target) -> None:
    """Headers promising a huge body, then silence, on many connections at once."""
    conns = []
    for _ in range(20):
        conn = connect(target.base)
        conn.sendall(head("POST", "/items/big", {**ADMIN, "Transfer-Encoding": "chunked"}) + chunk(b"a" * 1000))
        conns.append(conn)
    try:
        assert_nothing_written(target)
    finally:
        for conn in conns:
            conn.close()


def test_connections_of_bodies_within_the_limit_stay_open(target: Target) -> None:
    """Keep-alive is untouched: a chunked and a sized body under the limit, then a GET, on one connection."""
    body = b'{"a": 1}'
    with connect(target.base) as conn:
        conn.sendall(head("POST", "/probe/echo", {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
                     + chunk(body) + b"0\r\n\r\n")
        first = read_response(conn)
        conn.sendall(head("POST", "/probe/echo", {"Content-Type": "application/json",
                                                  "Content-Length": str(len(body))}) + body)
        second = read_response(conn)
        conn.sendall(head("GET", "/server/health", {}))
        third = read_response(conn)
    assert [first.json(), second.json(), third.json()] == [{"size": 7}, {"size": 7}, {"status": "ok"}]
    assert "connection" not in first.headers and "connection" not in second.headers
