"""The exthost Python runtime: one WebAssembly component (built by componentize-py)
that evaluates an extension's Python source (`register`) and calls the handlers it
registered (`invoke`). The Python twin of sdk/js/src/runtime.js; see
sdk/wit/extension.wit.

Messages are the same as the JS runtime's: the registration JSON, `done("")` when a
handler returned nothing, and a `GuestError` JSON (`{message, name, fault?}`)
when it raised; `fault` is "out-of-memory" for MemoryError and "stack-overflow"
for RecursionError.

An `async def` handler runs as an asyncio task on the instance's `SandboxLoop`
(directus_api/_loop.py). `invoke` runs it until it waits on a host handle
(`await sleep(ms)`, `await request(url)`, an asyncio timer) and then answers
`pending(ticket)`; the host completes the handle on its event loop and calls
`poll(ticket)`. Every `invoke` and `poll` first reads `completed()` and runs the
tasks it wakes (skipped while no wait is outstanding: then nothing can have
completed), so several calls may wait in one instance at once. Plain
(synchronous) handlers call the blocking `sleep`/`request` imports as before.
"""

from __future__ import annotations

# Modules an extension may import: only what is imported while the component is
# pre-initialised is inside it (the sandbox has no file system to import from).
import asyncio
import base64  # noqa: F401
import binascii  # noqa: F401
import bisect  # noqa: F401
import collections  # noqa: F401
import copy  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import decimal  # noqa: F401
import enum  # noqa: F401
import fractions  # noqa: F401
import functools  # noqa: F401
import hashlib  # noqa: F401
import heapq  # noqa: F401
import hmac  # noqa: F401
import html  # noqa: F401
import inspect
import itertools  # noqa: F401
import json
import math  # noqa: F401
import operator  # noqa: F401
import os
import random  # noqa: F401
import re  # noqa: F401
import select
import statistics  # noqa: F401
import string  # noqa: F401
import sys
import textwrap  # noqa: F401
import time
import traceback
import types
import typing  # noqa: F401
import unicodedata  # noqa: F401
import urllib.parse  # noqa: F401
import uuid  # noqa: F401
from typing import Any

import directus_api
import directus_api._api as api_module
import directus_api._loop as loop_module
import directus_api._register as register_module
import directus_api._types  # noqa: F401
from wit_world import exports
from componentize_py_types import Err
from wit_world.exports import guest as g
from wit_world.imports import api as host

sys.setrecursionlimit(1000)  # the CPython default, which the wasm stack holds: deep recursion is a RecursionError


def _not_available(name: str, instead: str) -> Any:
    """A stand-in for a function the sandbox does not provide: it raises an error the guest can catch.

    `time.sleep` and `select` would block the instance's thread in a WASI clock wait
    (past the call's time limits), `os._exit` and `os.abort` would kill the instance.
    """

    def refuse(*_args: object, **_kwargs: object) -> Any:
        raise RuntimeError(f"{name} is not available in the exthost sandbox: {instead}")

    refuse.__name__ = refuse.__qualname__ = name.rsplit(".", 1)[-1]
    return refuse


time.sleep = _not_available("time.sleep", "use sleep() from directus_api")
select.select = _not_available("select.select", "there is nothing to wait for")
select.poll = _not_available("select.poll", "there is nothing to wait for")
os._exit = _not_available("os._exit", "return or raise instead")
os.abort = _not_available("os.abort", "return or raise instead")

# asyncio (pre-imported above, for the loop of async handlers) imported these too; an extension
# still cannot import them: there is no network, thread or process in the sandbox
for _module in ("socket", "_socket", "threading", "subprocess", "selectors", "concurrent", "concurrent.futures",
                "ssl", "_ssl"):
    sys.modules.pop(_module, None)


def _message(error: BaseException) -> str:
    if isinstance(error, Err):
        return str(error.value)
    return str(error) or type(error).__name__


class _HostBackend:
    """The capabilities, through the `api` imports; an `err` becomes a `HostError`."""

    def log(self, message: str) -> None:
        try:
            host.log(message)
        except Err as e:
            raise directus_api.HostError(_message(e)) from None

    def sleep(self, ms: int) -> None:
        try:
            host.sleep(ms)
        except Err as e:
            raise directus_api.HostError(_message(e)) from None

    def request(self, url: str, options: str) -> str:
        try:
            return host.request(url, options)
        except Err as e:
            raise directus_api.HostError(_message(e)) from None

    def sleep_start(self, ms: int) -> int:
        try:
            return host.sleep_start(ms)
        except Err as e:
            raise directus_api.HostError(_message(e)) from None

    def request_start(self, url: str, options: str) -> int:
        try:
            return host.request_start(url, options)
        except Err as e:
            raise directus_api.HostError(_message(e)) from None


_backend = _HostBackend()
api_module._install(_backend)
_loop = loop_module.SandboxLoop(_backend)
asyncio.run = _not_available("asyncio.run", "make the handler `async def` and await instead")
asyncio.new_event_loop = _not_available("asyncio.new_event_loop", "make the handler `async def` and await instead")


class _Console:
    """`print()` goes to the host log when the extension may log, else nowhere."""

    def __init__(self) -> None:
        self._line = ""

    def write(self, text: str) -> int:
        self._line += text
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            try:
                directus_api.log(line)
            except directus_api.HostError:
                pass
        return len(text)

    def flush(self) -> None:
        pass


sys.stdout = sys.stderr = _Console()  # type: ignore[assignment]


def _fault(error: BaseException) -> str | None:
    if isinstance(error, MemoryError):
        return "out-of-memory"
    if isinstance(error, RecursionError):
        return "stack-overflow"
    return None


def _stack(error: BaseException) -> str | None:
    """The traceback of `error` through the extension's own file (the runtime's frames left out)."""
    file = _state.get("file")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == file]
    if not frames:
        return None
    lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
    return "Traceback (most recent call last):\n" + "\n".join(lines) + f"\n{type(error).__name__}: {_message(error)}"


def _failed(error: BaseException) -> g.CallState:
    fault = _fault(error)
    payload: dict[str, Any] = {"message": _message(error), "name": type(error).__name__}
    if fault:
        payload["fault"] = fault
    else:
        stack = _stack(error)
        if stack:
            payload["stack"] = stack
    return g.CallState_Failed(json.dumps(payload))


def _done(value: object) -> g.CallState:
    if value is None:
        return g.CallState_Done("")
    try:
        return g.CallState_Done(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as e:
        return _failed(TypeError(f"the handler's result cannot be sent as JSON: {e}"))


def _outcome(task: asyncio.Future[Any]) -> g.CallState:
    """The state of a finished task."""
    if task.cancelled():
        return _failed(asyncio.CancelledError("the handler's task was cancelled"))
    error = task.exception()
    return _failed(error) if error is not None else _done(task.result())


def _resume() -> None:
    """Hand the host's completed handles to the loop and run the tasks they woke.

    Only when a wait is outstanding: with none, nothing can have completed, and a
    call that never waits crosses no extra host call."""
    if not _loop.waiting:
        return
    completed = host.completed()
    _loop.enter()
    try:
        if completed != "[]":
            _loop.complete(json.loads(completed))
        _loop.run_ready()
    finally:
        _loop.leave()


def _start(awaitable: Any) -> asyncio.Future[Any]:
    """A task for an async handler, run until it first waits."""
    _loop.enter()
    try:
        task = _loop.start(awaitable)
        _loop.run_ready()
        return task
    finally:
        _loop.leave()


_calls: dict[int, asyncio.Future[Any]] = {}
_tickets = iter(range(1, 0xFFFFFFFF))


def _arity(fn: Any) -> int | None:
    """How many positional arguments `fn` takes (None: any number)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


_state: dict[str, Any] = {"registered": False, "handlers": [], "arity": []}


def _registration(reg: Any, kind: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "name": name}
    if kind == "endpoint":
        if reg.id is not None:
            out["id"] = reg.id
        out["routes"] = reg.routes
    elif kind == "hook":
        out["filters"] = reg.filters
        out["actions"] = reg.actions
    elif reg.operation is None:
        raise TypeError('an operation must register its handler: operation("id", handler) or @operation("id")')
    else:
        out["operation"] = reg.operation
    return out


class Guest(exports.Guest):
    def register(self, source: str, context: str) -> str:
        if _state["registered"]:
            raise Err("this instance already holds an extension")
        info = json.loads(context)
        kind, name = info.get("kind"), info.get("name", "")
        file = info.get("file") if isinstance(info.get("file"), str) else f"<{name}>"
        _state["file"] = file
        if kind not in ("endpoint", "hook", "operation"):
            raise Err(f'unknown extension kind "{kind}"')
        reg = register_module._reset(kind)
        module = types.ModuleType("extension")
        module.__file__ = file
        try:
            code = compile(source, file, "exec")
            exec(code, module.__dict__)
            registration = _registration(reg, kind, name)
        except BaseException as e:  # noqa: BLE001 - every failure is a registration error
            prefix = "" if type(e).__name__ in ("Exception",) else f"{type(e).__name__}: "
            raise Err(f"{prefix}{_message(e)}") from None
        _state["registered"] = True
        _state["handlers"] = list(reg.handlers)
        _state["arity"] = [_arity(fn) for fn in reg.handlers]
        return json.dumps(registration)

    def invoke(self, handler: int, args: str) -> g.CallState:
        handlers = _state["handlers"]
        if handler >= len(handlers):
            return _failed(IndexError(f"no handler number {handler}"))
        fn, arity = handlers[handler], _state["arity"][handler]
        try:
            _resume()
            values = json.loads(args)
            if arity is not None:
                values = values[:arity]
            result = fn(*values)
            if not inspect.isawaitable(result):
                return _done(result)
            task = _start(result)
            if task.done():
                return _outcome(task)
            ticket = next(_tickets)
            _calls[ticket] = task
            return g.CallState_Pending(ticket)
        except BaseException as e:  # noqa: BLE001 - reported to the host as `failed`
            return _failed(e)

    def poll(self, ticket: int) -> g.CallState:
        try:
            _resume()
        except BaseException as e:  # noqa: BLE001 - e.g. SystemExit out of a task: fails the call asked about
            _calls.pop(ticket, None)
            return _failed(e)
        task = _calls.get(ticket)
        if task is None:
            return _failed(LookupError(f"no pending call {ticket}"))
        if not task.done():
            return g.CallState_Pending(ticket)
        del _calls[ticket]
        return _outcome(task)
