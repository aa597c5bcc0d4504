"""Red team: attacks on the merged whole that fit no single class, each against a real host
served by uvicorn over real sockets.

- A guest's text is bounded where it enters the host: the message of an error it throws (at
  a call or while registering) and a `log()` line keep at most `MAX_GUEST_TEXT` characters,
  so one call cannot put megabytes into an error response, `GET /extensions` or the log.
- A client that disconnects before its body arrived is no error of the host's: no 500, no
  traceback in the log (an anonymous client could fill the log with them).
- A configured secret is redacted from the run log in the forms a URL carries it in too: a
  remote server answering a failing `request` operation with the URL it was sent shows it
  percent-encoded.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from host.redaction import url_forms
from host.sandbox import MAX_GUEST_TEXT
from tests.security.holding import LOOPBACK_ALLOWED
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


API_KEY = "sk live/abc+def=="
"""An allow-listed `$env` value holding characters a URL carries percent-encoded."""


class _Echo(BaseHTTPRequestHandler):
    """Fails every request, answering with the URL it was sent (as many APIs do in their errors)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"error": "invalid key", "url": self.path}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("red-team")
    root = tmp / "extensions"
    write_extension(root, "loud", "endpoint", LOUD, scopes={"log": {}})
    write_extension(root, "loud-at-load", "endpoint", LOUD_AT_LOAD)
    settings = make_settings(tmp, root, extensions_sandbox_timeout=10_000, flows_env_allow_list=["RED_TEAM_API_KEY"],
                             **LOOPBACK_ALLOWED)  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RED_TEAM_API_KEY", API_KEY)
        with served(settings) as url:
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


def test_a_secret_a_url_carried_is_redacted_in_its_encoded_form(
    base: str, echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with httpx.Client(base_url=base, headers=ADMIN, timeout=60) as admin:
        flow = admin.post("/flows", json={"name": "calls an API", "trigger": "webhook", "status": "active",
                                          "accountability": "all", "options": {"method": "GET"}}).json()["data"]["id"]  # fmt: skip
        step = admin.post("/operations", json={
            "key": "call", "type": "request", "flow": flow,
            "options": {"url": f"{echo}/v1?key={{{{ $env.RED_TEAM_API_KEY }}}}", "method": "GET"},
        }).json()["data"]["id"]  # fmt: skip
        admin.patch(f"/flows/{flow}", json={"operation": step})
        assert httpx.get(f"{base}/flows/trigger/{flow}", timeout=60).status_code == 200
        runs = admin.get(f"/flows/{flow}/runs").text
        assert '"url":"/v1?key=--redacted--"' in runs, runs[:2000]
        for form in url_forms(API_KEY):
            assert form not in runs and form not in caplog.text, form
