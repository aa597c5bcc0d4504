"""Storage of flows and operations: plain functions on a connection, run inside one
transaction by `host.flows.service` (so a change and its checks are atomic)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection, RowMapping

from host.flows import tables
from host.flows.models import FlowRecord, OperationRecord, Trigger


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _flow(row: RowMapping) -> FlowRecord:
    return FlowRecord(
        id=row["id"],
        name=row["name"],
        trigger=Trigger(row["trigger"]),
        status=row["status"],
        icon=row["icon"],
        color=row["color"],
        description=row["description"],
        accountability=row["accountability"],
        options=row["options"] or {},
        operation=row["operation"],
        date_created=_aware(row["date_created"]),
        user_created=row["user_created"],
        options_null=row["options"] is None,
    )


def _operation(row: RowMapping) -> OperationRecord:
    return OperationRecord(
        id=row["id"],
        key=row["key"],
        type=row["type"],
        flow=row["flow"],
        name=row["name"],
        position_x=row["position_x"],
        position_y=row["position_y"],
        options=row["options"] or {},
        resolve=row["resolve"],
        reject=row["reject"],
        date_created=_aware(row["date_created"]),
        user_created=row["user_created"],
        options_null=row["options"] is None,
    )


def flows(conn: Connection, ids: Iterable[str] | None = None) -> list[FlowRecord]:
    query = select(tables.flows).order_by(tables.flows.c.date_created, tables.flows.c.id)
    if ids is not None:
        query = query.where(tables.flows.c.id.in_(list(ids)))
    return [_flow(row) for row in conn.execute(query).mappings()]


def flow(conn: Connection, flow_id: str) -> FlowRecord | None:
    found = flows(conn, [flow_id])
    return found[0] if found else None


def operations(
    conn: Connection, *, flow_ids: Iterable[str] | None = None, ids: Iterable[str] | None = None
) -> list[OperationRecord]:
    query = select(tables.operations).order_by(tables.operations.c.date_created, tables.operations.c.id)
    if flow_ids is not None:
        query = query.where(tables.operations.c.flow.in_(list(flow_ids)))
    if ids is not None:
        query = query.where(tables.operations.c.id.in_(list(ids)))
    return [_operation(row) for row in conn.execute(query).mappings()]


def insert_flow(conn: Connection, record: FlowRecord) -> None:
    values = record.to_json()
    values["date_created"] = record.date_created
    conn.execute(tables.flows.insert().values(**values))


def update_flow(conn: Connection, flow_id: str, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(tables.flows).where(tables.flows.c.id == flow_id).values(**values))


def delete_flows(conn: Connection, ids: Sequence[str]) -> None:
    conn.execute(delete(tables.operations).where(tables.operations.c.flow.in_(ids)))
    conn.execute(delete(tables.ticks).where(tables.ticks.c.flow.in_(ids)))
    conn.execute(delete(tables.flows).where(tables.flows.c.id.in_(ids)))


def insert_operation(conn: Connection, record: OperationRecord) -> None:
    values = record.to_json()
    values["date_created"] = record.date_created
    conn.execute(tables.operations.insert().values(**values))


def update_operation(conn: Connection, operation_id: str, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(tables.operations).where(tables.operations.c.id == operation_id).values(**values))


def delete_operations(conn: Connection, ids: Sequence[str]) -> None:
    """Delete operations; links and entry points that pointed at them become null."""
    ops = tables.operations
    conn.execute(update(ops).where(ops.c.resolve.in_(ids)).values(resolve=None))
    conn.execute(update(ops).where(ops.c.reject.in_(ids)).values(reject=None))
    conn.execute(update(tables.flows).where(tables.flows.c.operation.in_(ids)).values(operation=None))
    conn.execute(delete(ops).where(ops.c.id.in_(ids)))
