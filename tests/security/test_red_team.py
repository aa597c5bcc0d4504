"""Red team: attacks on the merged whole that fit no single class, each against a real host
served by uvicorn over real sockets.

- A guest's text is bounded where it enters the host: the message of an error it throws (at
  a call or while registering) and a `log()` line keep at most `MAX_GUEST_TEXT` characters,
  so one call cannot put megabytes into an error response, `GET /extensions` or the log.
- A client that disconnects before its body arrived is no error of the host's: no 500, no
  traceback in the log (an anonymous client could fill the log with them).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from host.sandbox import MAX_GUEST_TEXT
from tests.security.input_support import connect, served
from tests.support import ADMIN, make_settings, wait_for, write_extension

HUGE = 1_000_000
"""Characters of the texts the guests below write (well within their memory)."""

LOUD = f"""
import {{ log }} from 'directus:api';
export default (router) => {{
  router.get('/throw', () => {{ throw new Error('x'.repeat({HUGE})); }});
  router.get('/log', () => {{ log('y'.repeat({HUGE})); return {{ status: 200, body: 'logged' }}; }});
  router.post('/echo', (req) => ({{ status: 200, body: req.body }}));
}};
"""

LOUD_AT_LOAD = f"export default () => {{ throw new Error('z'.repeat({HUGE})); }};"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("red-team")
    root = tmp / "extensions"
    write_extension(root, "loud", "endpoint", LOUD, scopes={"log": {}})
    write_extension(root, "loud-at-load", "endpoint", LOUD_AT_LOAD)
    with served(make_settings(tmp, root, extensions_sandbox_timeout=10_000)) as url:
        yield url


def cut(text: str, char: str, length: int = HUGE) -> None:
    """`text` holds at most MAX_GUEST_TEXT of the `length` `char`s written, and says how many were cut."""
    assert char * MAX_GUEST_TEXT in text
    assert char * (MAX_GUEST_TEXT + 1) not in text
    assert f"... ({length - MAX_GUEST_TEXT} more characters)" in text


def test_a_guest_error_message_is_cut(base: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    response = httpx.get(f"{base}/loud/throw", timeout=60)
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "EXTENSION_FAILED"
    cut(error["message"], "x")
    assert len(response.content) < 2 * MAX_GUEST_TEXT
    logged = [record.getMessage() for record in caplog.records if "x" * 100 in record.getMessage()]
    assert logged and all(len(message) < 2 * MAX_GUEST_TEXT for message in logged)


def test_a_guest_log_line_is_cut(base: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="exthost.extension")
    assert httpx.get(f"{base}/loud/log", timeout=60).text == "logged"
    lines = [record.getMessage() for record in caplog.records if record.name == "exthost.extension.loud"]
    assert len(lines) == 1
    cut(lines[0], "y")


def test_a_registration_error_message_is_cut(base: str) -> None:
    listed = {e["name"]: e for e in httpx.get(f"{base}/extensions", headers=ADMIN, timeout=60).json()["data"]}
    entry = listed["loud-at-load"]
    assert entry["status"] == "error"
    cut(entry["error"], "z")


@pytest.mark.parametrize(("path", "headers"), [("/loud/echo", {}), ("/items/gone", ADMIN)])
def test_a_client_leaving_mid_body_is_no_error(
    base: str, caplog: pytest.LogCaptureFixture, path: str, headers: dict[str, str]
) -> None:
    """It used to be a 500 with an `unhandled error` traceback in the log, for every such client."""
    caplog.set_level(logging.INFO)
    conn = connect(base)
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json", "Content-Length: 100",
             *(f"{name}: {value}" for name, value in headers.items())]  # fmt: skip
    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b'{"a":')
    conn.shutdown(socket.SHUT_RDWR)
    conn.close()

    def noticed() -> list[logging.LogRecord]:
        return [record for record in list(caplog.records) if path in record.getMessage()]

    records = wait_for(noticed, f"the host to notice the client leaving {path}")
    assert [record.levelno for record in records] == [logging.INFO], [r.getMessage()[:200] for r in records]
    assert "the client disconnected before sending its whole body" in records[0].getMessage()
    assert httpx.get(f"{base}/server/health", timeout=60).json() == {"status": "ok"}
