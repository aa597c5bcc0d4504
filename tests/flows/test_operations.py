"""The built-in operations, each through a real flow."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from host.flows.operations.notification import read_notifications
from tests.flows.conftest import Api
from tests.flows.servers import EchoServer, GateServer, SMTPSink
from tests.support import ADMIN


def run(api: Api, client: TestClient, ops: list[dict[str, Any]], body: Any = None, links: Any = (), ret: str = "$all") -> Any:
    flow_id, _ = api.build({"name": "op test", "trigger": "webhook", "options": {"method": "POST", "return": ret}}, ops, links)
    response = client.post(f"/flows/trigger/{flow_id}", json=body if body is not None else {})
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else None


def test_request_goes_through_the_guarded_capability(api: Api, flows_host: TestClient, echo: EchoServer) -> None:
    chain = run(api, flows_host, [{
        "key": "call",
        "type": "request",
        "options": {
            "method": "POST",
            "url": f"{echo.url}/hook?id={{{{ $trigger.body.id }}}}",
            "headers": [{"header": "Authorization", "value": "Bearer {{ $trigger.body.token }}"}],
            "body": "{\"data\": \"{{ $trigger.body.id }}\"}",
        },
    }], {"id": 7, "token": "s3cret"})
    assert chain["call"]["status"] == 200
    seen = chain["call"]["data"]
    assert seen["path"] == "/hook?id=7" and seen["body"] == '{"data": "7"}'
    assert seen["headers"]["Authorization"] == "Bearer s3cret"
    failed = run(api, flows_host, [
        {"key": "call", "type": "request", "options": {"url": f"{echo.url}/status/404"}},
        {"key": "handled", "type": "transform", "options": {"json": {"status": "{{ call.status }}"}}},
    ], links=[("call", "reject", "handled")])
    assert failed["handled"] == {"status": 404}


def test_request_is_refused_by_the_default_ip_guard(
    host: Callable[..., AbstractContextManager[TestClient]], echo: EchoServer
) -> None:
    with host() as client:
        chain = run(Api(client), client, [{"key": "call", "type": "request", "options": {"url": f"{echo.url}/x"}}])
    assert "No permission" in chain["call"]["message"]
    assert not any(r["path"] == "/x" for r in echo.requests)


def test_trigger_iteration_modes(api: Api, flows_host: TestClient) -> None:
    """Shown by concurrency, not by a clock: each child passes a gate that opens once `size`
    children are in it. Parallel runs all four at once (a gate of four opens), batch runs two
    at a time (gates of two open, never more than two inside), serial one at a time."""
    for mode, extra, size in (("serial", {}, 1), ("batch", {"batchSize": 2}, 2), ("parallel", {}, 4)):
        with GateServer() as gate:
            child, _ = api.build(
                {"name": f"child {mode}", "trigger": "operation", "options": {"return": "$last"}},
                [
                    {"key": "pass", "type": "request",
                     "options": {"url": f"{gate.url}/gate/{{{{ $trigger.n }}}}?size={size}"}},
                    {"key": "out", "type": "transform", "options": {"json": {"n": "{{ $trigger.n }}"}}},
                ],
                [("pass", "resolve", "out")],
            )
            payload = [{"n": i} for i in range(4)]
            chain = run(api, flows_host, [{"key": "each", "type": "trigger", "options": {
                "flow": child, "payload": payload, "iterationMode": mode, **extra}}])
            assert chain["each"] == [{"n": i} for i in range(4)], (mode, chain)
            assert gate.most_at_once == size, mode
            if mode == "serial":
                assert gate.entered == [0, 1, 2, 3]
            if mode == "batch":  # the first batch is the first two items
                assert sorted(gate.entered[:2]) == [0, 1]


def test_sleep_resolves_with_null_and_the_chain_goes_on(api: Api, flows_host: TestClient) -> None:
    chain = run(api, flows_host, [
        {"key": "nap", "type": "sleep", "options": {"milliseconds": 50}},
        {"key": "after", "type": "transform", "options": {"json": {"nap": "{{ nap }}"}}},
    ], links=[("nap", "resolve", "after")])
    assert chain["nap"] is None and chain["after"] == {"nap": None}


def test_item_operations_go_through_the_items_service(api: Api, flows_host: TestClient) -> None:
    api.build(
        {"name": "label books", "trigger": "event", "options": {"type": "filter", "scope": ["items.create"], "collections": ["books"], "return": "$last"}},
        [{"key": "label", "type": "transform", "options": {"json": {"title": "{{ $trigger.payload.title }}", "labelled": True}}}],
    )
    chain = run(api, flows_host, [
        {"key": "made", "type": "item-create", "options": {"collection": "books", "payload": [{"title": "A"}, {"title": "B"}], "permissions": "$full", "emitEvents": True}},
        {"key": "one", "type": "item-read", "options": {"collection": "books", "key": "{{ made[0] }}", "permissions": "$full"}},
        {"key": "edit", "type": "item-update", "options": {"collection": "books", "key": "{{ made }}", "payload": {"read": True}, "permissions": "$full"}},
        {"key": "all", "type": "item-read", "options": {"collection": "books", "query": {"filter": {"read": {"_eq": True}}, "sort": ["title"]}, "permissions": "$full"}},
        {"key": "gone", "type": "item-delete", "options": {"collection": "books", "query": {"filter": {"title": {"_eq": "A"}}}, "permissions": "$full"}},
    ], links=[("made", "resolve", "one"), ("one", "resolve", "edit"), ("edit", "resolve", "all"), ("all", "resolve", "gone")])
    assert len(chain["made"]) == 2
    assert chain["one"]["labelled"] is True, "the filter hook did not run"
    assert [b["title"] for b in chain["all"]] == ["A", "B"]
    assert chain["gone"] == [chain["made"][0]]
    left = flows_host.get("/items/books", headers=ADMIN).json()["data"]
    assert [b["title"] for b in left] == ["B"]


def test_item_operation_permissions(api: Api, flows_host: TestClient) -> None:
    chain = run(api, flows_host, [
        {"key": "try", "type": "item-create", "options": {"collection": "vault", "permissions": "$public", "payload": {"x": 1}}},
    ])
    assert chain["try"]["code"] == "FORBIDDEN"


def test_exec_script_in_the_sandbox(api: Api, flows_host: TestClient) -> None:
    code = "module.exports = async function (data) { return { sum: data.$trigger.body.a + data.$trigger.body.b, env: typeof require }; };"
    chain = run(api, flows_host, [{"key": "s", "type": "exec", "options": {"code": code}}], {"a": 2, "b": 3})
    assert chain["s"] == {"sum": 5, "env": "undefined"}
    broken = run(api, flows_host, [{"key": "s", "type": "exec", "options": {"code": "module.exports = function () { throw new Error('nope'); };"}}])
    assert broken["s"]["message"] == "nope"
    looping = run(api, flows_host, [{"key": "s", "type": "exec", "options": {"code": "module.exports = function () { for (;;) {} };"}}])
    assert looping["s"]["code"] == "EXTENSION_TIMEOUT"
    escape = run(api, flows_host, [{"key": "s", "type": "exec", "options": {"code": "}); export default {id: 'x', handler: () => 1}; ({"}}])
    assert escape["s"]["name"] in ("ExtensionLoadError", "ExtensionFailed")


def test_json_web_token_sign_verify_decode(api: Api, flows_host: TestClient) -> None:
    chain = run(api, flows_host, [
        {"key": "signed", "type": "json-web-token", "options": {"operation": "sign", "payload": {"user": "{{ $trigger.body.user }}"}, "secret": "k", "options": {"expiresIn": "1h"}}},
        {"key": "verified", "type": "json-web-token", "options": {"operation": "verify", "token": "{{ signed }}", "secret": "k"}},
        {"key": "decoded", "type": "json-web-token", "options": {"operation": "decode", "token": "{{ signed }}", "options": {"complete": True}}},
        {"key": "forged", "type": "json-web-token", "options": {"operation": "verify", "token": "{{ signed }}", "secret": "other"}},
    ], {"user": "u1"}, links=[("signed", "resolve", "verified"), ("verified", "resolve", "decoded"), ("decoded", "resolve", "forged")])
    assert chain["verified"]["user"] == "u1"
    assert chain["verified"]["exp"] - chain["verified"]["iat"] == 3600
    assert chain["decoded"]["header"]["alg"] == "HS256" and chain["decoded"]["payload"]["user"] == "u1"
    assert "invalid token" in chain["forged"]["message"]


def test_notification_is_stored(api: Api, flows_host: TestClient) -> None:
    chain = run(api, flows_host, [{"key": "n", "type": "notification", "options": {"recipient": ["u1", "u2"], "subject": "Hi {{ $trigger.body.who }}", "message": "ready", "collection": "books"}}], {"who": "there"})
    assert len(chain["n"]) == 2
    assert flows_host.portal is not None
    stored = flows_host.portal.call(read_notifications, flows_host.app.state.db, "u2")  # type: ignore[attr-defined]
    assert [(n["subject"], n["message"], n["collection"], n["status"]) for n in stored] == [("Hi there", "ready", "books", "inbox")]


def test_mail_over_smtp(api: Api, flows_host: TestClient, smtp: SMTPSink) -> None:
    before = len(smtp.received)
    chain = run(api, flows_host, [{"key": "m", "type": "mail", "options": {"to": "a@example.com, b@example.com", "subject": "Report", "body": "# Total\n**{{ $trigger.body.total }}**", "cc": ["c@example.com"]}}], {"total": 42})
    assert chain["m"]["accepted"] == ["a@example.com", "b@example.com"]
    mail = smtp.received[before]
    assert sorted(mail.recipients) == ["a@example.com", "b@example.com", "c@example.com"]
    html = next(p for p in mail.message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
    assert "<h1>Total</h1>" in html and "<strong>42</strong>" in html


def test_throw_error_and_log(api: Api, flows_host: TestClient) -> None:
    chain = run(api, flows_host, [
        {"key": "note", "type": "log", "options": {"message": "value {{ $trigger.body }}"}},
        {"key": "boom", "type": "throw-error", "options": {"code": "TEAPOT", "status": "418", "message": "short and stout"}},
    ], {"v": 1}, links=[("note", "resolve", "boom")])
    assert chain["note"] is None
    assert chain["boom"] == {"name": "FlowError", "message": "short and stout", "code": "TEAPOT", "status": 418}


def test_mail_templates(tmp_path: Path, host: Callable[..., AbstractContextManager[TestClient]], smtp: SMTPSink) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "welcome.liquid").write_text("<p>Welcome {{ name }}!</p>")
    with host(email_smtp_host="127.0.0.1", email_smtp_port=smtp.port, email_templates_path=tmp_path / "templates") as client:
        before = len(smtp.received)
        run(Api(client), client, [{"key": "m", "type": "mail", "options": {"to": ["x@example.com"], "subject": "Hi", "type": "template", "template": "welcome", "data": {"name": "{{ $trigger.body.name }}"}}}], {"name": "Lin"})
    html = next(p for p in smtp.received[before].message.walk() if p.get_content_type() == "text/html")
    assert "<p>Welcome Lin!</p>" in html.get_payload(decode=True).decode()
