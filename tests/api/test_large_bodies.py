"""5 MB bodies cross the sandbox boundary both ways, in the JS and the Python runtime, under the
default guest limits (EXTENSIONS_SANDBOX_TIMEOUT 1 s, EXTENSIONS_SANDBOX_MEMORY 100 MB); only
MAX_PAYLOAD_SIZE is raised so that a 5 MB request is accepted. How fast they cross is measured in
bench/endpoint.py, not here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from host.runtime.pool import encode_args
from tests.support import make_settings, running_host, write_extension

SIZE = 5 << 20
PATTERN = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"  # 64 characters
# a few characters of every UTF-8 length (1 to 4 bytes), so that the guest's encoder meets them all
MIXED = "aé中😀" * 4096

JS = """export default { id: 'big-js', handler: (router) => {
  router.get('/text', () => ({ status: 200, body: '%(pattern)s'.repeat(%(repeat)d) }));
  router.get('/json', () => ({ status: 200, body: { data: '%(pattern)s'.repeat(%(repeat)d), n: 1 } }));
  router.post('/echo', (req, res) => res.send(req.body));
  router.post('/echo-json', (req, res) => res.json(req.body));
} };
"""
PY = """from directus_api import endpoint

router = endpoint("big-py")


@router.get("/text")
def text(req):
    return {"status": 200, "body": "%(pattern)s" * %(repeat)d}


@router.get("/json")
def json_body(req):
    return {"status": 200, "body": {"data": "%(pattern)s" * %(repeat)d, "n": 1}}


@router.post("/echo")
def echo(req):
    return {"status": 200, "body": req["body"]}


@router.post("/echo-json")
def echo_json(req):
    return {"status": 200, "body": req["body"]}
"""
VALUES = {"pattern": PATTERN, "repeat": SIZE // len(PATTERN)}


@pytest.fixture
def big(tmp_path: Path) -> Iterator[TestClient]:
    """A host of its own for each test: every large body meets a fresh instance (a JS instance
    that serves several in a row can run out of its memory: docs/performance.md)."""
    extensions = tmp_path / "extensions"
    write_extension(extensions, "big-js", "endpoint", JS % VALUES)
    write_extension(extensions, "big-py", "endpoint", PY % VALUES, filename="index.py")
    with running_host(make_settings(tmp_path, extensions, max_payload_size=2 * SIZE)) as client:
        yield client


EXPECTED = PATTERN * (SIZE // len(PATTERN))


@pytest.mark.parametrize("endpoint", ["big-js", "big-py"])
def test_a_5mb_text_response(big: TestClient, endpoint: str) -> None:
    response = big.get(f"/{endpoint}/text")
    assert response.status_code == 200, response.text[:500]
    assert len(response.content) == SIZE
    assert response.text == EXPECTED


@pytest.mark.parametrize("endpoint", ["big-js", "big-py"])
def test_a_5mb_json_response(big: TestClient, endpoint: str) -> None:
    response = big.get(f"/{endpoint}/json")
    assert response.status_code == 200, response.text[:500]
    assert response.json() == {"data": EXPECTED, "n": 1}


@pytest.mark.parametrize("endpoint", ["big-js", "big-py"])
def test_a_5mb_text_request_comes_back(big: TestClient, endpoint: str) -> None:
    body = EXPECTED[: SIZE - len(MIXED.encode())] + MIXED if endpoint == "big-py" else EXPECTED
    response = big.post(f"/{endpoint}/echo", content=body.encode(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text[:500]
    assert response.text == body


@pytest.mark.parametrize("endpoint", ["big-js", "big-py"])
def test_a_5mb_json_request_comes_back(big: TestClient, endpoint: str) -> None:
    document = {"data": EXPECTED, "list": [1, 2.5, None, True, "x"]}
    response = big.post(f"/{endpoint}/echo-json", json=document)
    assert response.status_code == 200, response.text[:500]
    assert response.json() == document


@pytest.mark.parametrize("endpoint", ["big-js", "big-py"])
def test_text_of_every_utf8_length_comes_back(big: TestClient, endpoint: str) -> None:
    body = MIXED + "x" * 1000 + MIXED  # the JS encoder's second pass (room grown past one byte a character)
    response = big.post(f"/{endpoint}/echo", content=body.encode(), headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text[:500]
    assert response.text == body


def test_arguments_cross_as_utf8_unless_a_lone_surrogate_forbids_it() -> None:
    assert encode_args([{"body": "aé中😀"}]) == '[{"body":"aé中😀"}]'
    assert json.loads(encode_args([{"body": "a\ud800"}])) == [{"body": "a\ud800"}]
    assert encode_args([{"body": "a\ud800"}]).isascii()
