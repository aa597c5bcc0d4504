"""The global query parameters of Directus (`fields`, `filter`, `search`, `sort`,
`limit`, `offset`, `page`, `meta`), applied in memory to the rows of /flows and
/operations (a host has tens of flows, not millions)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from host.errors import InvalidQuery
from host.flows import filters
from host.jsontext import JsonRefused, loads
from host.numbers import query_integer
from host.types import Json

Row = dict[str, Json]
Expander = Callable[[Json], Json]
"""Turns a stored reference (an id, or a list of ids) into the object(s) it names."""


@dataclass
class Query:
    fields: list[str] = field(default_factory=lambda: ["*"])
    filter: dict[str, Json] | None = None
    search: str | None = None
    sort: list[str] = field(default_factory=list)
    limit: int = 100
    offset: int = 0
    meta: set[str] = field(default_factory=set)


_BRACKET = re.compile(r"^(\w+)((?:\[[^\]]*\])+)$")


def _values(params: Mapping[str, Sequence[str]], name: str) -> list[str]:
    found = list(params.get(name, ())) + list(params.get(f"{name}[]", ()))
    out: list[str] = []
    for value in found:
        out += [part.strip() for part in value.split(",") if part.strip()]
    return out


def _int(params: Mapping[str, Sequence[str]], name: str, minimum: int) -> int | None:
    values = params.get(name)
    if not values:
        return None
    return query_integer(values[-1], name, minimum=minimum)


def _bracket_filter(params: Mapping[str, Sequence[str]], max_depth: int) -> dict[str, Json]:
    rules: dict[str, Json] = {}
    for name, values in params.items():
        match = _BRACKET.match(name)
        if not match or match.group(1) != "filter":
            continue
        path = re.findall(r"\[([^\]]*)\]", match.group(2))
        if len(path) > max_depth:
            raise InvalidQuery(f'Invalid query. "filter" is nested deeper than MAX_JSON_DEPTH ({max_depth} levels)')
        node = rules
        for part in path[:-1]:
            node = node.setdefault(part, {})
        value: Json = values[-1]
        if path[-1] in ("_in", "_nin", "_between", "_nbetween") and isinstance(value, str):
            value = value.split(",")
        node[path[-1]] = value
    return rules


def parse_query(params: Mapping[str, Sequence[str]], default_limit: int, max_depth: int) -> Query:
    """The query a query string asks for. A filter nested deeper than `max_depth` (`MAX_JSON_DEPTH`)
    is refused; so are `limit`, `offset` and `page` that are not integers the database can take."""
    query = Query(limit=default_limit)
    fields = _values(params, "fields")
    for spec in fields:
        if spec.count(".") >= max_depth:
            raise InvalidQuery(f'Invalid query. "fields" is nested deeper than MAX_JSON_DEPTH ({max_depth} levels)')
    if fields:
        query.fields = fields
    raw_filter = params.get("filter")
    if raw_filter:
        try:
            parsed = loads(raw_filter[-1], max_depth)
        except JsonRefused as exc:
            raise InvalidQuery(f'Invalid query. "filter" {exc.reason}') from None
        query.filter = parsed
    else:
        query.filter = _bracket_filter(params, max_depth) or None
    if query.filter is not None:
        try:
            filters.check(query.filter)
        except filters.FilterError as exc:
            raise InvalidQuery(f"Invalid query. {exc}") from None
    search = params.get("search")
    query.search = search[-1] if search else None
    query.sort = _values(params, "sort")
    limit = _int(params, "limit", -1)
    if limit is not None:
        query.limit = limit
    offset = _int(params, "offset", 0)
    page = _int(params, "page", 1)
    if offset is not None:
        query.offset = offset
    elif page is not None and query.limit > 0:
        query.offset = query_integer((page - 1) * query.limit, "offset", minimum=0)
    query.meta = set(_values(params, "meta"))
    return query


def _sort_key(name: str) -> Callable[[Row], tuple[int, Any]]:
    def key(row: Row) -> tuple[int, Any]:
        value = row.get(name)
        if value is None:
            return (1, "")
        if isinstance(value, bool | int | float):
            return (0, (0, float(value), ""))
        return (0, (1, 0.0, json.dumps(value) if not isinstance(value, str) else value))

    return key


def _project(row: Row, fields: list[str], expanders: Mapping[str, Expander]) -> Row:
    out: Row = {}
    nested: dict[str, list[str]] = {}
    for spec in fields:
        if spec == "*":
            out.update(row)
            continue
        head, _, rest = spec.partition(".")
        if rest:
            nested.setdefault(head, []).append(rest)
        elif head in row:
            out[head] = row[head]
        else:
            raise InvalidQuery(f'Invalid query. Unknown field "{head}"')
    for head, parts in nested.items():
        expand = expanders.get(head)
        if expand is None:
            raise InvalidQuery(f'Invalid query. "{head}" has no fields to select')
        value = expand(row.get(head))
        if isinstance(value, list):
            out[head] = [_project(item, parts, {}) for item in value]
        elif isinstance(value, dict):
            out[head] = _project(value, parts, {})
        else:
            out[head] = value
    return out


def apply(
    rows: list[Row], query: Query, expanders: Mapping[str, Expander] | None = None
) -> tuple[list[Row], dict[str, int]]:
    """The rows `query` selects, and its `meta`."""
    selected = rows
    if query.filter:
        rules = query.filter
        selected = [row for row in selected if filters.matches(rules, row)]
    if query.search:
        needle = query.search.lower()
        selected = [
            row for row in selected if any(isinstance(v, str) and needle in v.lower() for v in row.values())
        ]
    for spec in reversed(query.sort):
        descending = spec.startswith("-")
        selected = sorted(selected, key=_sort_key(spec.lstrip("-")), reverse=descending)
    filtered = len(selected)
    end = None if query.limit == -1 else query.offset + query.limit
    page = selected[query.offset : end]
    meta: dict[str, int] = {}
    if query.meta & {"total_count", "*"}:
        meta["total_count"] = len(rows)
    if query.meta & {"filter_count", "*"}:
        meta["filter_count"] = filtered
    return [_project(row, query.fields, expanders or {}) for row in page], meta
