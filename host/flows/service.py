"""Create, read, update and delete flows and operations, with every check, in one
transaction per request; each change bumps the `flows` revision (`host.cluster`), so the
manager of every process reloads the active flows (this one before the request returns)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from host.cluster import ChangeBus, Topic
from host.errors import FailedValidation, NotFound
from host.flows import repository
from host.flows.graph import check_flow_graph
from host.flows.models import (
    FieldError,
    FlowCreate,
    FlowRecord,
    FlowUpdate,
    OperationCreate,
    OperationRecord,
    OperationUpdate,
    new_id,
    parse_input,
)
from host.flows.operations.registry import OperationRegistry
from host.flows.triggers.options import check_trigger_options
from host.query import Query
from host.query.filter import Cond
from host.query.lists import Row, run_list
from host.query.values import operand
from host.storage import Database
from host.types import Accountability, Json

_REASONS = {"required": "Value is required.", "nnull": "Value can't be null."}
"""Directus's words for the kinds of rule it names itself (`@directus/validation`)."""


_IN_BATCH = re.compile(r"^\[(\d+)\]\.(.+)$")


def _invalid(error: FieldError) -> FailedValidation:
    """Directus's error: `field` is the field's own name (`name`, not `[1].name`, in a batch:
    the message says which item)."""
    reason = _REASONS.get(error.type) or f"{error.reason[:1].upper()}{error.reason[1:]}."
    field, batch = error.field, _IN_BATCH.match(error.field)
    if batch:
        field, reason = batch.group(2), f"{reason} (item [{batch.group(1)}] of the batch)"
    return FailedValidation(field, error.type, reason, error.valid)


def _prefix(index: int, many: bool) -> str:
    return f"[{index}]." if many else ""


class FlowService:
    def __init__(self, db: Database, registry: OperationRegistry, bus: ChangeBus) -> None:
        self.db = db
        self.registry = registry
        self.bus = bus

    async def _write(self, work: Callable[[Connection], Any]) -> Any:
        try:
            result, _ = await self.bus.change(Topic.flows, work)
        except FieldError as exc:
            raise _invalid(exc) from None
        return result

    # -- reading --------------------------------------------------------------

    async def _rows(self) -> tuple[list[Row], list[Row]]:
        def work(conn: Connection) -> tuple[list[Row], list[Row]]:
            flows = repository.flows(conn)
            ops = repository.operations(conn)
            by_flow: dict[str, list[str]] = {}
            for op in ops:
                by_flow.setdefault(op.flow, []).append(op.id)
            flow_rows = [{**flow.to_json(), "operations": by_flow.get(flow.id, [])} for flow in flows]
            return flow_rows, [op.to_json() for op in ops]

        return await self.db.run(work)

    async def list_flows(self, query: Query) -> tuple[list[Row], dict[str, int]]:
        flows, ops = await self._rows()
        return run_list(flows, query, _expanders(flows, ops))

    async def list_operations(self, query: Query) -> tuple[list[Row], dict[str, int]]:
        flows, ops = await self._rows()
        return run_list(ops, query, _expanders(flows, ops))

    async def read_flow(self, flow_id: str, query: Query) -> Row:
        query = _by_id(query, flow_id)
        rows, _ = await self.list_flows(query)
        if not rows:
            raise NotFound(f'Flow "{flow_id}" not found')
        return rows[0]

    async def read_operation(self, operation_id: str, query: Query) -> Row:
        query = _by_id(query, operation_id)
        rows, _ = await self.list_operations(query)
        if not rows:
            raise NotFound(f'Operation "{operation_id}" not found')
        return rows[0]

    # -- flows ----------------------------------------------------------------

    async def create_flows(self, items: Sequence[Json], who: Accountability | None, many: bool) -> list[str]:
        now = datetime.now(UTC)
        records: list[FlowRecord] = []
        for index, raw in enumerate(items):
            prefix = _prefix(index, many)
            try:
                data = parse_input(FlowCreate, raw, prefix)
                options = check_trigger_options(data.trigger, data.options)
            except FieldError as exc:
                raise _invalid(exc if exc.field.startswith(prefix) else exc.at(prefix)) from None
            records.append(
                FlowRecord(
                    id=data.id or new_id(),
                    name=data.name,
                    trigger=data.trigger,
                    status=data.status,
                    icon=data.icon,
                    color=data.color,
                    description=data.description,
                    accountability=data.accountability,
                    options=options,
                    operation=data.operation,
                    date_created=now + timedelta(microseconds=index),
                    user_created=who.user if who else None,
                    options_null=data.options is None,
                )
            )

        def work(conn: Connection) -> list[str]:
            for index, record in enumerate(records):
                prefix = _prefix(index, many)
                if repository.flow(conn, record.id) is not None:
                    raise FieldError(f"{prefix}id", f'a flow with id "{record.id}" already exists')
                if record.operation is not None:
                    raise FieldError(f"{prefix}operation", "create the flow first, then its operations, then set it")
                repository.insert_flow(conn, record)
            return [record.id for record in records]

        ids: list[str] = await self._write(work)
        return ids

    async def update_flows(self, ids: Sequence[str], raw: Json) -> list[str]:
        try:
            data = parse_input(FlowUpdate, raw)
        except FieldError as exc:
            raise _invalid(exc) from None
        changes = data.model_dump(exclude_unset=True)

        def work(conn: Connection) -> list[str]:
            for flow_id in ids:
                current = repository.flow(conn, flow_id)
                if current is None:
                    raise NotFound(f'Flow "{flow_id}" not found')
                merged = dataclasses.replace(current, **{k: v for k, v in changes.items() if k != "options"})
                if "trigger" in changes or "options" in changes:
                    given = changes.get("options", current.options)
                    null = given is None if "options" in changes else current.options_null
                    options = check_trigger_options(merged.trigger, given)
                    merged = dataclasses.replace(merged, options=options, options_null=null)
                check_flow_graph(merged, repository.operations(conn, flow_ids=[flow_id]))
                values = {name: getattr(merged, name) for name in changes}
                if "options" in values or "trigger" in values:
                    values["options"] = merged.to_json()["options"]
                repository.update_flow(conn, flow_id, values)
            return list(ids)

        result: list[str] = await self._write(work)
        return result

    async def delete_flows(self, ids: Sequence[str]) -> None:
        def work(conn: Connection) -> None:
            found = {flow.id for flow in repository.flows(conn, ids)}
            missing = [flow_id for flow_id in ids if flow_id not in found]
            if missing:
                raise NotFound(f'Flow "{missing[0]}" not found')
            repository.delete_flows(conn, list(ids))

        await self._write(work)

    # -- operations -----------------------------------------------------------

    def _check_type(self, op_type: str, options: dict[str, Any], prefix: str) -> None:
        kind = self.registry.get(op_type)
        if kind is None:
            known = sorted(op.id for op in self.registry)
            message = f'unknown operation type "{op_type}" (known: {", ".join(known)})'
            raise FieldError(f"{prefix}type", message, "in", list(known))
        if kind.check is not None:
            try:
                kind.check(options)
            except FieldError as exc:
                raise exc.at(prefix) from None

    async def create_operations(self, items: Sequence[Json], who: Accountability | None, many: bool) -> list[str]:
        now = datetime.now(UTC)
        records: list[OperationRecord] = []
        for index, raw in enumerate(items):
            prefix = _prefix(index, many)
            try:
                data = parse_input(OperationCreate, raw, prefix)
                self._check_type(data.type, data.options or {}, prefix)
            except FieldError as exc:
                raise _invalid(exc) from None
            records.append(
                OperationRecord(
                    id=data.id or new_id(),
                    key=data.key,
                    type=data.type,
                    flow=data.flow,
                    name=data.name,
                    position_x=data.position_x,
                    position_y=data.position_y,
                    options=data.options or {},
                    options_null=data.options is None,
                    resolve=data.resolve,
                    reject=data.reject,
                    date_created=now + timedelta(microseconds=index),
                    user_created=who.user if who else None,
                )
            )

        def work(conn: Connection) -> list[str]:
            flow_ids = {record.flow for record in records}
            taken = {(op.flow, op.key) for op in repository.operations(conn, flow_ids=flow_ids)}
            for index, record in enumerate(records):
                prefix = _prefix(index, many)
                if repository.flow(conn, record.flow) is None:
                    raise FieldError(f"{prefix}flow", f'flow "{record.flow}" does not exist')
                if repository.operations(conn, ids=[record.id]):
                    raise FieldError(f"{prefix}id", f'an operation with id "{record.id}" already exists')
                if (record.flow, record.key) in taken:
                    message = f'"{record.key}" is already the key of another operation of this flow'
                    raise FieldError(f"{prefix}key", message)
                taken.add((record.flow, record.key))
            for flow_id in flow_ids:
                flow = repository.flow(conn, flow_id)
                assert flow is not None
                existing = repository.operations(conn, flow_ids=[flow_id])
                check_flow_graph(flow, [*existing, *(r for r in records if r.flow == flow_id)])
            for record in records:
                repository.insert_operation(conn, record)
            return [record.id for record in records]

        ids: list[str] = await self._write(work)
        return ids

    async def update_operations(self, ids: Sequence[str], raw: Json) -> list[str]:
        try:
            data = parse_input(OperationUpdate, raw)
        except FieldError as exc:
            raise _invalid(exc) from None
        changes = data.model_dump(exclude_unset=True)

        def work(conn: Connection) -> list[str]:
            current = {op.id: op for op in repository.operations(conn, ids=ids)}
            for op_id in ids:
                if op_id not in current:
                    raise NotFound(f'Operation "{op_id}" not found')
            record_changes = {**changes, **({"options": changes["options"] or {}} if "options" in changes else {})}
            updated = {op_id: dataclasses.replace(op, **record_changes) for op_id, op in current.items()}
            if "type" in changes or "options" in changes:
                for op in updated.values():
                    self._check_type(op.type, op.options or {}, "")
            flow_ids = {op.flow for op in current.values()} | {op.flow for op in updated.values()}
            for flow_id in flow_ids:
                flow = repository.flow(conn, flow_id)
                if flow is None:
                    raise FieldError("flow", f'flow "{flow_id}" does not exist')
                stored = [updated.get(op.id, op) for op in repository.operations(conn, flow_ids=[flow_id])]
                members = [op for op in stored if op.flow == flow_id]
                present = {op.id for op in members}
                members += [op for op in updated.values() if op.flow == flow_id and op.id not in present]
                check_flow_graph(flow, members)
            values = dict(changes)  # `options: null` is stored as null, and shown so
            for op_id in ids:
                repository.update_operation(conn, op_id, values)
            return list(ids)

        result: list[str] = await self._write(work)
        return result

    async def delete_operations(self, ids: Sequence[str]) -> None:
        def work(conn: Connection) -> None:
            found = {op.id for op in repository.operations(conn, ids=ids)}
            missing = [op_id for op_id in ids if op_id not in found]
            if missing:
                raise NotFound(f'Operation "{missing[0]}" not found')
            repository.delete_operations(conn, list(ids))

        await self._write(work)


def _by_id(query: Query, key: str) -> Query:
    """`query`'s fields (and deep, alias) for the one row whose id is `key`."""
    return dataclasses.replace(
        query, filter=Cond(("id",), "_eq", operand(key, "_eq")), filter_json={"id": {"_eq": key}},
        limit=1, offset=0, search=None, sort=(), aggregate=(), group_by=(), meta=(),
    )


def _expanders(flows: list[Row], ops: list[Row]) -> dict[str, Callable[[Json], Json]]:
    ops_by_id = {op["id"]: op for op in ops}
    flows_by_id = {flow["id"]: flow for flow in flows}

    def many_ops(value: Json) -> Json:
        return [ops_by_id[i] for i in value or [] if i in ops_by_id]

    def one_op(value: Json) -> Json:
        return ops_by_id.get(value) if value else None

    def one_flow(value: Json) -> Json:
        return flows_by_id.get(value) if value else None

    return {"operations": many_ops, "operation": one_op, "resolve": one_op, "reject": one_op, "flow": one_flow}
