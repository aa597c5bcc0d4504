"""What a capability is, and how an extension's set of them is built."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host.config import Settings
from host.errors import CapabilityDenied
from host.extensions.manifest import Scopes
from host.sandbox import guest_text

if TYPE_CHECKING:
    import httpx


@dataclass
class CallContext:
    """The call a capability runs for: whose, and until when (monotonic seconds)."""

    extension: str
    wall_deadline: float
    flow_depth: int = 0
    """How many flow runs are nested around the call (set by the host's `request` operation):
    sent along as `X-Exthost-Flow-Depth` (host/flows/guard.py)."""

    def remaining(self) -> float:
        return self.wall_deadline - time.monotonic()


Capability = Callable[..., object]
"""`fn(ctx: CallContext, *wit_args)`: returns the WIT ok value, raises `CapabilityDenied` for err."""

Starter = Callable[..., Coroutine[Any, Any, str]]
"""`fn(ctx: CallContext, *wit_args)` of a `*-start` import: checks what it can at once (raising
`CapabilityDenied`, the err value) and returns the coroutine that waits, on the event loop,
for the ok text (raising `CapabilityDenied` for an error the guest sees)."""


@dataclass
class CapabilitySet:
    """One extension's `directus:api` imports, each already bound to its scope."""

    log: Capability
    sleep: Capability
    request: Capability
    sleep_start: Starter
    request_start: Starter
    granted: tuple[str, ...] = field(default=())


def denied(name: str) -> Capability:
    def refuse(ctx: CallContext, *args: object) -> object:
        raise CapabilityDenied(f'No permission to access "{name}"')

    return refuse


LEVEL_MARK = "\x00"
"""A guest's `console.warn`/`console.error` (and `.debug`) send `\x00warn\x00message`: the level
travels in the one `log(message)` import (sdk/js/src/runtime.js)."""
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def guest_level(message: str) -> tuple[int, str]:
    """The level a guest gave `message` (`LEVEL_MARK`), and the message without the mark."""
    if message.startswith(LEVEL_MARK):
        level, mark, rest = message[1:].partition(LEVEL_MARK)
        if mark and level in _LEVELS:
            return _LEVELS[level], rest
    return logging.INFO, message


def make_log(extension: str) -> Capability:
    logger = logging.getLogger(f"exthost.extension.{extension}")

    def log(ctx: CallContext, message: str) -> None:
        level, text = guest_level(message)
        logger.log(level, "%s", guest_text(text), extra={"extension": extension})

    return log


def _sleep_seconds(ctx: CallContext, ms: int) -> float:
    """How long `sleep(ms)` waits, refused when it would outlast the call's time limit."""
    seconds = ms / 1000
    if seconds > ctx.remaining():
        raise CapabilityDenied(f"sleep({ms}) would outlast the call's time limit")
    return seconds


def make_sleep() -> Capability:
    def sleep(ctx: CallContext, ms: int) -> None:
        time.sleep(_sleep_seconds(ctx, ms))

    return sleep


def make_sleep_start() -> Starter:
    def sleep_start(ctx: CallContext, ms: int) -> Coroutine[Any, Any, str]:
        seconds = _sleep_seconds(ctx, ms)

        async def wait() -> str:
            await asyncio.sleep(seconds)
            return ""

        return wait()

    return sleep_start


def denied_start(name: str) -> Starter:
    def refuse(ctx: CallContext, *args: object) -> Coroutine[Any, Any, str]:
        raise CapabilityDenied(f'No permission to access "{name}"')

    return refuse


def build_capabilities(
    extension: str, scopes: Scopes, settings: Settings, request_transport: httpx.BaseTransport | None = None
) -> CapabilitySet:
    """The capabilities `scopes` grant; `request_transport` answers `request` instead of the
    network (`host.testing`), after the same scope checks."""
    request, request_start = denied("request"), denied_start("request")
    if scopes.request is not None:
        from host.capabilities.request import make_requests

        request, request_start = make_requests(scopes.request, settings, request_transport)
    granted_sleep = scopes.sleep is not None
    return CapabilitySet(
        log=make_log(extension) if scopes.log is not None else denied("log"),
        sleep=make_sleep() if granted_sleep else denied("sleep"),
        request=request,
        sleep_start=make_sleep_start() if granted_sleep else denied_start("sleep"),
        request_start=request_start,
        granted=tuple(name for name in ("log", "sleep", "request") if getattr(scopes, name) is not None),
    )
