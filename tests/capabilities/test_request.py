"""The `request` capability, each test run twice: through `request` (blocking, on the caller's
thread) and through `request-start` (the same checks at once, the request on an event loop):
one set of rules, two ways to wait."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from typing import Any

import pytest

from host.capabilities import netguard
from host.capabilities.base import CallContext, Capability
from host.capabilities.request import make_requests, url_allowed
from host.config import Settings
from host.errors import CapabilityDenied
from host.extensions.manifest import RequestScope
from tests.capabilities.conftest import LocalServer, bomb

LOOPBACK_ALLOWED = ["192.0.2.0/24"]


@pytest.fixture(autouse=True, params=["request", "request-start"])
def way(request: pytest.FixtureRequest) -> str:
    _WAY[0] = request.param
    return str(request.param)


_WAY = ["request"]


def settings(deny: list[str] | None = LOOPBACK_ALLOWED, **overrides: Any) -> Settings:
    return Settings(_env_file=None, import_ip_deny_list=deny, **overrides)


def ctx(seconds: float = 10) -> CallContext:
    return CallContext(extension="t", wall_deadline=time.monotonic() + seconds)


def capability(
    urls: tuple[str, ...] = ("*",),
    methods: tuple[str, ...] | None = None,
    deny: list[str] | None = LOOPBACK_ALLOWED,
    **overrides: Any,
) -> Capability:
    scope = (
        RequestScope(urls=urls)
        if methods is None
        else RequestScope.model_validate({"urls": urls, "methods": methods})
    )
    blocking, start = make_requests(scope, settings(deny, **overrides))
    if _WAY[0] == "request":
        return blocking

    def started(context: CallContext, url: str, options_json: str) -> str:
        wait = start(context, url, options_json)  # refusals known at once raise here

        async def run() -> str:
            return await wait

        return asyncio.run(run())

    return started


def call(request: Capability, url: str, options: dict[str, Any] | None = None, seconds: float = 10) -> Any:
    result = request(ctx(seconds), url, json.dumps(options or {}))
    assert isinstance(result, str)
    return json.loads(result)


def test_get_json_is_parsed(local_server: LocalServer) -> None:
    result = call(capability(), local_server.url("/json"))
    assert result["status"] == 200
    assert result["statusText"] == "OK"
    assert result["headers"]["content-type"] == "application/json"
    assert result["data"] == {"hello": "world", "n": [1, 2]}


def test_get_text(local_server: LocalServer) -> None:
    result = call(capability(), local_server.url("/text"))
    assert result["data"] == "plain text é"


def test_post_with_body_and_headers(local_server: LocalServer) -> None:
    request = capability(urls=(f"http://127.0.0.1:{local_server.port}/*",), methods=("GET", "POST"))
    result = call(
        request,
        local_server.url("/echo"),
        {
            "method": "post",
            "headers": {"Content-Type": "application/json", "X-Token": "abc"},
            "body": '{"a":1}',
        },
    )
    assert result["status"] == 201
    assert result["headers"]["x-echo"] == "yes"
    assert result["data"]["method"] == "POST"
    assert result["data"]["body"] == '{"a":1}'
    assert result["data"]["headers"]["x-token"] == "abc"
    assert result["data"]["headers"]["content-type"] == "application/json"


def test_guest_cannot_override_host_header(local_server: LocalServer) -> None:
    result = call(capability(), local_server.url("/echo"), {"headers": {"Host": "internal.example"}})
    assert result["data"]["headers"]["host"] == f"127.0.0.1:{local_server.port}"


def test_only_the_host_sets_the_flow_depth_header(local_server: LocalServer) -> None:
    forged = {"headers": {"x-EXTHOST-flow-depth": "0"}}
    result = call(capability(), local_server.url("/echo"), forged)
    assert "x-exthost-flow-depth" not in result["data"]["headers"]  # a guest's value is dropped
    in_flow = CallContext("flow:f", time.monotonic() + 10, flow_depth=3)  # as the `request` operation sends it
    sent = json.loads(str(capability()(in_flow, local_server.url("/echo"), json.dumps(forged))))
    assert sent["data"]["headers"]["x-exthost-flow-depth"] == "3"


def test_404_is_a_result_not_an_error(local_server: LocalServer) -> None:
    result = call(capability(), local_server.url("/nope"))
    assert result["status"] == 404
    assert result["data"] == "not found"


def test_url_matching_no_glob_is_refused(local_server: LocalServer) -> None:
    request = capability(urls=("https://api.example.com/*",))
    url = local_server.url("/json")
    with pytest.raises(CapabilityDenied, match=f'No permission to access "{url}"'):
        request(ctx(), url, "{}")


def test_method_not_allowed_is_refused(local_server: LocalServer) -> None:
    request = capability(methods=("GET",))
    url = local_server.url("/echo")
    with pytest.raises(CapabilityDenied, match='method "DELETE"'):
        request(ctx(), url, json.dumps({"method": "DELETE"}))
    with pytest.raises(CapabilityDenied, match='method "HEAD"'):
        request(ctx(), url, json.dumps({"method": "HEAD"}))


@pytest.mark.parametrize("options", [
    "not json", "[1]", '{"method": 5}', '{"headers": {"a": 1}}', '{"x": 1}',
    '{"body": ' + "[" * 100_000 + "]" * 100_000 + "}",  # read by the host's one decoder: MAX_JSON_DEPTH
    '{"body": NaN}', '{"method": "GET\\u0000"}',
])  # fmt: skip
def test_bad_options_are_refused(local_server: LocalServer, options: str) -> None:
    with pytest.raises(CapabilityDenied, match="Invalid request options"):
        capability()(ctx(), local_server.url("/json"), options)


def test_empty_options_mean_get(local_server: LocalServer) -> None:
    assert json.loads(str(capability()(ctx(), local_server.url("/json"), "")))["status"] == 200


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1:70/"])
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(CapabilityDenied, match="only http and https"):
        capability()(ctx(), url, "{}")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/json",
        "http://[::1]:{port}/json",
        "http://[::ffff:127.0.0.1]:{port}/json",
        "http://[64:ff9b::7f00:1]:{port}/json",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:{port}/json",
        "http://2130706433:{port}/json",
        "http://0x7f000001:{port}/json",
        "http://127.1:{port}/json",
        "http://0177.0.0.1:{port}/json",
        "http://0.0.0.0:{port}/json",
        "http://10.0.0.1/",
    ],
)
def test_default_deny_list_refuses(local_server: LocalServer, url: str) -> None:
    request = capability(urls=("*",), deny=None)
    target = url.format(port=local_server.port)
    with pytest.raises(CapabilityDenied, match="No permission to access"):
        request(ctx(), target, "{}")


def test_http_glob_scope_still_guarded(local_server: LocalServer) -> None:
    request = capability(urls=("http://*:*",), deny=None)  # `*` in the host never covers the port
    with pytest.raises(CapabilityDenied, match="denied"):
        request(ctx(), local_server.url("/json"), "{}")


def test_redirect_is_followed(local_server: LocalServer) -> None:
    target = local_server.url("/json")
    result = call(capability(), local_server.url(f"/redirect?to={target}"))
    assert result["data"] == {"hello": "world", "n": [1, 2]}


def test_303_turns_post_into_get(local_server: LocalServer) -> None:
    result = call(
        capability(),
        local_server.url("/redirect?status=303&to=/echo"),
        {"method": "POST", "body": "payload", "headers": {"Content-Type": "text/plain"}},
    )
    assert result["data"]["method"] == "GET"
    assert result["data"]["body"] == ""
    assert "content-type" not in result["data"]["headers"]


def test_307_keeps_method_and_body(local_server: LocalServer) -> None:
    result = call(
        capability(), local_server.url("/redirect?status=307&to=/echo"), {"method": "PUT", "body": "b"}
    )
    assert result["data"]["method"] == "PUT"
    assert result["data"]["body"] == "b"


def test_redirect_to_denied_address_is_refused(local_server: LocalServer) -> None:
    request = capability(deny=["127.0.0.2"])
    denied = f"http://127.0.0.2:{local_server.port}/json"
    with pytest.raises(CapabilityDenied, match=r"127\.0\.0\.2") as caught:
        request(ctx(), local_server.url(f"/redirect?to={denied}"), "{}")
    assert "redirected from" in caught.value.message


def test_redirect_to_name_resolving_to_denied_address_is_refused(
    local_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = netguard.resolve
    monkeypatch.setattr(
        netguard,
        "resolve",
        lambda host, port, t: ["127.0.0.2"] if host == "rebind.test" else real(host, port, t),
    )
    request = capability(deny=["127.0.0.2"])
    with pytest.raises(CapabilityDenied, match="resolves to a denied address"):
        request(ctx(), local_server.url(f"/redirect?to=http://rebind.test:{local_server.port}/json"), "{}")


def test_name_is_resolved_at_connect_time(local_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"flip.test": ["127.0.0.1"]}
    monkeypatch.setattr(netguard, "resolve", lambda host, port, t: answers[host])
    request = capability(deny=["127.0.0.2"])
    url = f"http://flip.test:{local_server.port}/echo"
    result = call(request, url)
    assert result["data"]["headers"]["host"] == f"flip.test:{local_server.port}"
    answers["flip.test"] = ["127.0.0.2"]
    request = capability(deny=["127.0.0.2"])  # a fresh pool: no connection to reuse
    with pytest.raises(CapabilityDenied, match="resolves to a denied address"):
        request(ctx(), url, "{}")


def test_too_many_redirects(local_server: LocalServer) -> None:
    loop = local_server.url("/redirect?to=/redirect%3Fto%3D/json")
    assert call(capability(request_max_redirects=2), loop)["status"] == 200
    with pytest.raises(CapabilityDenied, match="more than 1 redirects"):
        capability(request_max_redirects=1)(ctx(), loop, "{}")


def test_redirect_to_other_scheme_is_refused(local_server: LocalServer) -> None:
    with pytest.raises(CapabilityDenied, match="only http and https"):
        capability()(ctx(), local_server.url("/redirect?to=file:///etc/passwd"), "{}")


def test_response_larger_than_cap_is_refused(local_server: LocalServer) -> None:
    request = capability(request_max_bytes=1000)
    assert len(call(request, local_server.url("/big?n=1000"))["data"]) == 1000
    with pytest.raises(CapabilityDenied, match="1000 allowed"):
        request(ctx(), local_server.url("/big?n=5000"), "{}")


def test_streamed_response_larger_than_cap_is_refused(local_server: LocalServer) -> None:
    request = capability(request_max_bytes=10_000)
    with pytest.raises(CapabilityDenied, match="larger than the 10000 bytes allowed"):
        request(ctx(), local_server.url("/big-stream?n=50000"), "{}")


def test_slow_server_is_cut_off_by_request_timeout(local_server: LocalServer) -> None:
    request = capability(request_timeout=300)
    # the server answers after 2 s: "timed out" means the request was cut off before it did
    with pytest.raises(CapabilityDenied, match="timed out after 300 ms"):
        request(ctx(), local_server.url("/slow?s=2"), "{}")


def test_slow_server_is_cut_off_by_call_deadline(local_server: LocalServer) -> None:
    request = capability(request_timeout=10_000)
    with pytest.raises(CapabilityDenied, match="timed out"):
        call(request, local_server.url("/slow?s=2"), seconds=0.3)


def test_dripping_server_is_cut_off_by_total_time(local_server: LocalServer) -> None:
    request = capability(request_timeout=400)
    with pytest.raises(CapabilityDenied, match="timed out"):
        request(ctx(), local_server.url("/drip?n=40"), "{}")


def test_no_time_left_is_refused(local_server: LocalServer) -> None:
    with pytest.raises(CapabilityDenied, match="no time left"):
        call(capability(), local_server.url("/json"), seconds=-1)


def test_connection_refused_is_a_capability_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CapabilityDenied, match="failed"):
        capability()(ctx(), f"http://127.0.0.1:{port}/", "{}")


def test_client_is_shared_across_calls_and_threads(local_server: LocalServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    request = capability()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: call(request, local_server.url("/json"))["status"], range(16)))
    assert results == [200] * 16


def test_url_globs() -> None:
    assert url_allowed("https://api.example.com/v1/x", ["https://api.example.com/*"])
    assert not url_allowed("https://api.example.com.evil.io/", ["https://api.example.com/*"])
    assert not url_allowed("http://api.example.com/", ["https://api.example.com/*"])
    assert url_allowed("http://[::1]:8080/x", ["http://[::1]:8080/*"])
    assert url_allowed("https://a.example.com/", ["https://*.example.com/"])  # `?` is literal, as in Directus


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
def test_a_compressed_response_is_decoded(local_server: LocalServer, coding: str) -> None:
    assert call(capability(), local_server.url(f"/compressed/{coding}"))["data"] == {"hello": "world"}


@pytest.mark.parametrize("path", ["/bomb/gzip", "/bomb/deflate", "/bomb/raw-deflate"])
def test_a_compression_bomb_is_refused_before_it_inflates(local_server: LocalServer, path: str) -> None:
    """A quarter megabyte that inflates to 256 MB: httpx inflated each 64 KB read whole (64 MB at a time)
    before the size cap could look; now no piece is larger than the cap."""
    request = capability(request_max_bytes=500_000)
    bomb(path)  # made before measuring
    tracemalloc.start()
    try:
        with pytest.raises(CapabilityDenied, match="larger than the 500000 bytes allowed"):
            request(ctx(), local_server.url(path), "{}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, peak  # the body (the cap), a piece (the cap) and what httpx holds


def test_stacked_content_codings_are_refused(local_server: LocalServer) -> None:
    """A kilobyte of `gzip, gzip` inflated to 256 MB in one piece, whatever the size cap."""
    with pytest.raises(CapabilityDenied, match="content encoding 'gzip, gzip' is not supported"):
        capability()(ctx(), local_server.url("/bomb/gzip-gzip"), "{}")
