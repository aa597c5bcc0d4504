"""The run log's writer: runs are stored off the request path, in batches.

`add(row)` puts a prepared row in a bounded buffer and returns at once; one writer task
stores whatever is buffered in one transaction (one multi-row INSERT), and what arrives
while a batch is being written forms the next one (group commit: the busier the host,
the larger the batches, never a timer). Nothing is dropped and nothing grows without
bound:

- **Bounded.** At most `max_pending` rows wait or are being written. When the buffer is
  full, `add` waits until the writer has stored the batch under way (backpressure: the
  run that found it full answers a little later; it is never dropped).
- **Durable when asked.** `add(row, durable=True)` returns only once the row's batch has
  committed: a queued run (a job) is acknowledged to the queue only then (host.flows.runner).
- **Flushed.** `flush()` returns once every row added before it is stored; `stop()`
  flushes, then ends the writer (the host's shut-down).
- A batch the database refuses is written again row by row: a row that cannot be stored
  is logged and dropped, the others are kept (as when every run was written alone).

Before `start()` (or after `stop()`) `add` writes the row itself, in its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from host.storage import Database

log = logging.getLogger("exthost.flows")

Row = dict[str, Any]
Insert = Callable[[Connection, list[Row]], None]

DEFAULT_MAX_PENDING = 1000
MAX_BATCH = 500
"""Rows per INSERT (databases bound the parameters of one statement)."""
LINGER_S = 0.02
"""How long the writer lets a batch gather when nobody waits for it (fewer, larger transactions)."""


class BatchWriter:
    def __init__(
        self, db: Database, insert: Insert, max_pending: int = DEFAULT_MAX_PENDING, linger: float = LINGER_S
    ) -> None:
        """`insert(conn, rows)` stores a batch of rows (in the transaction of `conn`)."""
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.linger = linger
        self._full_batch = min(MAX_BATCH, max_pending)
        self.db = db
        self.insert = insert
        self.max_pending = max_pending
        self._rows: deque[Row] = deque()
        self._added = 0
        """Rows added so far (a row's number is the count when it was added)."""
        self._stored = 0
        """Rows the writer is done with (committed, or refused and logged), in order."""
        self._wanted = 0
        """The highest row number someone waits for (`durable`, `flush`)."""
        self._progress: asyncio.Condition | None = None
        self._wake: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pending(self) -> int:
        """Rows waiting or being written."""
        return len(self._rows)

    def start(self) -> None:
        self._progress = asyncio.Condition()
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._stopping = False
        self._task = asyncio.create_task(self._write_loop(), name="exthost-flow-run-log")

    async def add(self, row: Row, *, durable: bool = False) -> None:
        """Buffer `row` (waiting while the buffer is full); with `durable`, return once it is stored."""
        if self._task is None or self._progress is None or self._wake is None or self._hurry is None:
            await self._store([row])
            return
        if len(self._rows) >= self.max_pending:
            self._hurry.set()
            async with self._progress:
                await self._progress.wait_for(lambda: len(self._rows) < self.max_pending or self._task is None)
            if self._task is None:
                await self._store([row])
                return
        self._rows.append(row)
        self._added += 1
        number = self._added
        self._wake.set()
        if len(self._rows) >= self._full_batch:
            self._hurry.set()
        if durable:
            await self._until(number)

    async def flush(self) -> None:
        """Return once every row added before this call is stored."""
        if self._task is not None:
            await self._until(self._added)

    async def stop(self) -> None:
        """Store what is buffered, then end the writer."""
        task = self._task
        if task is None or self._wake is None:
            return
        self._stopping = True
        self._wake.set()
        if self._hurry is not None:
            self._hurry.set()
        await task
        self._task = None
        if self._progress is not None:
            async with self._progress:
                self._progress.notify_all()

    async def _until(self, number: int) -> None:
        assert self._progress is not None and self._hurry is not None
        if self._stored >= number:
            return
        self._wanted = max(self._wanted, number)
        self._hurry.set()
        async with self._progress:
            await self._progress.wait_for(lambda: self._stored >= number)

    def _hurried(self) -> bool:
        """Someone waits for a row not stored yet, the buffer holds a full batch, or the writer stops."""
        return self._stopping or self._wanted > self._stored or len(self._rows) >= self._full_batch

    async def _write_loop(self) -> None:
        assert self._wake is not None and self._progress is not None and self._hurry is not None
        while True:
            if not self._rows:
                if self._stopping:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            if self.linger > 0 and not self._hurried():  # let a batch gather
                self._hurry.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), self.linger)
            batch = [self._rows[index] for index in range(min(len(self._rows), MAX_BATCH))]
            try:
                await self._store(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                await self._one_by_one(batch)
            for _ in batch:
                self._rows.popleft()
            self._stored += len(batch)
            async with self._progress:
                self._progress.notify_all()

    async def _store(self, rows: list[Row]) -> None:
        insert = self.insert
        await self.db.run(lambda conn: insert(conn, rows))

    async def _one_by_one(self, batch: list[Row]) -> None:
        for row in batch:
            try:
                await self._store([row])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("flow %s: the run could not be logged", row.get("flow"))
