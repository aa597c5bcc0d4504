"""The recursion guard: flows that trigger each other, or their own events, stop at
`FLOWS_RECURSION_LIMIT` nested runs with a clear error.

The chain of running flows is a context variable, so it follows a run into the
flows it starts: through a `trigger` operation (same task), a filter event (same
task) and an action event or a background run (the chain travels with the queued
job, `host.queue.carry`, to whichever process runs it).
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

_running: ContextVar[tuple[str, ...]] = ContextVar("exthost_flow_chain", default=())
carry("flow_chain", _running, list, lambda names: tuple(str(name) for name in names or ()))


def chain() -> tuple[str, ...]:
    """The names of the flows running around this point, outermost first."""
    return _running.get()


@contextmanager
def entered(flow: FlowRecord, limit: int) -> Iterator[None]:
    running = _running.get()
    if len(running) >= limit:
        shown = " -> ".join([*running[-5:], flow.name])
        message = (
            f'Flow "{flow.name}" stopped: flows were nested {len(running)} deep, the limit '
            f"(FLOWS_RECURSION_LIMIT) is {limit}; flows that trigger each other or their own "
            f"events never end. Chain: {'... -> ' if len(running) > 5 else ''}{shown}"
        )
        log.error("%s", message)
        raise FlowRecursion(message)
    token = _running.set((*running, flow.name))
    try:
        yield
    finally:
        _running.reset(token)
