"""The capabilities: `log`, `sleep`, `request`.

Called from an `async def` function while the sandbox's event loop runs it
(`_loop.py`), `sleep` and `request` start the wait on the host and return an
awaitable: the instance, and no host thread, waits for it, and other calls and
tasks run meanwhile (`asyncio.gather(sleep(100), sleep(100))` takes 100 ms).
Called from a plain function (a synchronous handler, or a plain helper called
by an async one) they go straight to the host and return when the wait is over,
holding the instance and a host thread meanwhile; the result may still be
awaited, so the same code reads naturally in both:

    log("hello")                      # log never waits
    await sleep(100)                  # in async def; sleep(100) in a plain function
    reply = await request(url)        # in async def; reply = request(url) in a plain function

Outside the sandbox (unit tests, type checking) they always go straight to the
backend: `log` prints, `sleep` sleeps, `request` refuses.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
from collections.abc import Generator, Mapping
from typing import Any, Protocol

from directus_api._errors import HostError
from directus_api._loop import Pending, SandboxLoop

__all__ = ["Backend", "Completed", "HostError", "RequestResult", "log", "request", "sleep"]

_ASYNC_CODE = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


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


_PASS_THROUGH = frozenset({"<genexpr>", "<listcomp>", "<setcomp>", "<dictcomp>", "<lambda>"})


def _waiting_loop(depth: int) -> SandboxLoop | None:
    """The sandbox loop, when the function `depth` frames up is an `async def` it is running.

    Comprehensions, generator expressions and lambdas are looked through, to the function that runs them:
    `await asyncio.gather(*(request(u) for u in urls))` in an `async def` starts every request."""
    loop = asyncio.events._get_running_loop()
    if not isinstance(loop, SandboxLoop):
        return None
    frame = sys._getframe(depth + 1)
    while frame.f_code.co_name in _PASS_THROUGH and frame.f_back is not None:
        frame = frame.f_back
    return loop if frame.f_code.co_flags & _ASYNC_CODE else None


def sleep(ms: float = 0) -> Completed | asyncio.Future[None]:
    """Pause for `ms` milliseconds (does not count against the extension's time limit)."""
    wait = max(0, min(int(ms), 0xFFFFFFFF))
    loop = _waiting_loop(1)
    if loop is not None:
        return loop.wait_sleep(wait)
    _backend.sleep(wait)
    return Completed()


def request(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: object = None,
) -> RequestResult | Pending:
    """Outbound HTTP, limited to the manifest's `request` scope. A non-str `body` is sent as JSON."""
    sent: dict[str, Any] = {"method": method.upper(), "headers": dict(headers or {})}
    if body is not None:
        if isinstance(body, str):
            sent["body"] = body
        else:
            sent["body"] = json.dumps(body)
            if not any(name.lower() == "content-type" for name in sent["headers"]):
                sent["headers"]["Content-Type"] = "application/json"
    loop = _waiting_loop(1)
    if loop is not None:
        return loop.wait_request(str(url), json.dumps(sent), _reply)
    return _reply(_backend.request(str(url), json.dumps(sent)))


def _reply(text: str) -> RequestResult:
    return RequestResult(json.loads(text))
