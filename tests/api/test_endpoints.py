"""Endpoint extensions over HTTP: routing, requests, responses (real JS sandboxes)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support import ADMIN, write_extension

HostFactory = Callable[..., AbstractContextManager[TestClient]]

ROUTER = """
import { log } from 'directus:api';
export default (router) => {
  router.get('/', () => ({ status: 200, body: 'Hello World' }));
  router.get('/items/:id', (req) => ({ status: 200, body: { params: req.params, query: req.query } }));
  router.get('/users/:user/posts/:post', (req) => ({ status: 200, body: req.params }));
  router.post('/items', async (req) => ({ status: 201, body: { created: req.body, method: req.method } }));
  router.put('/items/:id', (req) => ({ status: 200, body: { put: req.params.id, body: req.body } }));
  router.patch('/items/:id', (req) => ({ status: 200, body: { patch: req.params.id, body: req.body } }));
  router.delete('/items/:id', () => ({ status: 204 }));
  router.get('/request', (req) => ({ status: 200, body: {
    url: req.url, path: req.path, method: req.method, headers: req.headers, accountability: req.accountability } }));
  router.post('/echo-text', (req) => ({ status: 200, body: req.body }));
  router.get('/html', () => ({ status: 200, body: '<h1>hi</h1>', headers: { 'Content-Type': 'text/html; charset=utf-8', 'X-Custom': 'yes' } }));
  router.get('/json-array', () => ({ status: 200, body: [1, 2, 3] }));
  router.get('/teapot', () => ({ status: 418, body: { short: 'and stout' } }));
  router.get('/throws', () => { throw new Error('kaboom'); });
  router.get('/rejects', async () => { throw new TypeError('async kaboom'); });
  router.get('/not-a-response', () => 'just a string');
  router.get('/nothing', () => {});
  router.get('/bad-status', () => ({ status: 99, body: 'x' }));
  router.get('/bad-header', () => ({ status: 200, body: 'x', headers: { 'X-Evil': 'a\\r\\nSet-Cookie: x=1' } }));
  router.get('/express', (req, res) => res.status(202).json({ express: true }));
  router.post('/echo-json', (req) => ({ status: 200, body: { body: req.body, keys: Object.keys(req) } }));
  router.get('/status-text', () => ({ status: '201', body: 'made' }));
  router.get('/extra-field', () => ({ status: 200, body: 'x', cookies: 'no' }));
  router.get('/header-number', () => ({ status: 200, body: 'x', headers: { 'X-Count': 3 } }));
  router.get('/headers-null', () => ({ status: 200, body: 'x', headers: null }));
};
"""


@pytest.fixture
def demo(extensions_dir: Path, host: HostFactory) -> TestClient:
    write_extension(extensions_dir, "demo", "endpoint", ROUTER, scopes={"log": {}})
    with host() as client:
        yield client  # type: ignore[misc]


def test_root_route_returns_text(demo: TestClient) -> None:
    response = demo.get("/demo")
    assert response.status_code == 200
    assert response.text == "Hello World"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_params_and_query(demo: TestClient) -> None:
    response = demo.get("/demo/items/42?a=1&b=2&b=3")
    assert response.json() == {"params": {"id": "42"}, "query": {"a": "1", "b": ["2", "3"]}}
    assert demo.get("/demo/users/7/posts/9").json() == {"user": "7", "post": "9"}


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("POST", "/demo/items", 201, {"created": {"x": 1}, "method": "POST"}),
        ("PUT", "/demo/items/5", 200, {"put": "5", "body": {"x": 1}}),
        ("PATCH", "/demo/items/5", 200, {"patch": "5", "body": {"x": 1}}),
    ],
)
def test_methods_with_json_bodies(demo: TestClient, method: str, path: str, status: int, expected: object) -> None:
    response = demo.request(method, path, json={"x": 1})
    assert response.status_code == status
    assert response.json() == expected
    assert response.headers["content-type"] == "application/json"


def test_delete_without_body(demo: TestClient) -> None:
    response = demo.delete("/demo/items/5")
    assert response.status_code == 204
    assert response.content == b""


def test_method_not_registered_is_method_not_allowed_with_allow(demo: TestClient) -> None:
    response = demo.delete("/demo/items")
    assert response.status_code == 405
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "POST, OPTIONS"
    unmatched = demo.delete("/demo/no/such/route")  # no route at the path at all
    assert unmatched.status_code == 404
    assert unmatched.json()["errors"][0]["extensions"]["code"] == "ROUTE_NOT_FOUND"


def test_unknown_endpoint_is_route_not_found(demo: TestClient) -> None:
    response = demo.get("/nothing-here/at-all")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"message": 'Route "/nothing-here/at-all" doesn\'t exist.', "extensions": {"code": "ROUTE_NOT_FOUND"}}]
    }


def test_request_object(demo: TestClient) -> None:
    body = demo.get("/demo/request?x=1", headers={"X-Test": "yes"}).json()
    assert body["url"] == "/request?x=1"
    assert body["path"] == "/request"
    assert body["method"] == "GET"
    assert body["headers"]["x-test"] == "yes"
    assert body["accountability"] is None
    with_token = demo.get("/demo/request", headers=ADMIN).json()
    assert with_token["accountability"]["admin"] is True
    assert "authorization" not in with_token["headers"]


def test_text_body_is_passed_as_string(demo: TestClient) -> None:
    response = demo.post("/demo/echo-text", content="plain words", headers={"Content-Type": "text/plain"})
    assert response.text == "plain words"


def test_json_body_reaches_the_handler_as_sent(demo: TestClient) -> None:
    """The body's own text goes to the guest (not decoded and encoded again): whatever its
    spacing and escapes, the handler gets the value it encodes, in a request whose fields
    are in `EndpointRequest`'s order."""
    sent = (
        '{ "text" : "caf\\u00e9 été \\ud83d\\ude00 \\"q\\" \\\\",\n'
        ' "big": 9007199254740991, "n": [1.5e3, -0.0, true, null],\t"deep": {"a": [[]]} }'
    )
    response = demo.post("/demo/echo-json", content=sent.encode(), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["body"] == {"text": 'café été 😀 "q" \\', "big": 9007199254740991,
                              "n": [1500, 0, True, None], "deep": {"a": [[]]}}
    assert answer["keys"][:8] == ["url", "method", "path", "params", "query", "headers", "body", "accountability"]
    blank = demo.post("/demo/echo-json", content=b"  ", headers={"Content-Type": "application/json"})
    assert blank.json()["body"] is None


def test_responses_the_model_coerces_or_refuses_as_before(demo: TestClient) -> None:
    """What is not plainly a response goes through `EndpointResponse`: coerced, or refused naming the field."""
    made = demo.get("/demo/status-text")
    assert (made.status_code, made.text) == (201, "made")
    for path, fragment in [
        ("/demo/extra-field", "cookies: Extra inputs are not permitted"),
        ("/demo/header-number", "headers.X-Count: Input should be a valid string"),
        ("/demo/headers-null", "headers: Input should be a valid dictionary"),
    ]:
        response = demo.get(path)
        assert response.status_code == 500, path
        assert fragment in response.json()["errors"][0]["message"], path


def test_bad_json_body_is_invalid_payload(demo: TestClient) -> None:
    response = demo.post("/demo/items", content="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_PAYLOAD"
    assert "not valid JSON" in error["message"]
    latin = demo.post("/demo/items", content=b'{"x": "\xff"}', headers={"Content-Type": "application/json"})
    assert latin.status_code == 400
    assert latin.json()["errors"][0]["message"] == "Invalid JSON body: the body is not UTF-8 text"


def test_extension_set_headers_and_content_type(demo: TestClient) -> None:
    response = demo.get("/demo/html")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["x-custom"] == "yes"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_json_array_and_custom_status(demo: TestClient) -> None:
    assert demo.get("/demo/json-array").json() == [1, 2, 3]
    teapot = demo.get("/demo/teapot")
    assert teapot.status_code == 418
    assert teapot.json() == {"short": "and stout"}


def test_express_style_response(demo: TestClient) -> None:
    response = demo.get("/demo/express")
    assert response.status_code == 202
    assert response.json() == {"express": True}


@pytest.mark.parametrize(("path", "message"), [("/demo/throws", "kaboom"), ("/demo/rejects", "async kaboom")])
def test_throwing_handler_is_extension_failed(demo: TestClient, path: str, message: str) -> None:
    response = demo.get(path)
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": "EXTENSION_FAILED"}}]}


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/demo/not-a-response", "returned a str, not a response object"),
        ("/demo/nothing", "returned nothing, not a response object"),
        ("/demo/bad-status", "status"),
        ("/demo/bad-header", "header that is not allowed"),
    ],
)
def test_handler_returning_a_non_response(demo: TestClient, path: str, fragment: str) -> None:
    response = demo.get(path)
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "EXTENSION_FAILED"
    assert fragment in error["message"]
    assert demo.get("/demo").status_code == 200


def test_config_object_endpoint_uses_its_id(extensions_dir: Path, host: HostFactory) -> None:
    source = (
        "export default { id: 'hello', handler: (router) => {"
        " router.get('/', (req, res) => res.send('Hello, World!'));"
        " router.get('/intro', (req, res) => res.send('Nice to meet you.')); } };"
    )
    write_extension(extensions_dir, "package-name", "endpoint", source)
    with host() as client:
        assert client.get("/hello").text == "Hello, World!"
        assert client.get("/hello/intro").text == "Nice to meet you."
        assert client.get("/package-name").status_code == 404
