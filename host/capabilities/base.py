"""What a capability is, and how an extension's set of them is built."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from host.config import Settings
from host.errors import CapabilityDenied
from host.extensions.manifest import Scopes
from host.sandbox import guest_text


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


@dataclass
class CapabilitySet:
    """One extension's `directus:api` imports, each already bound to its scope."""

    log: Capability
    sleep: Capability
    request: Capability
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


def make_sleep() -> Capability:
    def sleep(ctx: CallContext, ms: int) -> None:
        seconds = ms / 1000
        if seconds > ctx.remaining():
            raise CapabilityDenied(f"sleep({ms}) would outlast the call's time limit")
        time.sleep(seconds)

    return sleep


def build_capabilities(extension: str, scopes: Scopes, settings: Settings) -> CapabilitySet:
    request = denied("request")
    if scopes.request is not None:
        from host.capabilities.request import make_request

        request = make_request(scopes.request, settings)
    return CapabilitySet(
        log=make_log(extension) if scopes.log is not None else denied("log"),
        sleep=make_sleep() if scopes.sleep is not None else denied("sleep"),
        request=request,
        granted=tuple(name for name in ("log", "sleep", "request") if getattr(scopes, name) is not None),
    )
