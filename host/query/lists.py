"""A whole query run in memory over a list of rows that is not items (flows, operations,
jobs: tens or hundreds of rows a host holds), with Directus's `meta`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from host.query import memory
from host.query.model import DEFAULT_DEPTH, Query
from host.query.project import Expander, shape
from host.types import Accountability

Row = dict[str, Any]


def run_list(
    rows: Sequence[Row],
    query: Query,
    expanders: Mapping[str, Expander] | None = None,
    who: Accountability | None = None,
    max_depth: int = DEFAULT_DEPTH,
) -> tuple[list[Row], dict[str, int]]:
    """The rows (or aggregate rows) `query` selects, and its `meta`."""
    selected = memory.select(list(rows), query)
    meta: dict[str, int] = {}
    if "total_count" in query.meta:
        meta["total_count"] = len(rows)
    if "filter_count" in query.meta:
        meta["filter_count"] = len(selected)
    if query.is_aggregate:
        return memory.page(memory.aggregate_rows(selected, query), query), meta
    shown = memory.page(selected, query)
    return [shape(row, query, who, max_depth, expanders) for row in shown], meta
