"""The run log: what each accountability level records, redaction, retention."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from host.flows.runlog import REDACTED, RunEntry, RunLog, parse_duration, redact
from tests.flows.conftest import Api
from tests.flows.servers import EchoServer


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("FLOWS_TEST_SECRET", "hunter2-very-secret")
    monkeypatch.setenv("FLOWS_TEST_PUBLIC", "public-value")
    yield "hunter2-very-secret"


def test_secrets_are_redacted(api: Api, flows_host: TestClient, echo: EchoServer, secret_env: str) -> None:
    flow_id, _ = api.build(
        {"name": "secrets", "trigger": "webhook", "options": {"method": "POST", "return": "$all"}},
        [
            {
                "key": "call",
                "type": "request",
                "options": {
                    "url": f"{echo.url}/secret",
                    "headers": [{"header": "Authorization", "value": "Bearer {{ $env.FLOWS_TEST_SECRET }}"}],
                    "body": "key={{ $env.FLOWS_TEST_SECRET }}",
                },
            },
            {"key": "login", "type": "transform", "options": {"json": {"password": "{{ $trigger.body.password }}", "user": "ada"}}},
        ],
        links=[("call", "resolve", "login")],
    )
    chain = flows_host.post(
        f"/flows/trigger/{flow_id}",
        json={"password": "pa55word"},
        headers={"Cookie": "session=abc123", "Authorization": "Bearer test-admin-token"},
    ).json()
    assert chain["$env"] == {"FLOWS_TEST_SECRET": secret_env, "FLOWS_TEST_PUBLIC": "public-value"}
    assert echo.requests[-1]["headers"]["Authorization"] == f"Bearer {secret_env}"
    run = api.runs(flow_id)[0]
    text = json.dumps(run)
    for secret in (secret_env, "pa55word", "abc123", "test-admin-token"):
        assert secret not in text, secret
    assert run["steps"][0]["options"]["headers"][0]["value"] == f"Bearer {REDACTED}"
    assert run["data"]["login"] == {"password": REDACTED, "user": "ada"}
    assert "cookie" not in run["data"]["$trigger"]["headers"]  # never in `$trigger` (tests/security/test_secrets.py)
    assert run["user"] == "admin" and run["status"] == "resolve"


def test_accountability_levels(api: Api, flows_host: TestClient) -> None:
    ids = {}
    for level in ("all", "activity", None):
        ids[level], _ = api.build(
            {"name": f"level {level}", "trigger": "webhook", "accountability": level},
            [{"key": "t", "type": "transform", "options": {"json": {"x": 1}}}],
        )
        assert flows_host.get(f"/flows/trigger/{ids[level]}").status_code == 200
    full = api.runs(ids["all"])[0]
    assert full["steps"][0]["options"] == {"json": {"x": 1}} and full["steps"][0]["data"] == {"x": 1}
    activity = api.runs(ids["activity"])[0]
    assert activity["steps"][0]["key"] == "t" and activity["steps"][0]["status"] == "resolve"
    assert "options" not in activity["steps"][0] and activity["data"] is None
    assert api.runs(ids[None]) == []


def test_retention(host: Callable[..., AbstractContextManager[TestClient]]) -> None:
    with host(flows_log_max_runs=2, flows_log_retention="1d") as client:
        api = Api(client)
        flow_id, _ = api.build({"name": "often", "trigger": "webhook"}, [{"key": "t", "type": "log", "options": {}}])
        for _ in range(4):
            client.get(f"/flows/trigger/{flow_id}")
        assert len(api.runs(flow_id)) == 4
        runlog = client.app.state.flows.runlog  # type: ignore[attr-defined]
        assert client.portal is not None
        assert client.portal.call(runlog.prune) == 2
        assert len(api.runs(flow_id)) == 2
        assert client.portal.call(runlog.prune, datetime.now(UTC) + timedelta(days=2)) == 2
        assert api.runs(flow_id) == []


def test_redact_and_durations() -> None:
    value = {"headers": {"X-Api-Key": "k", "accept": "a"}, "refresh_token": "r", "note": "uses s3cr3t inside", "n": 1}
    assert redact(value, ["s3cr3t"]) == {
        "headers": {"X-Api-Key": REDACTED, "accept": "a"},
        "refresh_token": REDACTED,
        "note": f"uses {REDACTED} inside",
        "n": 1,
    }
    assert parse_duration("90d") == timedelta(days=90)
    assert parse_duration("0") is None
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.parametrize(
    "value",
    [
        {"plain": "value", "n": 1.5, "list": [1, "two", None, True], "ünï": "çödé"},  # nothing to redact
        {"Access-Token": "abc", "kept": 1},  # a secret key, any case
        {"\u017fecret": "x"},  # folds to "secret", as the key check folds it
        {"nested": {"x": "Bearer hunter2-very-secret"}},  # a configured secret, by value
        {"hunter2-very-secret": "as a key"},
    ],
)
def test_what_is_stored_is_the_full_redaction(value: dict[str, object]) -> None:
    secrets = ["hunter2-very-secret"]
    log = RunLog(None, "0", 10, 1 << 20)  # type: ignore[arg-type]  # prepare() does not touch the database
    steps = [{"key": "s", "options": value, "data": value}]
    for error in (None, "failed with hunter2-very-secret"):  # (the first case, error-free, is stored as it is)
        entry = RunEntry("f", "all", "resolve", "webhook", None, datetime.now(UTC), 1, steps=steps,
                         data={"$last": value}, error=error)
        prepared = log.prepare(entry, secrets)
        assert prepared.steps == redact(steps, secrets)  # type: ignore[arg-type]
        assert prepared.data == redact({"$last": value}, secrets)  # type: ignore[arg-type]
        assert prepared.error == (error and f"failed with {REDACTED}")
        assert prepared.steps is not steps and entry.steps[0]["data"] is value  # the run's own values untouched


def test_a_chain_that_holds_itself_is_stored_as_a_marker() -> None:
    log = RunLog(None, "0", 10, 1 << 20)  # type: ignore[arg-type]  # prepare() does not touch the database
    looped: dict[str, object] = {"a": 1}
    looped["self"] = looped
    entry = RunEntry("f", "all", "resolve", "webhook", None, datetime.now(UTC), 1, steps=[], data=looped)
    prepared = log.prepare(entry)
    assert prepared.steps == [] and "nested too deeply" in str(prepared.data)
