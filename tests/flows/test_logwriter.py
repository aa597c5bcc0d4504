"""The run log off the request path: bounded batches, durable when asked, flushed on stop,
readable by another process once flushed, and a queued run stored before its job is done."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.engine import Connection

from host.flows import tables
from host.flows.logwriter import BatchWriter, Row
from host.storage import Database
from tests.flows.conftest import Api
from tests.support import ADMIN, make_settings, running_host, wait_for

_metadata = MetaData()
notes = Table("notes", _metadata, Column("id", Integer, primary_key=True), Column("text", String(32), nullable=False))


class Gate:
    """The seam: stores batches in `notes`, and holds each batch until `release()` while closed."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()
        self.batches: list[int] = []

    def close(self) -> None:
        self.open.clear()

    def insert(self, conn: Connection, rows: list[Row]) -> None:
        self.entered.set()
        assert self.open.wait(60), "the test never opened the gate"
        conn.execute(notes.insert(), rows)
        self.batches.append(len(rows))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'notes.db'}")
    _metadata.create_all(database.engine)
    yield database
    database.close()


def stored(db: Database) -> int:
    return int(db.transaction(lambda conn: conn.execute(select(func.count()).select_from(notes)).scalar_one()))


def test_a_full_buffer_makes_the_next_run_wait_and_drops_nothing(db: Database) -> None:
    gate = Gate()

    async def scenario() -> None:
        writer = BatchWriter(db, gate.insert, max_pending=3, linger=0)
        writer.start()
        gate.close()
        await writer.add({"id": 1, "text": "first"})  # the writer takes it and waits at the gate
        await asyncio.to_thread(gate.entered.wait, 60)
        for number in (2, 3):
            await writer.add({"id": number, "text": "buffered"})
        assert writer.pending == 3
        blocked = asyncio.create_task(writer.add({"id": 4, "text": "waits"}))
        for _ in range(20):  # the loop turns: the add that found the buffer full is still waiting
            await asyncio.sleep(0)
        assert not blocked.done() and writer.pending == 3
        gate.open.set()
        await blocked
        await writer.stop()
        assert stored(db) == 4 and writer.pending == 0
        assert max(gate.batches) <= 3

    asyncio.run(scenario())


def test_durable_returns_once_stored_and_stop_flushes(db: Database) -> None:
    gate = Gate()

    async def scenario() -> None:
        writer = BatchWriter(db, gate.insert, linger=3600)  # nothing is written unless someone waits
        writer.start()
        for number in range(1, 6):
            await writer.add({"id": number, "text": "later"})
        assert stored(db) == 0  # buffered: the callers did not wait for the database
        await writer.add({"id": 6, "text": "now"}, durable=True)
        assert stored(db) == 6  # everything before it went in its batch
        await writer.add({"id": 7, "text": "at stop"})
        await writer.stop()
        assert stored(db) == 7
        await writer.add({"id": 8, "text": "after stop"})  # stopped: written at once
        assert stored(db) == 8

    asyncio.run(scenario())


def test_a_row_the_database_refuses_is_dropped_alone(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    def insert(conn: Connection, rows: list[Row]) -> None:
        conn.execute(notes.insert(), rows)

    async def scenario() -> None:
        writer = BatchWriter(db, insert, linger=3600)
        writer.start()
        await writer.add({"id": 1, "text": "kept"})
        await writer.add({"id": 2, "text": None})  # NOT NULL: the batch fails, then this row alone
        await writer.add({"id": 3, "text": "kept too"})
        await writer.flush()
        await writer.stop()

    asyncio.run(scenario())
    assert stored(db) == 2
    assert "could not be logged" in caplog.text


def drain(client: TestClient) -> None:
    assert client.portal is not None
    queue = client.app.state.queue  # type: ignore[attr-defined]
    client.portal.call(queue.drain)


def _runs_in_database(db: Database, flow_id: str) -> list[Any]:
    """The stored runs, read straight from the table (no flush of any process's buffer)."""
    statement = select(tables.runs.c.id, tables.runs.c.job_key).where(tables.runs.c.flow == flow_id)
    return db.transaction(lambda conn: list(conn.execute(statement)))


def test_another_process_reads_the_runs_once_flushed_and_queued_runs_are_stored_before_done(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with running_host(settings) as first, running_host(settings) as second:
        api = Api(first)
        flow_id, _ = api.build(
            {"name": "logged", "trigger": "webhook", "accountability": "all"},
            [{"key": "t", "type": "transform", "options": {"json": {"n": "{{ $trigger.query.n }}"}}}],
        )
        for n in range(5):
            assert first.get(f"/flows/trigger/{flow_id}?n={n}").status_code == 200

        def seen() -> list[Any]:  # the second host learns of the flow within about a second (404 until then)
            response = second.get(f"/flows/{flow_id}/runs", headers=ADMIN)
            runs = response.json()["data"] if response.status_code == 200 else []
            return runs if len(runs) == 5 else []

        runs = wait_for(seen, "the second host to see the 5 runs")
        assert sorted(run["data"]["t"]["n"] for run in runs) == ["0", "1", "2", "3", "4"]

        queued, _ = api.build(
            {"name": "queued", "trigger": "webhook", "accountability": "all", "options": {"method": "POST", "async": True}},
            [{"key": "t", "type": "transform", "options": {"json": {"ok": True}}}],
        )
        for client in (first, second):  # from now on a run nobody waits for stays buffered
            client.app.state.flows.runlog.writer.linger = 3600  # type: ignore[attr-defined]
        for _ in range(3):
            assert first.post(f"/flows/trigger/{queued}", json={}).status_code == 204
        for client in (first, second):
            drain(client)
        # every job is done, so its run is in the table already: no process's buffer holds it
        db: Database = first.app.state.db  # type: ignore[attr-defined]
        rows = _runs_in_database(db, queued)
        assert len(rows) == 3 and all(row.job_key for row in rows)
