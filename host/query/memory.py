"""The query evaluated over JSON values in memory: the `condition` operation, and lists that
are not items (flows, operations, jobs). The same rules as the SQL compiler
(`host.query.sql`), checked against it by tests/query/test_parity.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from host.query.filter import NEGATED, Group, Node, Quantified
from host.query.model import GroupBy, Query, Sort
from host.query.regex import regex_search
from host.query.values import SORT_RANK, Operand, fold, kind, number_of, operand

Row = dict[str, Any]
DATE_PARTS = {"year": (0, 4), "month": (5, 7), "day": (8, 10), "hour": (11, 13), "minute": (14, 16),
              "second": (17, 19)}
"""Where each date function reads its digits in an ISO 8601 text."""
DATE_PREFIX = {
    "year": r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "month": r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "day": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    "hour": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}",
    "minute": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}",
    "second": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}",
}
"""What a text must start with for each date function to read it."""


def value_at(doc: Any, path: Sequence[str]) -> Any:
    value = doc
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# --------------------------------------------------------------------------- comparisons


def equal(value: Any, arg: Operand) -> bool:
    match kind(value):
        case "number":
            return arg.number is not None and value == arg.number
        case "string":
            return arg.text is not None and value == arg.text
        case "boolean":
            return arg.boolean is not None and value == arg.boolean
        case "null":
            return arg.null
    return False


def order(value: Any, arg: Operand) -> int | None:
    """-1, 0, 1 comparing `value` with the reading of `arg` of its kind; None if none."""
    match kind(value):
        case "number" if arg.number is not None:
            return int(value > arg.number) - int(value < arg.number)
        case "string" if arg.text is not None:
            return int(value > arg.text) - int(value < arg.text)
    return None


def _text_test(op: str) -> Callable[[str, str], bool]:
    base = op.removeprefix("_n") if op in NEGATED else op.removeprefix("_")
    folded = base.startswith("i")
    base = base.removeprefix("i")
    test: Callable[[str, str], bool] = {
        "contains": lambda v, a: a in v,
        "starts_with": lambda v, a: v.startswith(a),
        "ends_with": lambda v, a: v.endswith(a),
    }[base]
    if folded:
        return lambda v, a: test(fold(v), fold(a))
    return test


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def positive(op: str, value: Any, arg: Any) -> bool:
    """Whether `value` meets operator `op` (a negated one: its positive form)."""
    match op:
        case "_eq" | "_neq":
            return equal(value, arg)
        case "_lt" | "_lte" | "_gt" | "_gte":
            found = order(value, arg)
            if found is None:
                return False
            return {"_lt": found < 0, "_lte": found <= 0, "_gt": found > 0, "_gte": found >= 0}[op]
        case "_in" | "_nin":
            return any(equal(value, one) for one in arg)
        case "_between" | "_nbetween":
            low, high = order(value, arg[0]), order(value, arg[1])
            return low is not None and high is not None and low >= 0 and high <= 0
        case "_null":
            return (value is None) is bool(arg)
        case "_nnull":
            return (value is not None) is bool(arg)
        case "_empty":
            return _empty(value) is bool(arg)
        case "_nempty":
            return (not _empty(value)) is bool(arg)
        case "_regex":
            return regex_search(arg, value)
    if op in ("_contains", "_ncontains") and isinstance(value, list):
        return any(equal(element, operand(arg, op)) for element in value)
    return isinstance(value, str) and _text_test(op)(value, arg)


def matches(node: Node, doc: Any) -> bool:
    if isinstance(node, Group):
        if node.kind == "_and":
            return all(matches(part, doc) for part in node.parts)
        return any(matches(part, doc) for part in node.parts)
    value = value_at(doc, node.path)
    if isinstance(node, Quantified):
        found = isinstance(value, list) and any(matches(node.node, element) for element in value)
        return found if node.some else isinstance(value, list) and not found
    if node.op in NEGATED:
        return value is not None and not positive(node.op, value, node.arg)
    return positive(node.op, value, node.arg)


def search_matches(text: str, doc: Row) -> bool:
    """`search`: a top-level string value holding `text` (ASCII letters folded), or a number equal to it."""
    needle = fold(text)
    reading = operand(text, "search")
    for value in doc.values():
        if isinstance(value, str) and needle in fold(value):
            return True
        if kind(value) == "number" and reading.number is not None and value == reading.number:
            return True
    return False


# --------------------------------------------------------------------------- sort


def sort_key(value: Any) -> tuple[int, Any]:
    name = kind(value)
    rank = SORT_RANK[name]
    if name in ("boolean", "number", "string"):
        return (rank, value)
    return (rank, 0)


def sort_rows(rows: list[Row], sort: Sequence[Sort]) -> list[Row]:
    """Stable, key by key from the last; `-field` reverses (nulls and missing values then come first)."""
    for spec in reversed(sort):
        rows.sort(key=lambda row, p=spec.path: sort_key(value_at(row, p)), reverse=spec.descending)  # type: ignore[misc]
    return rows


# --------------------------------------------------------------------------- aggregate


def date_part(value: Any, function: str) -> int | None:
    """`year(...)` ... `second(...)` of an ISO 8601 text, read from its digits (no time-zone shift)."""
    if not isinstance(value, str) or not re.match(DATE_PREFIX[function], value):
        return None
    start, end = DATE_PARTS[function]
    return int(value[start:end])


def group_value(row: Row, group: GroupBy) -> Any:
    value = value_at(row, group.path)
    return date_part(value, group.function) if group.function else value


def _identity(value: Any) -> str:
    return json.dumps([kind(value), float(value) if kind(value) == "number" else value])


def aggregate_rows(rows: list[Row], query: Query) -> list[Row]:
    """Directus's answer to `aggregate` / `groupBy` over `rows`."""
    groups: dict[str, tuple[list[Any], list[Row]]] = {}
    for row in rows:
        keys = [group_value(row, group) for group in query.group_by]
        groups.setdefault(_identity(keys), (keys, []))[1].append(row)
    if not query.group_by and not groups:
        groups[""] = ([], [])
    out: list[Row] = []
    for keys, members in groups.values():
        result: Row = {group.key: key for group, key in zip(query.group_by, keys, strict=True)}
        for function, name in query.aggregate:
            value = _aggregate(function, name, members)
            if function == "countAll" or (function == "count" and name == "*"):
                result[function] = value
            else:
                result.setdefault(function, {})[name] = value
        out.append(result)
    if query.group_by:
        for group in reversed(query.group_by):
            out.sort(key=lambda r, g=group: sort_key(r[g.key]))  # type: ignore[misc]
    return out


def _aggregate(function: str, name: str, rows: list[Row]) -> Any:
    if function == "countAll" or name == "*":
        return len(rows)
    values = [value_at(row, tuple(name.split("."))) for row in rows]
    present = [v for v in values if v is not None]
    if function == "count":
        return len(present)
    if function == "countDistinct":
        return len({_identity(v) for v in present})
    numbers = [number_of(v) for v in present if kind(v) == "number"]
    found = [n for n in numbers if n is not None]
    if function.endswith("Distinct"):
        found = list(dict.fromkeys(found))
    if not found:
        return None
    if function.startswith("sum"):
        return sum(found)
    if function.startswith("avg"):
        return sum(found) / len(found)
    return min(found) if function == "min" else max(found)


# --------------------------------------------------------------------------- the whole query


def select(rows: Sequence[Row], query: Query) -> list[Row]:
    """The rows `query`'s filter and search keep, sorted."""
    kept = [row for row in rows if query.filter is None or matches(query.filter, row)]
    if query.search is not None:
        kept = [row for row in kept if search_matches(query.search, row)]
    return sort_rows(kept, query.sort)


def page(rows: list[Row], query: Query) -> list[Row]:
    end = None if query.limit < 0 else query.offset + query.limit
    return rows[query.offset : end]
