"""Context that travels with a job: a context variable registered here is captured when a
job is queued and set again, in the process that runs it, around the job's handler.

The flows' recursion guard registers its chain of running flows, so a flow started by an
action event still counts the flows that caused the event (`host.flows.guard`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from host.types import Json


@dataclass(frozen=True)
class _Carried:
    var: ContextVar[Any]
    dump: Callable[[Any], Json]
    load: Callable[[Json], Any]


_carried: dict[str, _Carried] = {}


def carry(name: str, var: ContextVar[Any], dump: Callable[[Any], Json], load: Callable[[Json], Any]) -> None:
    """Make `var` travel with every job queued from now on, under `name`."""
    _carried[name] = _Carried(var, dump, load)


def capture() -> dict[str, Json]:
    """The carried variables that are set around this point, as JSON."""
    out: dict[str, Json] = {}
    for name, carried in _carried.items():
        value = carried.var.get(None)
        if value:
            out[name] = carried.dump(value)
    return out


def restore(values: object) -> None:
    """Set the carried variables `capture()` returned (in the job's own context)."""
    if not isinstance(values, dict):
        return
    for name, value in values.items():
        carried = _carried.get(name)
        if carried is not None:
            carried.var.set(carried.load(value))
