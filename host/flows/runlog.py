"""The run log: every run of a flow whose `accountability` is set, with its steps.

`activity` records the run and each step's key and outcome; `all` adds each step's
options (after interpolation) and result, and the final data chain. Before anything
is stored, secrets are redacted: values under secret-looking keys (authorization,
cookie, tokens, passwords, secrets, API keys), and every configured secret by value
(`host.redaction.configured_secrets`: the host's tokens and SMTP password, the
allow-listed env values) wherever it appears inside a string, keys and the error
included. Then an entry larger than `FLOWS_LOG_MAX_ENTRY_BYTES` is cut down with
visible markers (host/flows/clip.py). Runs older than `FLOWS_LOG_RETENTION`, or past
the newest `FLOWS_LOG_MAX_RUNS` of a flow, are pruned. A run that belonged to a queued
job (an async webhook, a schedule tick, an action event) records the job's key and
attempt (`job`): a run retried after a failure or a crash shows as attempt 2, 3, ...

Runs are stored off the request path, in batches (`host.flows.logwriter`): a run that
answers a request is buffered (at most `FLOWS_LOG_MAX_PENDING` runs; a full buffer makes
the next run wait for the batch under way) and the answer does not wait for the
database; a run of a queued job is stored before the job counts as done. Reads here
flush this process's buffer first; another process sees a run once it is flushed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Insert, Text, bindparam, cast, delete, func, select
from sqlalchemy.engine import Connection

from host.flows import tables
from host.flows.clip import TRUNCATED, fit, size
from host.flows.logwriter import DEFAULT_MAX_PENDING, BatchWriter
from host.flows.models import new_id
from host.redaction import REDACTED, Redactor
from host.storage import Database
from host.storage.database import dump_json
from host.types import Json

__all__ = ["REDACTED", "RunEntry", "RunLog", "is_secret_key", "parse_duration", "redact"]

_SECRET_KEYS = re.compile(
    r"^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|access[-_]?token|"
    r"refresh[-_]?token|token|password|passwd|secret|client[-_]?secret|private[-_]?key)$"
    r"|(password|secret|token)$",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEYS.search(key))


def redact(value: Json, secrets: Iterable[str] = ()) -> Json:
    """`value` with secret-keyed entries, and every occurrence of `secrets` inside any string
    (keys included), replaced by `REDACTED`."""
    return _redact(value, Redactor(secrets))


def _redact(value: Json, redactor: Redactor) -> Json:
    if isinstance(value, dict):
        return {
            redactor.text(str(key)): REDACTED
            if is_secret_key(str(key)) and value_present(item)
            else _redact(item, redactor)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item, redactor) for item in value]
    if isinstance(value, str):
        return redactor.text(value)
    return value


def value_present(value: Json) -> bool:
    return value not in (None, "")


_WORDS = ("authorization", "cookie", "apikey", "api-key", "api_key", "token", "passw", "secret", "private")
_SECRET_WORDS = re.compile("|".join(re.escape(word) for word in _WORDS), re.IGNORECASE)
"""Every key `is_secret_key` matches contains one of these (same flags, so the same case folding)."""
_ESCAPED = re.compile(r'["\\\x00-\x1f]')
"""What JSON text writes escaped: a secret holding one may not appear in the text as it is."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, check_circular=False)
"""JSON text as the storage writes it (`host.storage.database.dump_json`), built once. A cycle
raises RecursionError, as nesting too deep does: the full walk then stores a marker."""


def _has_secret_word(text: str) -> bool:
    if text.isascii():  # the common case, without a regular expression
        lowered = text.lower()
        return any(word in lowered for word in _WORDS)
    return _SECRET_WORDS.search(text) is not None


@dataclass(frozen=True)
class _Secrets:
    redactor: Redactor
    values: frozenset[str]
    """Every form `redactor` replaces."""
    plain: bool
    """Every value appears as it is inside the JSON text of a string holding it."""


@lru_cache(maxsize=16)
def _secrets(values: tuple[str, ...]) -> _Secrets:
    redactor = Redactor(values)
    forms = redactor.values
    return _Secrets(redactor, forms, not any(_ESCAPED.search(form) for form in forms))


def _clean_texts(entry: RunEntry, secrets: _Secrets, limit: int) -> tuple[str, str] | None:
    """The fast path of `RunLog.prepare`: the JSON texts of `entry`'s steps and chain as they
    are, when nothing in them (nor in the error) is to be redacted (no secret-looking word
    anywhere, so no secret key; no secret value) and they fit in `limit` bytes; None when
    the full walk is needed."""
    if not secrets.plain:
        return None
    try:
        steps, data = _ENCODER.encode(entry.steps), _ENCODER.encode(entry.data)
    except (RecursionError, ValueError, TypeError):
        return None
    error = "null" if entry.error is None else _ENCODER.encode(entry.error)
    text = "\n".join((steps, data, error))  # joined, a check can only find more
    if _has_secret_word(text) or any(value in text for value in secrets.values):
        return None
    if text.isascii():
        stored = len(text) + 4  # as `size([steps, data, error])` counts: "[", ", ", ", ", "]"
    else:
        try:
            text.encode("utf-8")  # a lone surrogate: the full walk refuses it
        except UnicodeEncodeError:
            return None
        stored = size([entry.steps, entry.data, entry.error])
    return (steps, data) if stored <= limit else None


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta | None:
    """`90d`, `12h`, `30m`, `45s` (or seconds); `0` or empty: forever (None)."""
    match = _DURATION.match(text or "0")
    if not match:
        raise ValueError(f"invalid duration {text!r}: expected a number with s, m, h, d or w")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    return timedelta(seconds=seconds) if seconds else None


@dataclass
class RunEntry:
    flow: str
    level: str
    status: str
    trigger: str
    user: str | None
    started_at: datetime
    duration_ms: int
    steps: list[dict[str, Json]] = field(default_factory=list)
    data: Json = None
    error: str | None = None
    job_key: str | None = None
    """The queued job the run belongs to (`host.queue`): the same key on every retry."""
    job_attempt: int | None = None
    id: str = field(default_factory=new_id)


def _row_json(row: Any) -> dict[str, Json]:
    started = row["started_at"]
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return {
        "id": row["id"],
        "flow": row["flow"],
        "accountability": row["level"],
        "status": row["status"],
        "trigger": row["trigger"],
        "user": row["user"],
        "started_at": started.isoformat() if started else None,
        "duration_ms": row["duration_ms"],
        "steps": row["steps"] or [],
        "data": row["data"],
        "error": row["error"],
        "job": {"key": row["job_key"], "attempt": row["job_attempt"]} if row["job_key"] else None,
    }


@lru_cache(maxsize=4)
def _insert_run(dialect: str) -> Insert:
    """The INSERT of a run whose steps and chain are JSON text already (`RunLog._row`)."""
    runs = tables.runs

    def param(column: Column[Any]) -> Any:
        if column.name not in ("steps", "data"):
            return bindparam(column.name, type_=column.type)
        text = bindparam(column.name, type_=Text)
        return text if dialect == "sqlite" else cast(text, column.type)  # SQLite keeps JSON as text

    return runs.insert().values({column.name: param(column) for column in runs.columns})


_COLUMNS = tuple(column.name for column in tables.runs.columns)


def insert_runs(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store a batch of runs. On SQLite one multi-row INSERT (one step of the database for
    the whole batch, where an executemany takes one per row and hands the interpreter's
    lock back and forth each time), its values bound as SQLAlchemy binds them."""
    if conn.dialect.name != "sqlite":
        conn.execute(_insert_run(conn.dialect.name), rows)
        return
    started = _sqlite_datetime(conn)
    names = ", ".join(f'"{name}"' for name in _COLUMNS)
    one = "(" + ", ".join("?" for _ in _COLUMNS) + ")"
    for start in range(0, len(rows), _SQLITE_ROWS):
        chunk = rows[start : start + _SQLITE_ROWS]
        values: list[Any] = []
        for row in chunk:
            values.extend(started(row[name]) if name == "started_at" else row[name] for name in _COLUMNS)
        sql = f"INSERT INTO {tables.runs.name} ({names}) VALUES {', '.join(one for _ in chunk)}"
        conn.exec_driver_sql(sql, tuple(values))


_SQLITE_ROWS = 500
"""Rows per statement: 13 parameters each, well under SQLite's 32766."""


def _sqlite_datetime(conn: Connection) -> Callable[[Any], Any]:
    column_type = tables.runs.c.started_at.type.dialect_impl(conn.dialect)
    processor = column_type.bind_processor(conn.dialect)
    return processor or (lambda value: value)


class RunLog:
    def __init__(
        self,
        db: Database,
        retention: str,
        max_runs: int,
        max_entry_bytes: int,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self.db = db
        self.retention = parse_duration(retention)
        self.max_runs = max_runs
        self.max_entry_bytes = max_entry_bytes
        self.writer = BatchWriter(db, insert_runs, max_pending)

    def start(self) -> None:
        """Write runs in the background from now on (until `stop`)."""
        self.writer.start()

    async def flush(self) -> None:
        """Return once every run recorded so far is stored."""
        await self.writer.flush()

    async def stop(self) -> None:
        """Store the buffered runs, then write each run as it is recorded."""
        await self.writer.stop()

    def prepare(self, entry: RunEntry, secrets: Iterable[str] = ()) -> RunEntry:
        """`entry` as it is stored: secrets redacted, then cut to `max_entry_bytes`."""
        row = self._row(entry, secrets)
        return replace(entry, steps=json.loads(row["steps"]), data=json.loads(row["data"]), error=row["error"])

    def _row(self, entry: RunEntry, secrets: Iterable[str]) -> dict[str, Any]:
        """The row of `entry` as `prepare` describes it, steps and chain as JSON text (so it
        shares nothing with the run, whose values may change once it has returned). Raises
        `ValueError` for a value the storage refuses (`host.storage.database.dump_json`)."""
        found = _secrets(tuple(secrets))
        texts = _clean_texts(entry, found, self.max_entry_bytes)
        error = entry.error
        if texts is None:
            redactor = found.redactor
            try:
                steps, data = _redact(entry.steps, redactor), _redact(entry.data, redactor)
            except RecursionError:
                steps, data = [], f"{TRUNCATED} nested too deeply to be logged"
            error = redactor.text(entry.error) if entry.error is not None else None
            cut = fit(steps, data, error, self.max_entry_bytes)
            texts, error = (dump_json(cut.steps), dump_json(cut.data)), cut.error
        return {
            "id": entry.id,
            "flow": entry.flow,
            "level": entry.level,
            "status": entry.status,
            "trigger": entry.trigger,
            "user": entry.user,
            "started_at": entry.started_at,
            "duration_ms": entry.duration_ms,
            "steps": texts[0],
            "data": texts[1],
            "error": error,
            "job_key": entry.job_key,
            "job_attempt": entry.job_attempt,
        }

    async def record(self, entry: RunEntry, secrets: Iterable[str] = (), *, durable: bool = False) -> None:
        """Store `entry` after `prepare()`: buffered (see the module docstring); with `durable`,
        return once it is stored. Raises `ValueError` for a value the storage refuses."""
        await self.writer.add(self._row(entry, secrets), durable=durable)

    async def runs(self, flow_id: str, limit: int = 100, offset: int = 0) -> list[dict[str, Json]]:
        await self.flush()  # what this process ran is shown
        def work(conn: Connection) -> list[dict[str, Json]]:
            query = (
                select(tables.runs)
                .where(tables.runs.c.flow == flow_id)
                .order_by(tables.runs.c.started_at.desc(), tables.runs.c.id)
                .offset(offset)
            )
            if limit >= 0:
                query = query.limit(limit)
            return [_row_json(row) for row in conn.execute(query).mappings()]

        return await self.db.run(work)

    async def run(self, run_id: str) -> dict[str, Json] | None:
        await self.flush()
        def work(conn: Connection) -> dict[str, Json] | None:
            row = conn.execute(select(tables.runs).where(tables.runs.c.id == run_id)).mappings().first()
            return _row_json(row) if row else None

        return await self.db.run(work)

    async def prune(self, now: datetime | None = None) -> int:
        """Apply the retention settings; returns how many runs were dropped."""
        moment = now or datetime.now(UTC)
        await self.flush()

        def work(conn: Connection) -> int:
            runs = tables.runs
            dropped = 0
            if self.retention is not None:
                cutoff = moment - self.retention
                dropped += conn.execute(delete(runs).where(runs.c.started_at < cutoff)).rowcount or 0
            crowded = conn.execute(
                select(runs.c.flow).group_by(runs.c.flow).having(func.count() > self.max_runs)
            ).scalars()
            for flow_id in list(crowded):
                keep = (
                    select(runs.c.id)
                    .where(runs.c.flow == flow_id)
                    .order_by(runs.c.started_at.desc(), runs.c.id)
                    .limit(self.max_runs)
                )
                dropped += conn.execute(
                    delete(runs).where(runs.c.flow == flow_id, runs.c.id.not_in(keep))
                ).rowcount or 0
            return dropped

        return await self.db.run(work)
