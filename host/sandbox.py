"""The small protocol the web layer, hooks and flows use to talk to an extension.

Only `host.runtime` knows how a sandbox is made (wasmtime components, Extism
plugins); everything else sees this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from host.types import Json, Registration, Undefined

MAX_GUEST_TEXT = 10_000
"""Characters of a message a guest writes that the host keeps: a `log()` line, the message of
an error it throws. The rest is cut (`guest_text`), so no call can write megabytes to the
host's log or into an error response at once."""


def guest_text(message: str) -> str:
    """`message` cut to `MAX_GUEST_TEXT` characters, saying how many were cut."""
    if len(message) <= MAX_GUEST_TEXT:
        return message
    return f"{message[:MAX_GUEST_TEXT]}... ({len(message) - MAX_GUEST_TEXT} more characters)"


class SandboxStatus(StrEnum):
    ready = "ready"
    quarantined = "quarantined"
    disabled = "disabled"
    closed = "closed"


@dataclass(frozen=True)
class Limits:
    """What one call of one extension may use."""

    memory_bytes: int
    timeout_ms: int
    wall_timeout_ms: int
    pool_size: int
    single_use: bool = False
    """Each instance serves one call, then is dropped (nothing a call leaves in the
    guest's globals reaches a later call); the next one is made in the background."""
    json_depth: int = 100
    """`MAX_JSON_DEPTH`: how deeply what a call returns may nest (an endpoint's body, a
    filter's payload, an operation's value)."""


class Sandbox(Protocol):
    """One loaded extension: its registration and a way to call its handlers."""

    @property
    def name(self) -> str: ...

    @property
    def runtime(self) -> str:
        """The runtime that runs it: `js`, `python`, `component` or `extism`."""
        ...

    @property
    def registration(self) -> Registration: ...

    @property
    def status(self) -> SandboxStatus:
        """`ready` or `closed`; an extension's breaker (`host.extensions.circuit`) adds
        `quarantined` and `disabled`."""
        ...

    async def call(self, handler: int, args: Sequence[Json]) -> Json | Undefined:
        """Run handler number `handler` with positional `args`.

        Returns its JSON result (`UNDEFINED` when it returned nothing); raises an
        `ExtensionError` subclass when it threw, faulted, timed out or may not be
        called (`ExtensionUnavailable`).
        """
        ...

    async def call_json(self, handler: int, args_json: str) -> str:
        """`call` without the JSON at either end: `args_json` is the JSON text of the positional
        arguments array, sent as it is; returns the result's JSON text as the guest wrote it
        ("" when it returned nothing), to be read with `decode_result`. For callers that build
        the arguments' text themselves (the endpoint path) and read the result once."""
        ...

    def decode_result(self, text: str) -> Json | Undefined:
        """What `call_json` returned, read as `call` reads it: `UNDEFINED` for "", else the value
        within `MAX_JSON_DEPTH` and the sandbox's memory; `InvalidExtensionOutput` (a 400 naming
        the extension) when refused."""
        ...

    def close(self) -> None: ...
