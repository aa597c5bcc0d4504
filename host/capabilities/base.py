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


def make_log(extension: str) -> Capability:
    logger = logging.getLogger(f"exthost.extension.{extension}")

    def log(ctx: CallContext, message: str) -> None:
        logger.info("%s", guest_text(message), extra={"extension": extension})

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
