"""The capabilities: `log`, `sleep`, `request`.

Each call goes straight to the host (there is no event loop in the sandbox),
and each returns an object that may also be awaited, so the same code reads
naturally in plain and in `async def` handlers:

    log("hello")                      # or: await log("hello") is not needed
    await sleep(100)                  # or: sleep(100)
    reply = await request(url)        # or: reply = request(url)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Generator, Mapping
from typing import Any, Protocol


class HostError(Exception):
    """The host refused a capability call (not requested, URL or method not allowed, ...)."""


class Backend(Protocol):
    """How the capabilities reach the host; the runtime component installs the real one."""

    def log(self, message: str) -> None: ...

    def sleep(self, ms: int) -> None: ...

    def request(self, url: str, options: str) -> str: ...


class _Outside:
    """Outside the sandbox (unit tests, type checking): log prints, sleep sleeps, request refuses."""

    def log(self, message: str) -> None:
        print(message, file=sys.stderr)

    def sleep(self, ms: int) -> None:
        time.sleep(ms / 1000)

    def request(self, url: str, options: str) -> str:
        raise HostError('"request" is only available inside the exthost sandbox')


_backend: Backend = _Outside()


def _install(backend: Backend) -> None:
    global _backend
    _backend = backend


class _Awaitable:
    """A value already computed that may also be awaited (awaiting gives the value)."""

    def __await__(self) -> Generator[Any, None, Any]:
        return self
        yield  # pragma: no cover - makes this a generator


class Completed(_Awaitable):
    """What `sleep` returns: nothing, but `await sleep(ms)` reads well."""


class RequestResult(dict[str, Any]):
    """The reply of `request`: `{status, statusText, headers, data}` (also as attributes)."""

    def __await__(self) -> Generator[Any, None, RequestResult]:
        return self
        yield  # pragma: no cover

    @property
    def status(self) -> int:
        return int(self["status"])

    @property
    def status_text(self) -> str:
        return str(self["statusText"])

    @property
    def headers(self) -> dict[str, str]:
        return dict(self["headers"])

    @property
    def data(self) -> Any:
        return self["data"]


def _format(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def log(*messages: object) -> None:
    """Write the messages (joined by spaces; non-strings as JSON) to the host log."""
    _backend.log(" ".join(_format(m) for m in messages))


def sleep(ms: float = 0) -> Completed:
    """Pause for `ms` milliseconds (does not count against the extension's time limit)."""
    _backend.sleep(max(0, min(int(ms), 0xFFFFFFFF)))
    return Completed()


def request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: object = None,
) -> RequestResult:
    """Outbound HTTP, limited to the manifest's `request` scope. A non-str `body` is sent as JSON."""
    sent: dict[str, Any] = {"method": method.upper(), "headers": dict(headers or {})}
    if body is not None:
        if isinstance(body, str):
            sent["body"] = body
        else:
            sent["body"] = json.dumps(body)
            if not any(name.lower() == "content-type" for name in sent["headers"]):
                sent["headers"]["Content-Type"] = "application/json"
    return RequestResult(json.loads(_backend.request(str(url), json.dumps(sent))))
