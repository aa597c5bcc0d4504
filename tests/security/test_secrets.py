"""Secrets (docs/security.md "Secrets"): callers' credentials never reach a guest, no log
shows a token, the run log redacts configured secrets by value and caps its entries,
and Run Script keeps nothing from one run to the next.

One real host per module, served by uvicorn over real HTTP (in this process, so the
log records can be captured), with real JS extensions that echo everything they are
given; one more test runs `exthost serve` and reads what it prints.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from uvicorn.logging import AccessFormatter

from host.app import create_app
from host.flows.clip import TRUNCATED, fit, size
from host.flows.runlog import RunEntry, RunLog
from host.paths import PROJECT_ROOT
from host.redaction import REDACTED, guest_headers, guest_query, is_token_parameter
from tests.support import ADMIN_TOKEN, TEST_CACHE, make_settings, wait_for, write_extension

USER_TOKEN = "us3r-Tok3n-b81d04aa93"
SMTP_PASSWORD = "smtp-Pa55-e0c1d2f3"
ENV_SECRET = "env-S3cret-4471aa0b"
SHORT_ENV = "en-US"
CALLER_TOKENS = (ADMIN_TOKEN, USER_TOKEN)
CONFIGURED = (ADMIN_TOKEN, USER_TOKEN, SMTP_PASSWORD, ENV_SECRET)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
MAX_ENTRY_BYTES = 16384

ECHO = """
export default (router) => {
  const echo = (req) => ({ status: 200, body: req });
  router.get('/', echo);
  router.post('/', echo);
  router.get('/deep/:id', echo);
};
"""

LOGGER = """
import { log } from 'directus:api';
export default (router) => {
  router.post('/', (req) => { log('the body was ' + JSON.stringify(req.body)); return { status: 204 }; });
};
"""

DUMP_OPERATION = "export default { id: 'dump-op', handler: (options, context) => ({ options, context }) };"

DUMP_HOOK = """
export default ({ filter }) => {
  filter('items.create', (payload, meta) => ({ ...payload, seen: JSON.stringify({ payload, meta }) }));
};
"""

STATEFUL_SCRIPT = """
let counter = 0;
module.exports = function (data) {
  counter += 1;
  const seen = {
    counter,
    global: globalThis.leaked === undefined ? null : globalThis.leaked,
    objectPrototype: ({}).polluted === undefined ? null : ({}).polluted,
    arrayPrototype: [].leaky === undefined ? null : [].leaky,
    stringPrototype: typeof ''.shout === 'function' ? 'polluted' : null,
    json: JSON.parse.patched === true ? 'patched' : null,
    locked: Object.getOwnPropertyDescriptor(Object.prototype, 'locked') ? 'locked' : null,
  };
  globalThis.leaked = data.$trigger.body.secret;
  Object.prototype.polluted = data.$trigger.body.secret;
  Array.prototype.leaky = data.$trigger.body.secret;
  String.prototype.shout = function () { return 'x'; };
  const parse = JSON.parse;
  JSON.parse = function (text) { return parse(text); };
  JSON.parse.patched = true;
  Object.defineProperty(Object.prototype, 'locked', { value: data.$trigger.body.secret, configurable: false });
  return seen;
};
"""

READING_SCRIPT = """
module.exports = function () {
  return {
    counter: 1,
    global: globalThis.leaked === undefined ? null : globalThis.leaked,
    objectPrototype: ({}).polluted === undefined ? null : ({}).polluted,
    arrayPrototype: [].leaky === undefined ? null : [].leaky,
    stringPrototype: typeof ''.shout === 'function' ? 'polluted' : null,
    json: JSON.parse.patched === true ? 'patched' : null,
    locked: Object.getOwnPropertyDescriptor(Object.prototype, 'locked') ? 'locked' : null,
  };
};
"""
CLEAN = {
    "counter": 1, "global": None, "objectPrototype": None, "arrayPrototype": None,
    "stringPrototype": None, "json": None, "locked": None,
}


# -- the host -----------------------------------------------------------------------


@dataclass
class Live:
    app: FastAPI
    http: httpx.Client

    def build(self, flow: dict[str, Any], operations: list[dict[str, Any]]) -> str:
        """A flow whose operations resolve one into the next, in order; returns its id."""
        flow_id = self.admin("POST", "/flows", flow)["id"]
        ids = [
            self.admin("POST", "/operations", {"position_x": 19 + 18 * i, "position_y": 1, **op, "flow": flow_id})["id"]
            for i, op in enumerate(operations)
        ]
        for here, there in itertools.pairwise(ids):
            self.admin("PATCH", f"/operations/{here}", {"resolve": there})
        self.admin("PATCH", f"/flows/{flow_id}", {"operation": ids[0]})
        return str(flow_id)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body, headers=ADMIN)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def runs(self, flow_id: str) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/flows/{flow_id}/runs"))




@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("secrets")
    extensions = tmp / "extensions"
    write_extension(extensions, "echo-req", "endpoint", ECHO)
    write_extension(extensions, "logger-ep", "endpoint", LOGGER, scopes={"log": {}})
    write_extension(extensions, "dump-op", "operation", DUMP_OPERATION)
    write_extension(extensions, "dump-hook", "hook", DUMP_HOOK)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SECRETS_TEST_ENV", ENV_SECRET)
        env.setenv("SECRETS_TEST_SHORT", SHORT_ENV)
        env.setenv("SECRETS_TEST_ALIAS", USER_TOKEN)  # an allow-listed variable holding a credential
        env.setenv("ADMIN_TOKEN", ADMIN_TOKEN)  # the credential itself, allow-listed by name
        settings = make_settings(
            tmp,
            extensions,
            user_tokens=f"{USER_TOKEN}:ed:editor",
            email_smtp_password=SMTP_PASSWORD,
            flows_env_allow_list=["SECRETS_TEST_ENV", "SECRETS_TEST_SHORT", "SECRETS_TEST_ALIAS", "ADMIN_TOKEN"],
            flows_log_max_entry_bytes=MAX_ENTRY_BYTES,
            items_permissions='{"editor": {"*": ["read", "create"]}}',
        )
        app = create_app(settings)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=True, lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            wait_for(lambda: server.started or not thread.is_alive(), 120)
            assert server.started, "the host did not start"
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                yield Live(app, http)
        finally:
            server.should_exit = True
            thread.join(60)
            sock.close()


def leaks(text: str, secrets: tuple[str, ...] = CALLER_TOKENS) -> list[str]:
    """Which of `secrets` appear in `text`, as they are or in an encoding a caller could use."""
    found = []
    for secret in secrets:
        forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(), "".join(f"%{b:02X}" for b in secret.encode())}
        if any(form in text for form in forms):
            found.append(secret)
    return found


# -- what an endpoint request carries -------------------------------------------------

ALL_ENCODED = "".join(f"%{b:02X}" for b in ADMIN_TOKEN.encode())
BASIC = base64.b64encode(f"user:{USER_TOKEN}".encode()).decode()

ENDPOINT_CASES: list[tuple[str, list[tuple[str, str]], str, str | None]] = [
    # (case, headers, query string, who the host took the caller for)
    ("authorization", [("Authorization", f"Bearer {ADMIN_TOKEN}")], "a=1", "admin"),
    ("AUTHORIZATION", [("AUTHORIZATION", f"Bearer {USER_TOKEN}")], "a=1", "ed"),
    ("authorization twice", [("AuThOrIzAtIoN", f"Bearer {ADMIN_TOKEN}"), ("authorization", f"Bearer {USER_TOKEN}")], "a=1", "admin"),
    ("cookie", [("Cookie", f"directus_session_token={ADMIN_TOKEN}; theme=dark")], "a=1", None),
    ("cookies repeated", [("COOKIE", f"a={ADMIN_TOKEN}"), ("cOoKiE", f"b={USER_TOKEN}")], "a=1", None),
    ("proxy-authorization", [("Proxy-Authorization", f"Bearer {ADMIN_TOKEN}"), ("PROXY-AUTHORIZATION", f"Basic {BASIC}")], "a=1", None),
    ("access_token", [], f"access_token={ADMIN_TOKEN}&a=1", "admin"),
    ("access_token in the middle", [], f"a=1&access_token={USER_TOKEN}&b=2", "ed"),
    ("access_token last", [], f"a=1&b=2&access_token={USER_TOKEN}", "ed"),
    ("access_token repeated", [], f"access_token={USER_TOKEN}&a=1&access_token={ADMIN_TOKEN}", "admin"),
    ("access%5Ftoken", [], f"a=1&access%5Ftoken={ADMIN_TOKEN}", "admin"),
    ("%61ccess%5ftoken", [], f"%61ccess%5ftoken={USER_TOKEN}&a=1", "ed"),
    ("value percent-encoded", [], f"access_token={ALL_ENCODED}&a=1", "admin"),
    ("ACCESS_TOKEN", [], f"a=1&ACCESS_TOKEN={ADMIN_TOKEN}", None),
    ("access_token[]", [], f"a=1&access_token[]={ADMIN_TOKEN}&access_token%5B0%5D={USER_TOKEN}", None),
    ("double-encoded name", [], f"a=1&access%255Ftoken={ADMIN_TOKEN}", None),
    ("after a semicolon", [], f"a=1;access_token={ADMIN_TOKEN}", None),
    ("blank-padded name", [], f"a=1&%20access_token%20={ADMIN_TOKEN}", None),
    (
        "every carrier at once",
        [("Authorization", f"Bearer {ADMIN_TOKEN}"), ("Cookie", f"s={USER_TOKEN}"), ("Proxy-Authorization", f"Bearer {USER_TOKEN}")],
        f"access_token={ADMIN_TOKEN}&a=1&access%5Ftoken={USER_TOKEN}&ACCESS_TOKEN={USER_TOKEN}",
        "admin",
    ),
]


@pytest.mark.parametrize(("headers", "query", "who"), [case[1:] for case in ENDPOINT_CASES], ids=[c[0] for c in ENDPOINT_CASES])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_endpoint_request_carries_no_credential(
    live: Live, method: str, headers: list[tuple[str, str]], query: str, who: str | None
) -> None:
    response = live.http.request(method, f"/echo-req/?{query}", headers=[*headers, ("X-Kept", "yes")], json={"b": 1} if method == "POST" else None)
    assert response.status_code == 200, response.text
    seen = response.json()
    assert leaks(response.text) == []
    assert not {"authorization", "cookie", "proxy-authorization"} & set(seen["headers"])
    assert seen["headers"]["x-kept"] == "yes"
    assert seen["query"]["a"] == "1" and "a=1" in seen["url"]  # the rest of the query is untouched
    assert not any(is_token_parameter(name) for name in seen["query"])
    assert "access" not in seen["url"].lower().replace("%5f", "_")
    assert (seen["accountability"] or {}).get("user") == who  # the credential was real, and was used


def test_endpoint_request_keeps_an_ordinary_query_as_sent(live: Live) -> None:
    response = live.http.get("/echo-req/deep/7?x=%2F1&y=&y=2&token_hint=a+b", headers=ADMIN)
    seen = response.json()
    assert seen["url"] == "/deep/7?x=%2F1&y=&y=2&token_hint=a+b"
    assert seen["query"] == {"x": "/1", "y": ["", "2"], "token_hint": "a b"}
    assert seen["accountability"]["admin"] is True


def test_guest_helpers_on_raw_input() -> None:
    """The same two functions, on what an ASGI server could hand over (any case, raw bytes)."""
    headers = guest_headers([("Authorization", "Bearer x"), ("COOKIE", "a=b"), ("Proxy-Authorization ", "y"), ("Accept", "*/*")])
    assert headers == {"accept": "*/*"}
    assert guest_query(b"access_token=x&a=1&%41CCESS%5FTOKEN=y").params == {"a": "1"}
    assert guest_query("a=1;access_token=x;b=2") == guest_query("a=1;b=2")
    assert guest_query("") .string == "" and guest_query("access_token").params == {}


# -- webhook and manual flows: $trigger, extension operations, Run Script -------------


def _carriers() -> tuple[list[tuple[str, str]], str]:
    headers = [
        ("AUTHORIZATION", f"Bearer {ADMIN_TOKEN}"),
        ("Cookie", f"directus_session_token={USER_TOKEN}"),
        ("cookie", f"x={ADMIN_TOKEN}"),
        ("Proxy-Authorization", f"Bearer {USER_TOKEN}"),
    ]
    query = f"n=5&access_token={ADMIN_TOKEN}&access%5Ftoken={USER_TOKEN}&a=1;access_token={USER_TOKEN}"
    return headers, query


SCRIPT_DUMP = {"key": "script", "type": "exec", "options": {"code": "module.exports = function (data) { return { data }; };"}}
OP_DUMP = {"key": "dump", "type": "dump-op", "options": {"note": "{{ $trigger.query.n }}"}}


def _check_chain(chain: dict[str, Any]) -> None:
    """What a flow's guests were handed: no caller credential anywhere; no host credential in `$env`."""
    text = json.dumps(chain)
    assert leaks(text) == [], leaks(text)
    trigger = chain["$trigger"]
    assert not {"authorization", "cookie", "proxy-authorization"} & set(trigger["headers"])
    assert not any(is_token_parameter(name) for name in trigger["query"])
    assert trigger["query"]["n"] == "5"
    operation_data = chain["dump"]["context"]["data"]
    assert "$env" not in operation_data and ENV_SECRET not in json.dumps(operation_data)  # third-party code
    assert operation_data["$trigger"] == trigger and chain["dump"]["options"] == {"note": "5"}
    script_data = chain["script"]["data"]
    assert script_data["$env"] == {"SECRETS_TEST_ENV": ENV_SECRET, "SECRETS_TEST_SHORT": SHORT_ENV}
    assert script_data["$trigger"] == trigger


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_webhook_trigger_and_operations_carry_no_credential(live: Live, method: str) -> None:
    flow_id = live.build(
        {"name": f"webhook {method}", "trigger": "webhook", "accountability": "all",
         "options": {"method": method, "return": "$all", "cache": False}},
        [OP_DUMP, SCRIPT_DUMP],
    )
    headers, query = _carriers()
    response = live.http.request(method, f"/flows/trigger/{flow_id}?{query}", headers=headers,
                                 json={"body": "kept"} if method == "POST" else None)
    assert response.status_code == 200, response.text
    chain = response.json()
    _check_chain(chain)
    assert chain["$accountability"]["admin"] is True  # the header did authenticate the caller
    run = live.runs(flow_id)[0]
    assert run["status"] == "resolve" and leaks(json.dumps(run), CONFIGURED) == []


def test_manual_trigger_and_operations_carry_no_credential(live: Live) -> None:
    item = live.admin("POST", "/items/secret_things", {"title": "one"})
    flow_id = live.build(
        {"name": "manual", "trigger": "manual", "accountability": "all",
         "options": {"collections": ["secret_things"], "return": "$all"}},
        [OP_DUMP, {**SCRIPT_DUMP, "options": {"code": "module.exports = function (data) { return { all: data }; };"}}],
    )
    headers, query = _carriers()
    response = live.http.post(f"/flows/trigger/{flow_id}?{query}", headers=headers,
                              json={"collection": "secret_things", "keys": [item["id"]]})
    assert response.status_code == 200, response.text
    chain = response.json()["all"]
    assert leaks(response.text) == []
    _check_chain({**chain, "script": {"data": chain}})  # the script returned the chain it was given
    assert chain["$trigger"]["body"] == {"collection": "secret_things", "keys": [item["id"]]}
    assert leaks(json.dumps(live.runs(flow_id)), CONFIGURED) == []


def test_hook_meta_carries_no_credential(live: Live) -> None:
    headers, query = _carriers()
    response = live.http.post(f"/items/secret_hooked?{query}", headers=headers, json={"title": "x"})
    assert response.status_code == 200, response.text
    assert leaks(response.text) == []
    seen = json.loads(response.json()["data"]["seen"])
    assert seen["meta"]["accountability"]["admin"] is True and seen["payload"] == {"title": "x"}


# -- Run Script keeps nothing from one run to the next --------------------------------


def test_run_script_keeps_no_state_between_runs(live: Live) -> None:
    def flow(name: str, code: str) -> str:
        return live.build(
            {"name": name, "trigger": "webhook", "accountability": None, "options": {"method": "POST", "cache": False}},
            [{"key": "script", "type": "exec", "options": {"code": code}}],
        )

    writer, same_code, reader = flow("state a", STATEFUL_SCRIPT), flow("state b", STATEFUL_SCRIPT), flow("state c", READING_SCRIPT)
    callers = [ADMIN, {"Authorization": f"Bearer {USER_TOKEN}"}, {}]

    def run(flow_id: str, index: int) -> Any:
        response = live.http.post(f"/flows/trigger/{flow_id}", json={"secret": f"secret-of-run-{index}"}, headers=callers[index % 3])
        assert response.status_code == 200, response.text
        return response.json()

    for index in range(6):
        for flow_id in (writer, same_code, reader):
            assert run(flow_id, index) == CLEAN, f"run {index} of {flow_id} saw an earlier run's state"
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: run((writer, same_code, reader)[i % 3], i), range(12)))
    assert results == [CLEAN] * 12


# -- the run log ------------------------------------------------------------------------


def test_run_log_redacts_configured_secrets_by_value(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    flow_id = live.build(
        {"name": "logs secrets", "trigger": "webhook", "accountability": "all", "options": {"method": "POST", "cache": False}},
        [
            {"key": "note", "type": "transform", "options": {"json": {
                "text": "a={{ $trigger.body.a }} u={{ $trigger.body.u }} s={{ $trigger.body.s }} e={{ $env.SECRETS_TEST_ENV }}",
                "deep": [{"in": ["x{{ $trigger.body.a }}y"]}],
                "short": "{{ $env.SECRETS_TEST_SHORT }}",
            }}},
            {"key": "say", "type": "log", "options": {"message": "logging {{ $trigger.body.a }} and {{ $env.SECRETS_TEST_ENV }}"}},
            {"key": "fail", "type": "exec", "options": {"code": "module.exports = (data) => { throw new Error('refused ' + data.$trigger.body.u); };"}},
        ],
    )
    body = {"a": ADMIN_TOKEN, "u": USER_TOKEN, "s": SMTP_PASSWORD, "keys": {f"{ADMIN_TOKEN}!": "a key", f"k-{ENV_SECRET}": 1}}
    response = live.http.post(f"/flows/trigger/{flow_id}", json=body)
    assert response.status_code in (200, 204), response.text
    run = live.runs(flow_id)[0]
    text = json.dumps(run)
    assert leaks(text, CONFIGURED) == [], leaks(text, CONFIGURED)
    note = run["steps"][0]["data"]
    assert note["text"] == f"a={REDACTED} u={REDACTED} s={REDACTED} e={REDACTED}"
    assert note["deep"] == [{"in": [f"x{REDACTED}y"]}]
    assert note["short"] == SHORT_ENV  # shorter than MIN_SECRET_LENGTH: not redacted by value (documented)
    assert run["data"]["$trigger"]["body"]["keys"] == {f"{REDACTED}!": "a key", f"k-{REDACTED}": 1}
    assert run["steps"][2]["status"] == "reject" and run["steps"][2]["data"]["message"].endswith(f"refused {REDACTED}")
    assert run["data"]["$env"] == {"SECRETS_TEST_ENV": REDACTED, "SECRETS_TEST_SHORT": SHORT_ENV}
    flow_log = [r for r in caplog.records if r.name == "exthost.flows.log"]
    assert flow_log and f"logging {REDACTED} and {REDACTED}" in flow_log[-1].getMessage()
    assert leaks(caplog.text, CONFIGURED) == []


def test_run_log_entry_is_capped(live: Live) -> None:
    flow_id = live.build(
        {"name": "big", "trigger": "webhook", "accountability": "all", "options": {"method": "POST", "cache": False}},
        [
            {"key": "copy", "type": "transform", "options": {"json": "{{ $trigger.body }}"}},
            {"key": "again", "type": "transform", "options": {"json": {"text": "{{ $trigger.body.text }}"}}},
        ],
    )
    nested: Any = "bottom"
    for _ in range(60):
        nested = {"down": nested}
    big = {"text": "x" * 100_000 + ADMIN_TOKEN, "list": list(range(5000)), "nested": nested, "tail": ADMIN_TOKEN}
    assert live.http.post(f"/flows/trigger/{flow_id}", json=big).status_code == 200
    assert live.http.post(f"/flows/trigger/{flow_id}", json={"text": "small"}).status_code == 200
    response = live.http.get(f"/flows/{flow_id}/runs", headers=ADMIN)
    assert response.status_code == 200
    small, large = response.json()["data"]
    assert TRUNCATED not in json.dumps(small) and small["data"]["again"] == {"text": "small"}
    stored = [large["steps"], large["data"], large["error"]]
    assert size(stored) <= MAX_ENTRY_BYTES
    text = json.dumps(large)
    assert TRUNCATED in text and "more characters" in text and "more items" in text
    assert ADMIN_TOKEN not in text  # redacted before it was cut: no partial token either
    assert [step["key"] for step in large["steps"]] == ["copy", "again"] and large["status"] == "resolve"


def test_fit_always_fits_and_stays_json() -> None:
    deep: Any = "bottom"
    for _ in range(5000):  # deeper than json.dumps can encode
        deep = [deep]
    wide = {f"key-{i}": "v" * 50 for i in range(10_000)}
    steps = [{"operation": f"op{i}", "key": f"k{i}", "type": "log", "status": "resolve", "duration_ms": 1.0,
              "options": {"m": "y" * 300}, "data": None} for i in range(2000)]
    cases = [
        (steps, wide, "e" * 100_000),
        ([], deep, None),
        (steps[:3], {"s": "z" * 1_000_000}, None),
        (steps, None, None),
    ]
    for case_steps, data, error in cases:
        for limit in (4096, 16384, 1 << 20):
            entry = fit(case_steps, data, error, limit)
            assert entry.truncated is (size([case_steps, data, error]) > limit)
            assert size([entry.steps, entry.data, entry.error]) <= limit
            assert all(isinstance(step, dict) for step in entry.steps)
            assert json.loads(json.dumps(entry.steps)) == entry.steps
    untouched = fit(steps[:2], {"a": 1}, None, 4096)
    assert not untouched.truncated and untouched.steps == steps[:2]


def test_run_log_prepare_survives_what_cannot_be_encoded() -> None:
    deep: Any = "bottom"
    for _ in range(5000):
        deep = {"d": deep}
    log = RunLog(None, "0", 10, 4096)  # type: ignore[arg-type]  # prepare() does not touch the database
    entry = RunEntry("f", "all", "resolve", "webhook", None, datetime_now(), 1, steps=[], data=deep, error=f"x {ADMIN_TOKEN}")
    prepared = log.prepare(entry, [ADMIN_TOKEN])
    assert TRUNCATED in json.dumps(prepared.data) and prepared.error == f"x {REDACTED}"


def datetime_now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


# -- logs: the access log and the host's own ------------------------------------------


def test_access_log_and_host_logs_show_no_token(
    live: Live, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    # another test of this process may have run uvicorn with its default logging configuration,
    # which stops `uvicorn.access` from propagating to the handler caplog listens with, or with
    # `log_level="warning"`, which leaves the access logger at WARNING
    access = logging.getLogger("uvicorn.access")
    monkeypatch.setattr(access, "propagate", True)
    monkeypatch.setattr(access, "disabled", False)
    monkeypatch.setattr(access, "level", access.level)  # put back after the test
    access.setLevel(logging.INFO)
    marker = uuid.uuid4().hex
    unknown = "unconfigured-token-5f0c9e"
    requests = [
        ("GET", f"/echo-req/?m={marker}&access_token={ADMIN_TOKEN}", {"Authorization": f"Bearer {USER_TOKEN}", "Cookie": f"s={ADMIN_TOKEN}"}),
        ("GET", f"/echo-req/?m={marker}&access%5Ftoken={USER_TOKEN}&x=1", {}),
        ("GET", f"/echo-req/?m={marker}&access_token={unknown}", {}),  # refused: not a token of this host
        ("POST", f"/logger-ep/?m={marker}&access_token={USER_TOKEN}", {"Authorization": f"Bearer {ADMIN_TOKEN}"}),
    ]
    for method, path, headers in requests:
        live.http.request(method, path, headers=headers, json={"token": ADMIN_TOKEN, "note": f"mine is {USER_TOKEN}"})

    def access_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "uvicorn.access" and marker in r.getMessage()]

    records = wait_for(lambda: len(access_lines()) >= len(requests) and access_lines())
    formatter = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s')
    printed = [formatter.format(record) for record in records]
    for line in printed:
        assert leaks(line, (*CONFIGURED, unknown)) == [], line
    assert any(f"access_token={REDACTED}" in line for line in printed)
    assert any(f"access%5Ftoken={REDACTED}" in line for line in printed)
    assert any(f"access_token={REDACTED} HTTP/1.1\" 401" in line for line in printed)  # not a configured token
    guest = wait_for(lambda: [r for r in caplog.records if r.name == "exthost.extension.logger-ep"])
    assert REDACTED in guest[-1].getMessage()
    try:
        raise RuntimeError(f"failed with {ADMIN_TOKEN}, sent as Bearer {unknown}; cookie: {unknown}")
    except RuntimeError:
        logging.getLogger("exthost.test").exception("while handling access_token=%s", USER_TOKEN)
    assert leaks(caplog.text, (*CONFIGURED, unknown)) == []
    assert f"access_token={REDACTED}" in caplog.text
    assert f"failed with {REDACTED}, sent as Bearer {REDACTED}; cookie: {REDACTED}" in caplog.text


def test_exthost_serve_prints_no_token(tmp_path: Path) -> None:
    """What `exthost serve` itself prints (uvicorn's own access log configuration)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    extensions = tmp_path / "extensions"
    write_extension(extensions, "echo-req", "endpoint", ECHO)
    env = {
        **os.environ, "EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(tmp_path / "data"),
        "EXTENSIONS_CACHE_PATH": str(TEST_CACHE), "ADMIN_TOKEN": ADMIN_TOKEN, "USER_TOKENS": f"{USER_TOKEN}:ed:editor",
        "DB_URL": "",
    }
    output = tmp_path / "serve.log"
    marker = uuid.uuid4().hex
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "host.cli", "serve", "--port", str(port)],
                                   cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"

            def up() -> bool:
                try:
                    return httpx.get(f"{base}/server/health", timeout=2).status_code == 200
                except httpx.HTTPError:
                    assert process.poll() is None, output.read_text()
                    return False

            wait_for(up, 120)
            httpx.get(f"{base}/echo-req/?m={marker}&access_token={ADMIN_TOKEN}", headers={"Authorization": f"Bearer {USER_TOKEN}"})
            httpx.get(f"{base}/echo-req/?access%5Ftoken={USER_TOKEN}&m={marker}")
            wait_for(lambda: output.read_text().count(marker) >= 2)
        finally:
            process.terminate()
            process.wait(30)
    printed = output.read_text()
    assert leaks(printed) == [], printed
    assert f"?m={marker}&access_token={REDACTED} HTTP/1.1" in printed
    assert f"?access%5Ftoken={REDACTED}&m={marker} HTTP/1.1" in printed
