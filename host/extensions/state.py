"""Extension state in the database: the `exthost_extension_state` table (migration
`m0003_extension_state`) is the source of truth for every process.

- It is read once when the extensions load, and again (all rows) whenever another
  process changed it: every change bumps the `extensions` revision (`host.cluster`), so
  an enable, disable or quarantine made anywhere is in force everywhere within about a second.
- A change (an administrator's enable or disable, a fault, a quarantine, a probe's
  outcome) is a transition of the STORED row, computed in one transaction that holds the
  row's lock: faults counted by several processes add up, none is lost to a stale copy.
- A guest call that changes nothing costs no query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from host.cluster import ChangeBus, Topic, revisions
from host.storage.schema import metadata

log = logging.getLogger("exthost.extensions")

Clock = Callable[[], float]
"""Wall-clock seconds since the epoch (`time.time`); quarantines outlive the process, so not monotonic."""

MAX_ERROR_CHARS = 2000

table = Table(
    "exthost_extension_state",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("faults_in_a_row", Integer, nullable=False),
    Column("quarantined_until", DateTime(timezone=True)),
    Column("backoff_ms", BigInteger),
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("granted_scopes", Text),
    Column("generation", Integer, nullable=False, server_default="0"),
    Column("source", Text),
)


@dataclass(frozen=True)
class ExtensionState:
    """One extension's state. `quarantined_until` (wall-clock seconds) is set while it is
    quarantined: from then on one probe call is allowed; `backoff_ms` is the length of the
    current rest."""

    name: str
    enabled: bool = True
    faults_in_a_row: int = 0
    quarantined_until: float | None = None
    backoff_ms: int | None = None
    last_error: str | None = None
    granted_scopes: str | None = None
    """What an administrator granted (`requestedScopes` JSON text, host/extensions/consent.py);
    None when no one ever decided."""
    generation: int = 0
    """Bumped to make every process reload the extension from disk."""
    source: str | None = None
    """What it was installed from (`exthost install SPEC`)."""


Change = Callable[[ExtensionState], ExtensionState]
"""A transition: the new state from the current one (the same when nothing changes)."""


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _seconds(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _values(state: ExtensionState, now: float) -> dict[str, object]:
    return {
        "enabled": state.enabled,
        "faults_in_a_row": state.faults_in_a_row,
        "quarantined_until": None if state.quarantined_until is None else _moment(state.quarantined_until),
        "backoff_ms": state.backoff_ms,
        "last_error": None if state.last_error is None else state.last_error[:MAX_ERROR_CHARS],
        "updated_at": _moment(now),
        "granted_scopes": state.granted_scopes,
        "generation": state.generation,
        "source": state.source,
    }


def _state(row: Any) -> ExtensionState:
    until = row["quarantined_until"]
    return ExtensionState(
        name=row["name"],
        enabled=bool(row["enabled"]),
        faults_in_a_row=int(row["faults_in_a_row"]),
        quarantined_until=None if until is None else _seconds(until),
        backoff_ms=None if row["backoff_ms"] is None else int(row["backoff_ms"]),
        last_error=row["last_error"],
        granted_scopes=row["granted_scopes"],
        generation=int(row["generation"] or 0),
        source=row["source"],
    )


def _read(conn: Connection) -> tuple[dict[str, ExtensionState], int]:
    """Every stored state and a revision they are at least as new as (read first)."""
    revision = revisions.read_one(conn, Topic.extensions)
    return {row["name"]: _state(row) for row in conn.execute(select(table)).mappings()}, revision


def _locked(conn: Connection, name: str, now: float) -> ExtensionState:
    """The stored state of `name`, its row locked until the commit (inserted first when missing)."""
    lock = update(table).where(table.c.name == name).values(name=table.c.name)
    if not conn.execute(lock).rowcount:
        try:
            with conn.begin_nested():
                conn.execute(table.insert().values(name=name, **_values(ExtensionState(name), now)))
        except IntegrityError:  # another process inserted it meanwhile
            conn.execute(lock)
    return _state(conn.execute(select(table).where(table.c.name == name)).mappings().one())


def _transition(conn: Connection, name: str, change: Change, now: float) -> tuple[ExtensionState, ExtensionState]:
    """The stored state before and after `change` (written only when it differs)."""
    current = _locked(conn, name, now)
    new = change(current)
    if new != current:
        conn.execute(update(table).where(table.c.name == name).values(_values(new, now)))
    return current, new


class Adopter(Protocol):
    """What holds an extension's state in this process (its circuit breaker)."""

    def adopt(self, state: ExtensionState, revision: int) -> None: ...


class ExtensionStates:
    """The stored states: read at load, refreshed when another process changed them, changed
    through `transition`. Without a bus (`exthost validate`) states live in memory only."""

    def __init__(self, bus: ChangeBus | None, clock: Clock = time.time) -> None:
        self.bus = bus
        self.clock = clock
        self.revision = 0
        self._loaded: dict[str, ExtensionState] = {}
        self._holders: dict[str, Adopter] = {}

    async def load(self) -> None:
        if self.bus is not None:
            self._loaded, self.revision = await self.bus.db.run(_read)

    def get(self, name: str) -> ExtensionState:
        return self._loaded.get(name) or ExtensionState(name)

    def hold(self, name: str, holder: Adopter) -> None:
        """`holder` adopts `name`'s state at every refresh."""
        self._holders[name] = holder

    async def refresh(self) -> None:
        """Read every stored state again and hand each to its holder (the bus's subscriber)."""
        if self.bus is None:
            return
        self._loaded, self.revision = await self.bus.db.run(_read)
        for name, holder in self._holders.items():
            holder.adopt(self.get(name), self.revision)

    async def transition(self, name: str, change: Change, *, refresh_here: bool = False) -> tuple[ExtensionState, int]:
        """Apply `change` to the stored state of `name` atomically; returns the new state and the
        revision it is at (the caller adopts it: the other holders are not refreshed, unless
        `refresh_here`: then this process's subscribers run too, as every other process's do)."""
        if self.bus is None:
            state = self._loaded[name] = change(self.get(name))
            return state, self.revision
        now = self.clock()
        (_, state), revision = await self.bus.change(
            Topic.extensions,
            lambda conn: _transition(conn, name, change, now),
            refresh_here=refresh_here,
            unchanged=lambda states: states[0] == states[1],
        )
        self._loaded[name] = state
        return state, revision

    def names(self) -> list[str]:
        """Every extension with a stored state."""
        return sorted(self._loaded)

    async def forget(self, name: str) -> bool:
        """Delete the stored state of `name` (uninstalled: a later install asks for consent again)."""
        if self.bus is None:
            return self._loaded.pop(name, None) is not None

        def delete(conn: Connection) -> int:
            return int(conn.execute(table.delete().where(table.c.name == name)).rowcount)

        deleted, _ = await self.bus.change(Topic.extensions, delete, unchanged=lambda count: count == 0)
        self._loaded.pop(name, None)
        return deleted > 0
