"""An upgrade never loses data: from the schema of the previous release (61aa575, migrations
m0001 and m0002) with data in it, today's migrations add what is new, leave every row as it
was, and today's host serves the old data.

`tests/storage/release_61aa575/` is that release's `host/storage/migrations/` verbatim (its
runner included), written by `tests/storage/capture_release.sh 61aa575`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, select
from sqlalchemy.engine import make_url

from host.storage import Database
from host.storage.migrations import discover
from tests.storage import release_61aa575
from tests.storage.release_61aa575 import m0001_items, m0002_flows
from tests.storage.schemas import applied_versions, complete_schema, schema_at
from tests.support import ADMIN, make_settings, running_host

RELEASED = [1, 2]
FLOW = str(uuid.uuid4())
OPERATION = str(uuid.uuid4())
RUN = str(uuid.uuid4())
ARTICLES = [
    {"id": 1, "title": "Ünïcode ✓ and \"quotes\"", "tags": ["a", "b"], "meta": {"n": 1.5, "ok": True, "none": None}},
    {"id": 2, "title": "second", "body": "x" * 5000},
]


def released_tables() -> dict[str, Table]:
    return {**m0001_items._metadata.tables, **m0002_flows._metadata.tables}


def fill(engine: Engine) -> None:
    """What a site running the previous release had: items, a webhook flow with its
    operation, a run in its log, a schedule tick and a notification."""
    t = released_tables()
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(t["exthost_collections"].insert().values(name="articles", next_id=3, created_at=now))
        conn.execute(t["exthost_items"].insert(), [
            {"collection": "articles", "key": str(doc["id"]), "data": doc, "created_at": now, "updated_at": now}
            for doc in ARTICLES
        ])
        conn.execute(t["exthost_flows"].insert().values(
            id=FLOW, name="Greeter", icon="bolt", color=None, description="says hi", status="active",
            trigger="webhook", accountability="all", options={"method": "POST", "return": "$last"},
            operation=OPERATION, date_created=now, user_created="admin",
        ))
        conn.execute(t["exthost_operations"].insert().values(
            id=OPERATION, name="Greet", key="greet", type="transform", position_x=19, position_y=1,
            options={"json": {"greeting": "Hi {{ $trigger.body.name }}"}}, resolve=None, reject=None, flow=FLOW,
            date_created=now, user_created="admin",
        ))
        conn.execute(t["exthost_flow_runs"].insert().values(
            id=RUN, flow=FLOW, level="info", status="resolve", trigger="webhook", user=None, started_at=now,
            duration_ms=3, steps=[{"operation": OPERATION, "key": "greet", "status": "resolve"}],
            data={"$last": {"greeting": "Hi Old"}}, error=None,
        ))
        conn.execute(t["exthost_flow_ticks"].insert().values(flow=FLOW, tick=now))
        conn.execute(t["exthost_notifications"].insert().values(
            timestamp=now, status="inbox", recipient="admin", sender=None, subject="Welcome", message="hello",
            collection="articles", item="1",
        ))


def rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the previous release, as the database has it now."""
    reflected = MetaData()
    reflected.reflect(engine, only=list(released_tables()))
    with engine.connect() as conn:
        return {
            name: [dict(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()]
            for name, table in reflected.tables.items()
        }


def test_an_upgrade_from_the_previous_release_keeps_every_row(db_url: str, tmp_path: Path) -> None:
    database = make_url(db_url).database
    if db_url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    old = create_engine(db_url)
    try:
        assert release_61aa575.migrate(old) == RELEASED
        fill(old)
        before = rows(old)
    finally:
        old.dispose()

    upgraded = Database(db_url)
    try:
        assert upgraded.migrate() == [m.version for m in discover() if m.version not in RELEASED]
        after = rows(upgraded.engine)
        # every row keeps every value it had; columns added since hold nothing for old rows
        assert {name: [{k: row[k] for k in old} for row, old in zip(table, before[name], strict=True)]
                for name, table in after.items()} == before
        for name, table in after.items():
            for row, old in zip(table, before[name], strict=True):
                assert {k: v for k, v in row.items() if k not in old} == dict.fromkeys(set(row) - set(old)), name
    finally:
        upgraded.close()
    assert applied_versions(db_url) == [m.version for m in discover()]
    assert schema_at(db_url) == complete_schema()  # the new tables and columns, as on a fresh install

    with running_host(make_settings(tmp_path, db_url=db_url)) as client:  # today's host on the old data
        for doc in ARTICLES:
            assert client.get(f"/items/articles/{doc['id']}", headers=ADMIN).json()["data"] == doc
        created = client.post("/items/articles", json={"title": "third"}, headers=ADMIN)
        assert created.json()["data"]["id"] == 3  # the counter went on where it was
        flow = client.get(f"/flows/{FLOW}", headers=ADMIN).json()["data"]
        assert (flow["name"], flow["status"], flow["operation"]) == ("Greeter", "active", OPERATION)
        assert client.post(f"/flows/trigger/{FLOW}", json={"name": "Ada"}).json() == {"greeting": "Hi Ada"}
        runs = client.get(f"/flows/{FLOW}/runs", headers=ADMIN).json()["data"]
        assert RUN in [run["id"] for run in runs] and len(runs) == 2
