"""The recursion guard: flows that trigger each other, or their own events, stop at
`FLOWS_RECURSION_LIMIT` nested runs with a clear error.

The chain of running flows is a context variable, so it follows a run into the
flows it starts: through a `trigger` operation (same task), a filter event (same
task) and an action event or a background run (the chain travels with the queued
job, `host.queue.carry`, to whichever process runs it).

Over HTTP it travels as a number: the `request` operation sends `X-Exthost-Flow-Depth`
(how many runs are nested around it; the host sets it, and drops any value the flow's
options or an extension give), and a webhook or manual trigger that receives it starts its
run that deep (`arrived`), on this host or any other. A request an extension sends
(`request` from `directus:api`, custom operations included) carries no depth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from host.errors import FlowRecursion
from host.flows.models import FlowRecord
from host.queue.carry import carry

log = logging.getLogger("exthost.flows")

MAX_HEADER_DIGITS = 6

_over_http: ContextVar[int] = ContextVar("exthost_flow_depth_over_http", default=0)
_running: ContextVar[tuple[str, ...]] = ContextVar("exthost_flow_chain", default=())
carry("flow_chain", _running, list, lambda names: tuple(str(name) for name in names or ()))
carry("flow_depth_over_http", _over_http, int, lambda depth: depth if isinstance(depth, int) else 0)


def chain() -> tuple[str, ...]:
    """The names of the flows running around this point in this process, outermost first."""
    return _running.get()


def depth() -> int:
    """How many runs are nested around this point: in this process, and before it over HTTP."""
    return _over_http.get() + len(_running.get())


@contextmanager
def entered(flow: FlowRecord, limit: int) -> Iterator[None]:
    running = _running.get()
    over_http = _over_http.get()
    depth = over_http + len(running)
    if depth >= limit:
        shown = " -> ".join([*running[-5:], flow.name])
        before = f"{over_http} run(s) over HTTP -> " if over_http else ""
        message = (
            f'Flow "{flow.name}" stopped: flows were nested {depth} deep, the limit '
            f"(FLOWS_RECURSION_LIMIT) is {limit}; flows that trigger each other or their own "
            f"events never end. Chain: {before}{'... -> ' if len(running) > 5 else ''}{shown}"
        )
        log.error("%s", message)
        raise FlowRecursion(message)
    token = _running.set((*running, flow.name))
    try:
        yield
    finally:
        _running.reset(token)


def depth_of(value: str | None) -> int:
    """The depth an incoming `X-Exthost-Flow-Depth` says; 0 when absent or unreadable."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        return 0
    return int(text) if len(text) <= MAX_HEADER_DIGITS else 10**MAX_HEADER_DIGITS


@contextmanager
def arrived(nested: int) -> Iterator[None]:
    """Runs started inside count `nested` runs already nested around them (over HTTP)."""
    if nested <= 0 or _running.get() or _over_http.get():
        yield
        return
    token = _over_http.set(nested)
    try:
        yield
    finally:
        _over_http.reset(token)
