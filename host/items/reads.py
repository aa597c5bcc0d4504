"""Reading items by query: the query compiled to SQL (`host.query.sql`) over the items table,
one page (or the aggregate's rows) read back, the counts `meta` asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from host.items.tables import items
from host.query import Query
from host.query.sql import Compiler, group_value, plain_number

Item = dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[Item]
    filter_count: int
    """-1 when `meta` did not ask for it."""


def _conditions(compiler: Compiler, collection: str, query: Query) -> list[Any]:
    doc = items.c.data
    conditions: list[Any] = [items.c.collection == collection]
    if query.filter is not None:
        conditions.append(compiler.where(query.filter, doc))
    if query.search is not None:
        conditions.append(compiler.search(query.search, doc))
    return conditions


def _paged(stmt: Any, query: Query) -> Any:
    if query.offset:
        stmt = stmt.offset(query.offset)
    if query.limit >= 0:
        stmt = stmt.limit(query.limit)
    return stmt


def page_statement(compiler: Compiler, collection: str, query: Query) -> Any:
    """The SELECT of one page of items (not an aggregate)."""
    stmt = select(items.c.data).where(*_conditions(compiler, collection, query))
    stmt = stmt.order_by(*compiler.order_by(query, items.c.data), items.c.seq)
    return _paged(stmt, query)


def read_page(conn: Connection, collection: str, query: Query) -> tuple[Page, int]:
    """The items (as stored; aggregate rows for an aggregate) of one page, and the collection's
    size when `meta` asks for counts (-1 otherwise)."""
    compiler = Compiler(conn.dialect.name == "postgresql")
    conditions = _conditions(compiler, collection, query)
    if query.is_aggregate:
        rows = _aggregate(conn, compiler, conditions, query)
    else:
        rows = list(conn.execute(page_statement(compiler, collection, query)).scalars())
    total = filtered = -1
    if "total_count" in query.meta or "filter_count" in query.meta:
        total = _count(conn, [items.c.collection == collection])
        filtered = _count(conn, conditions) if len(conditions) > 1 else total
    return Page(rows, filtered), total


def _count(conn: Connection, conditions: list[Any]) -> int:
    return int(conn.execute(select(func.count()).select_from(items).where(*conditions)).scalar_one())


def _aggregate(conn: Connection, compiler: Compiler, conditions: list[Any], query: Query) -> list[Item]:
    doc = items.c.data
    groups = [compiler.group_columns(group, doc) for group in query.group_by]
    flat = [column for columns in groups for column in columns]
    measures = [compiler.aggregate(function, name, doc) for function, name in query.aggregate]
    stmt = select(*flat, *measures).select_from(items).where(*conditions)
    if groups:
        stmt = stmt.group_by(*flat).order_by(*[column for columns in groups for column in columns[:4]])
    out: list[Item] = []
    for row in conn.execute(_paged(stmt, query)):
        values = tuple(row)
        result: Item = {}
        start = 0
        for group, columns in zip(query.group_by, groups, strict=True):
            result[group.key] = group_value(values[start : start + len(columns)])
            start += len(columns)
        for (function, name), value in zip(query.aggregate, values[len(flat) :], strict=True):
            number = plain_number(value)
            if function == "countAll" or (function == "count" and name == "*"):
                result[function] = number
            else:
                result.setdefault(function, {})[name] = number
        out.append(result)
    return out
