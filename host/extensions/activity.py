"""What each extension did: its recent log lines, faults and timing, shared by the cluster.

Each process counts its own calls (calls, errors, faults, a histogram of durations) and
keeps the log lines its extensions wrote (`log()`, `console.*`, errors with their stack)
in memory; `flush` writes them to the database (migration `m0009_extension_activity`)
once a second and before every read, so `GET /extensions/{name}` and
`GET /extensions/{name}/logs` show what every process saw:

- log lines go to `exthost_extension_logs`, a ring of the last `LOG_RING` lines per
  extension (older ones are deleted as new ones arrive);
- counters go to `exthost_extension_metrics`, one row per extension and process (the
  process's totals since it started, overwritten): a read sums them, and p50/p99 come
  from the merged histograms (buckets 25% wide: a percentile is exact to within 25%).

A guest call itself never waits for the database.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Table, Text, select, update
from sqlalchemy.engine import Connection

from host.storage import Database
from host.storage.schema import metadata

LOG_RING = 200
"""Log lines kept per extension (the newest)."""
MAX_PENDING = 1000
"""Lines one process holds between two flushes per extension; beyond it the oldest are dropped (and counted)."""
_BASE_MS = 0.05
_RATIO = 1.25

logs_table = Table(
    "exthost_extension_logs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("stack", Text),
    Column("process", String(128), nullable=False),
    Index("ix_exthost_extension_logs_name_id", "name", "id"),
)

metrics_table = Table(
    "exthost_extension_metrics",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("process", String(128), primary_key=True),
    Column("calls", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("faults", BigInteger, nullable=False),
    Column("histogram", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

LEVELS = ("debug", "info", "warn", "error")


def bucket(ms: float) -> int:
    return 0 if ms <= _BASE_MS else math.ceil(math.log(ms / _BASE_MS, _RATIO))


def bucket_ms(index: int) -> float:
    """The upper edge of bucket `index`, in ms."""
    return round(_BASE_MS * _RATIO**index, 3)


def percentile(histogram: dict[str, int], fraction: float) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(total * fraction))
    seen = 0
    for index in sorted(histogram, key=int):
        seen += histogram[index]
        if seen >= rank:
            return bucket_ms(int(index))
    return None  # pragma: no cover - the loop reaches the total


@dataclass
class _Counters:
    calls: int = 0
    errors: int = 0
    faults: int = 0
    histogram: dict[str, int] = field(default_factory=dict)
    dirty: bool = False


@dataclass(frozen=True)
class LogLine:
    name: str
    at: datetime
    level: str
    message: str
    stack: str | None = None


class Activity:
    """This process's share of every extension's activity, and the cluster's when read."""

    def __init__(self, db: Database | None) -> None:
        self.db = db
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._lock = threading.Lock()
        self._counters: dict[str, _Counters] = {}
        self._pending: list[LogLine] = []
        self.dropped = 0

    # -- recording (any thread) ---------------------------------------------------------

    def call(self, name: str, ms: float, *, error: bool = False, fault: bool = False) -> None:
        with self._lock:
            counters = self._counters.setdefault(name, _Counters())
            counters.calls += 1
            counters.errors += error or fault
            counters.faults += fault
            key = str(bucket(ms))
            counters.histogram[key] = counters.histogram.get(key, 0) + 1
            counters.dirty = True

    def log(self, name: str, level: str, message: str, stack: str | None = None) -> None:
        line = LogLine(name, datetime.now(UTC), level if level in LEVELS else "info", message, stack)
        with self._lock:
            self._pending.append(line)
            if len(self._pending) > MAX_PENDING:
                del self._pending[0]
                self.dropped += 1

    # -- sharing ------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write what this process recorded since the last flush."""
        if self.db is None:
            return
        with self._lock:
            lines, self._pending = self._pending, []
            counters = {name: (c.calls, c.errors, c.faults, dict(c.histogram)) for name, c in self._counters.items()
                        if c.dirty}
            for name in counters:
                self._counters[name].dirty = False
        if lines or counters:
            await self.db.run(lambda conn: self._write(conn, lines, counters))

    def _write(self, conn: Connection, lines: list[LogLine],
               counters: dict[str, tuple[int, int, int, dict[str, int]]]) -> None:
        now = datetime.now(UTC)
        if lines:
            conn.execute(logs_table.insert(), [
                {"name": line.name, "at": line.at, "level": line.level, "message": line.message,
                 "stack": line.stack, "process": self.process} for line in lines
            ])
            for name in {line.name for line in lines}:
                _trim(conn, name)
        for name, (calls, errors, faults, histogram) in counters.items():
            values = {"calls": calls, "errors": errors, "faults": faults, "histogram": histogram, "updated_at": now}
            where = (metrics_table.c.name == name) & (metrics_table.c.process == self.process)
            if not conn.execute(update(metrics_table).where(where).values(values)).rowcount:
                conn.execute(metrics_table.insert().values(name=name, process=self.process, **values))

    async def metrics(self, name: str) -> dict[str, Any]:
        """Calls, errors, faults and p50/p99 (ms) of `name`, over every process."""
        await self.flush()
        if self.db is None:
            rows = [(c.calls, c.errors, c.faults, c.histogram) for n, c in self._counters.items() if n == name]
        else:
            query = select(metrics_table.c.calls, metrics_table.c.errors, metrics_table.c.faults,
                           metrics_table.c.histogram).where(metrics_table.c.name == name)
            rows = [tuple(row) for row in await self.db.run(lambda conn: conn.execute(query).all())]
        merged: dict[str, int] = {}
        for row in rows:
            for key, count in dict(row[3]).items():
                merged[key] = merged.get(key, 0) + int(count)
        return {
            "calls": sum(int(row[0]) for row in rows),
            "errors": sum(int(row[1]) for row in rows),
            "faults": sum(int(row[2]) for row in rows),
            "p50_ms": percentile(merged, 0.5),
            "p99_ms": percentile(merged, 0.99),
        }

    async def lines(self, name: str, limit: int = LOG_RING, level: str | None = None) -> list[dict[str, Any]]:
        """The newest `limit` log lines of `name` (at `level` or above), oldest first."""
        await self.flush()
        if self.db is None:
            found = [line for line in self._pending if line.name == name]
            rows = [{"at": line.at, "level": line.level, "message": line.message, "stack": line.stack,
                     "process": self.process} for line in found]
        else:
            query = select(logs_table.c.at, logs_table.c.level, logs_table.c.message, logs_table.c.stack,
                           logs_table.c.process).where(logs_table.c.name == name)
            if level is not None:
                query = query.where(logs_table.c.level.in_(LEVELS[LEVELS.index(level):]))
            query = query.order_by(logs_table.c.id.desc()).limit(limit)
            rows = [dict(row) for row in await self.db.run(lambda conn: conn.execute(query).mappings().all())]
            rows.reverse()
        return [{**row, "at": _iso(row["at"]) if isinstance(row["at"], datetime) else row["at"]}
                for row in rows[-limit:]]

    async def forget(self, name: str) -> None:
        """Drop what was recorded of `name` (uninstalled)."""
        with self._lock:
            self._counters.pop(name, None)
            self._pending = [line for line in self._pending if line.name != name]
        if self.db is not None:
            def delete(conn: Connection) -> None:
                conn.execute(logs_table.delete().where(logs_table.c.name == name))
                conn.execute(metrics_table.delete().where(metrics_table.c.name == name))

            await self.db.run(delete)


def _trim(conn: Connection, name: str) -> None:
    keep_from = conn.execute(
        select(logs_table.c.id).where(logs_table.c.name == name).order_by(logs_table.c.id.desc())
        .offset(LOG_RING - 1).limit(1)
    ).scalar()
    if keep_from is not None:
        conn.execute(logs_table.delete().where((logs_table.c.name == name) & (logs_table.c.id < keep_from)))


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ActivityHandler(logging.Handler):
    """Routes the records of `exthost.extension.<name>` loggers (what guests log) to `Activity`."""

    def __init__(self, activity: Activity) -> None:
        super().__init__(logging.DEBUG)
        self.activity = activity

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "extension", None)
        if not isinstance(name, str):
            return
        level = {logging.ERROR: "error", logging.WARNING: "warn", logging.DEBUG: "debug"}.get(record.levelno, "info")
        self.activity.log(name, level, record.getMessage(), getattr(record, "guest_stack", None))
