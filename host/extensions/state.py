"""Extension state in the database: the `exthost_extension_state` table (migration
`m0003_extension_state`) is the source of truth.

It is read once when the extensions load and written whenever a state changes (an
administrator's enable or disable, a fault, a quarantine, a probe's outcome): a
guest call that changes nothing costs no query.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from host.storage import Database
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
    }


def _read(conn: Connection) -> dict[str, ExtensionState]:
    found: dict[str, ExtensionState] = {}
    for row in conn.execute(select(table)).mappings():
        until = row["quarantined_until"]
        found[row["name"]] = ExtensionState(
            name=row["name"],
            enabled=bool(row["enabled"]),
            faults_in_a_row=int(row["faults_in_a_row"]),
            quarantined_until=None if until is None else _seconds(until),
            backoff_ms=None if row["backoff_ms"] is None else int(row["backoff_ms"]),
            last_error=row["last_error"],
        )
    return found


def _write(conn: Connection, state: ExtensionState, now: float) -> None:
    values = _values(state, now)
    if conn.execute(update(table).where(table.c.name == state.name).values(values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(table.insert().values(name=state.name, **values))
    except IntegrityError:  # another process inserted it meanwhile
        conn.execute(update(table).where(table.c.name == state.name).values(values))


class ExtensionStates:
    """The stored states, read at load; `save` writes one through. Without a database
    (`exthost validate`) states live in memory only."""

    def __init__(self, database: Database | None, clock: Clock = time.time) -> None:
        self.database = database
        self.clock = clock
        self._loaded: dict[str, ExtensionState] = {}

    async def load(self) -> None:
        if self.database is not None:
            self._loaded = await self.database.run(_read)

    def get(self, name: str) -> ExtensionState:
        return self._loaded.get(name) or ExtensionState(name)

    async def save(self, state: ExtensionState) -> None:
        self._loaded[state.name] = state
        if self.database is not None:
            now = self.clock()
            await self.database.run(lambda conn: _write(conn, state, now))
