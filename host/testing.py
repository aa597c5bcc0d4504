"""Testing extensions: load one folder into a real sandbox and call it by name.

    from host.testing import load_extension

    def test_hello(tmp_path):
        with load_extension("path/to/extension", tmp_path) as ext:
            assert ext.get("/hello/ada").body == {"hello": "ada"}

`load_extension` builds the extension (`exthost build`), loads it with the host's own loader
(manifest, grant, runtime, breaker, stack mapping) and returns an `ExtensionUnderTest`:

- `get`/`post`/`patch`/`put`/`delete(path, query=, headers=, body=)` call the endpoint's route
  matching `path` the way the host's router does, and answer a `Response` (status, body,
  headers; an error in Directus's shape, as the host would send it);
- `filter(event, payload, meta=)` runs the extension's filters for `event` in order and
  returns the payload; `action(event, meta=)` runs its actions;
- `operation(options, data=)` runs its flow operation.

The `request` capability sends nothing over the network: `request=` takes the test's fake
server, a function `httpx.Request -> httpx.Response` (or an `httpx` transport). The
extension's request still goes through the capability's checks (its `requestedScopes` URLs
and methods, denied addresses), so a request outside its scope fails as it would when served.

Compiled code is cached where the host caches it (`Settings.cache_path`: `EXTENSIONS_CACHE_PATH`,
else the user's cache directory), so a second run does not compile again.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from host.config import Settings
from host.endpoints.http import endpoint_response
from host.endpoints.routes import EndpointRoutes
from host.errors import ExthostError, MethodNotAllowed, RouteNotFound
from host.events import EventContext
from host.extensions.build import build_extension
from host.extensions.loader import open_extension, report
from host.extensions.manifest import read_manifest
from host.extensions.namespace import HostNamespace
from host.hooks.wiring import sandbox_filter
from host.paths import SDK_PATH
from host.redaction import guest_headers
from host.runtime import Runtime
from host.sandbox import Sandbox
from host.types import EndpointRequest, Json, Undefined

T = TypeVar("T")

FakeServer = Callable[[httpx.Request], httpx.Response] | httpx.BaseTransport
"""What answers the extension's `request` calls in a test."""


@dataclass(frozen=True)
class Response:
    """What the host would send for an endpoint call."""

    status: int
    body: Any
    """Decoded JSON when the answer is JSON, else its text (`None` when empty)."""
    headers: dict[str, str] = field(default_factory=dict)


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Loop:
    """An event loop on a thread of its own: the sync methods work in sync and async tests alike."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="exthost-testing", daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(_await(awaitable), self.loop).result()

    def close(self) -> None:
        # what lives as long as the loop (the request capability's connections) closes with it
        asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class ExtensionUnderTest:
    """One loaded extension; see the module's docstring."""

    def __init__(self, sandbox: Sandbox, loop: _Loop) -> None:
        self.sandbox = sandbox
        self.name = sandbox.name
        self._loop = loop
        self._routes = EndpointRoutes(sandbox.registration.routes, sandbox)

    # ------------------------------------------------------------------ endpoints
    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Json = None,
        accountability: Mapping[str, Json] | None = None,
    ) -> Response:
        """Call the route matching `method` and `path` (the part after the endpoint's id)."""
        try:
            return self._loop.run(self._call_route(method.upper(), path, query, headers, body, accountability))
        except ExthostError as exc:
            error = {"errors": [{"message": exc.message, "extensions": {**exc.extensions, "code": exc.code}}]}
            return Response(exc.status, error, {"content-type": "application/json", **exc.headers()})

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    async def _call_route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: Json,
        accountability: Mapping[str, Json] | None,
    ) -> Response:
        found = self._routes.match(method, path)
        if found is None:
            allow = sorted(self._routes.methods(path))
            if allow:
                raise MethodNotAllowed(f'Method {method} is not allowed on "{path}": use {", ".join(allow)}.', allow)
            raise RouteNotFound(f'Route "{path}" doesn\'t exist.')
        string = urlencode(dict(query or {}))
        message = EndpointRequest(
            url=path + (f"?{string}" if string else ""),
            method=method,  # type: ignore[typeddict-item]  # matched a route, so one of the five
            path=path,
            params=found.params,
            query=dict(query or {}),
            headers=guest_headers((k.lower(), v) for k, v in (headers or {}).items()),
            body=body,
            accountability=dict(accountability) if accountability is not None else None,
        )
        result = await self.sandbox.call(found.route.handler, [message])
        rendered = endpoint_response(self.name, result)
        content = bytes(rendered.body)
        answer_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in rendered.raw_headers}
        decoded: Any = None
        if content:
            is_json = answer_headers.get("content-type", "").startswith("application/json")
            decoded = json.loads(content) if is_json else content.decode("utf-8", "replace")
        return Response(rendered.status_code, decoded, answer_headers)

    # ------------------------------------------------------------------ hooks
    def filter(self, event: str, payload: Json, meta: Mapping[str, Json] | None = None) -> Json:
        """Run the extension's filters for `event` on `payload`; returns the payload they leave.
        A filter that throws raises `FilterRejected` (the host cancels the write with a 400)."""
        bindings = [b for b in self.sandbox.registration.filters if b.event == event]
        if not bindings:
            raise LookupError(f"extension {self.name} has no filter for {event!r}")
        full_meta = {"event": event, **(meta or {})}
        for binding in bindings:
            run = sandbox_filter(self.sandbox, binding.handler)  # the host's own wiring of a filter
            result = self._loop.run(run(payload, full_meta, EventContext()))
            if not isinstance(result, Undefined):
                payload = result
        return payload

    def action(self, event: str, meta: Mapping[str, Json] | None = None) -> None:
        """Run the extension's actions for `event` (an error they throw is raised)."""
        bindings = [b for b in self.sandbox.registration.actions if b.event == event]
        if not bindings:
            raise LookupError(f"extension {self.name} has no action for {event!r}")
        for binding in bindings:
            self._loop.run(self.sandbox.call(binding.handler, [{"event": event, **(meta or {})}]))

    # ------------------------------------------------------------------ operations
    def operation(
        self, options: Mapping[str, Json], data: Mapping[str, Json] | None = None,
        accountability: Mapping[str, Json] | None = None,
    ) -> Json | None:
        """Run the extension's flow operation with `options`; `data` is the flow's data so far."""
        binding = self.sandbox.registration.operation
        if binding is None:
            raise LookupError(f"extension {self.name} registers no operation")
        context = {"data": dict(data or {}), "accountability": dict(accountability) if accountability else None}
        result = self._loop.run(self.sandbox.call(binding.handler, [dict(options), context]))
        return None if isinstance(result, Undefined) else result


class _FakeServerTransport(httpx.BaseTransport):
    """Hands each request to the test's function and sends back what it answers, as a stream
    read once (as the network would)."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        answer = self.handler(request)
        content = answer.read()
        return httpx.Response(answer.status_code, headers=answer.headers, stream=httpx.ByteStream(content))


def _transport(fake: FakeServer | None) -> httpx.BaseTransport | None:
    if fake is None or isinstance(fake, httpx.BaseTransport):
        return fake
    return _FakeServerTransport(fake)


@contextmanager
def load_extension(
    folder: str | Path, tmp_path: str | Path, *, request: FakeServer | None = None, build: bool = True,
    **settings: Any,
) -> Iterator[ExtensionUnderTest]:
    """Build and load the extension in `folder`, its data in `tmp_path`; see the module's docstring.

    `settings` are host settings by their field names (`extensions_sandbox_timeout=...`)."""
    path = Path(folder).resolve()
    if build:
        build_extension(path, read_manifest(path))
    values: dict[str, Any] = {"data_path": Path(tmp_path) / "exthost-data", **settings}
    config = Settings(_env_file=None, **values)
    from host.app import create_app  # the host's own routes, for the endpoint's id check

    runtime = Runtime(config, SDK_PATH)
    loop = _Loop()
    loaded = None
    try:
        namespace = HostNamespace.of_routes(create_app(config).routes)
        loaded = open_extension(path, runtime, config, namespace, request_transport=_transport(request))
        report(loaded)
        if loaded.error is not None or loaded.sandbox is None:
            raise AssertionError(f"extension {path} did not load: {loaded.error}")
        yield ExtensionUnderTest(loaded.sandbox, loop)
    finally:
        if loaded is not None and loaded.sandbox is not None:
            loaded.sandbox.close()
        loop.close()
        runtime.close()
