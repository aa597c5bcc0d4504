"""Directus-style item queries: `fields`, `filter`, `sort`, `limit`, `offset`, `page`, `meta`.

A query travels as JSON (it is the payload of the `items.query` filter event),
so `Query.from_json` validates whatever a hook returned as strictly as what a
client sent. Filtering, sorting and projection run here, in Python, over the
collection's documents: items are schemaless JSON, and comparing JSON values
the same way on SQLite and PostgreSQL in SQL is a maze of casts. Only `limit`
and `offset` of an unfiltered, unsorted query are pushed down to SQL.

Comparisons follow the query string's lack of types: a string compared with a
number is read as a number (`filter[price][_gt]=10`), with a boolean as
`true`/`false`; values of different kinds never match an ordering operator.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from host.errors import InvalidQuery
from host.jsontext import JsonRefused, loads
from host.numbers import query_integer
from host.types import Json

Item = dict[str, Any]
Predicate = Callable[[Item], bool]

META_VALUES = ("total_count", "filter_count")
_BRACKETS = re.compile(r"^([A-Za-z_]+)((?:\[[^\[\]]*\])+)$")


# --------------------------------------------------------------------------- the query


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...] = ("*",)
    filter: dict[str, Any] | None = None
    sort: tuple[str, ...] = ()
    limit: int = 100
    """-1 means every item."""
    offset: int = 0
    meta: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "fields": list(self.fields),
            "filter": self.filter,
            "sort": list(self.sort),
            "limit": self.limit,
            "offset": self.offset,
            "meta": list(self.meta),
        }

    @classmethod
    def from_json(cls, value: Json) -> Query:
        if not isinstance(value, dict):
            raise InvalidQuery(f"A query must be an object, not {_kind(value)}")
        unknown = set(value) - {"fields", "filter", "sort", "limit", "offset", "meta"}
        if unknown:
            raise InvalidQuery(f"Unknown query parameter(s): {', '.join(sorted(unknown))}")
        fields = tuple(_names(value.get("fields") or ["*"], "fields"))
        for field in fields:
            if field != "*":
                _path(field.removesuffix(".*"), "fields")
        sort = tuple(_names(value.get("sort") or [], "sort"))
        for field in sort:
            _path(field.removeprefix("-"), "sort")
        filter_ = value.get("filter")
        if filter_ is not None:
            compile_filter(filter_)  # validates
        limit = _integer(value.get("limit", 100), "limit", minimum=-1)
        offset = _integer(value.get("offset", 0), "offset", minimum=0)
        meta = tuple(_names(value.get("meta") or [], "meta"))
        if "*" in meta:
            meta = META_VALUES
        for name in meta:
            if name not in META_VALUES:
                raise InvalidQuery(f'Unknown meta "{name}": use {", ".join(META_VALUES)} or *')
        return cls(fields, filter_ or None, sort, limit, offset, meta)

    @property
    def needs_python(self) -> bool:
        """Whether the rows must all be read (filter or sort), or SQL can page them."""
        return bool(self.filter) or bool(self.sort)


def _names(value: Json, what: str) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidQuery(f'"{what}" must be a comma-separated string or a list of strings')
    names = [v.strip() for v in value if v.strip()]
    return names


def _path(name: str, what: str) -> tuple[str, ...]:
    parts = tuple(name.split("."))
    if not name or not all(parts):
        raise InvalidQuery(f'Invalid field "{name}" in "{what}"')
    return parts


def _integer(value: Json, what: str, *, minimum: int) -> int:
    return query_integer(value, what, minimum=minimum)


def _kind(value: Json) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


# --------------------------------------------------------------------------- query string


def query_from_params(params: Sequence[tuple[str, str]], default_limit: int, max_depth: int) -> dict[str, Any]:
    """The query (as JSON) that a query string asks for.

    `fields`/`sort`/`meta` are comma-separated or repeated (`fields[]=a`); `filter` is JSON
    or bracket syntax (`filter[title][_eq]=x`, `filter[_or][0][a][_eq]=1`); `page` (from 1)
    becomes an offset. Other parameters (`access_token`, ...) are ignored. A filter, or a
    dotted field path, nested deeper than `max_depth` (`MAX_JSON_DEPTH`) is refused.
    """
    query: dict[str, Any] = {"limit": default_limit}
    lists: dict[str, list[str]] = {}
    brackets: dict[str, Any] = {}
    page: str | None = None
    for key, value in params:
        name = key.removesuffix("[]")
        if name in ("fields", "sort", "meta"):
            names = value.split(",")
            _check_path_depth(names, name, max_depth)
            lists.setdefault(name, []).extend(names)
        elif name in ("limit", "offset"):
            query[name] = value
        elif name == "page":
            page = value
        elif name == "filter":
            try:
                query["filter"] = loads(value, max_depth) if value.strip() else None
            except JsonRefused as exc:
                raise InvalidQuery(f'"filter" {exc.reason}') from None
        elif key.startswith("filter["):
            match = _BRACKETS.match(key)
            if match is None:
                raise InvalidQuery(f'Invalid filter parameter "{key}"')
            parts = match.group(2)[1:-1].split("][")
            if len(parts) > max_depth:
                raise InvalidQuery(f'"filter" is nested deeper than MAX_JSON_DEPTH ({max_depth} levels)')
            _set_path(brackets, parts, value, key)
    if brackets:
        if "filter" in query:
            raise InvalidQuery('Use either "filter" as JSON or "filter[...]" parameters, not both')
        query["filter"] = _listify(brackets)
    query.update(lists)
    if page is not None:
        number = _integer(page, "page", minimum=1)
        limit = _integer(query["limit"], "limit", minimum=-1)
        if limit < 0:
            raise InvalidQuery('"page" needs a "limit"')
        query["offset"] = _integer((number - 1) * limit, "offset", minimum=0)
    return query


def _check_path_depth(names: list[str], what: str, max_depth: int) -> None:
    for name in names:
        if name.count(".") >= max_depth:
            raise InvalidQuery(f'"{what}": the path "{name[:40]}..." is nested deeper than MAX_JSON_DEPTH '
                               f'({max_depth} levels)')


def _set_path(tree: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidQuery(f'Conflicting filter parameter "{key}"')
        node = child
    if not parts[-1]:
        raise InvalidQuery(f'Invalid filter parameter "{key}"')
    node[parts[-1]] = value


def _listify(node: Any) -> Any:
    """`{"0": a, "1": b}` (from `_and[0]`, `_and[1]`) becomes `[a, b]`."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


# --------------------------------------------------------------------------- filters


def compile_filter(node: Json) -> Predicate:
    """A predicate for a Directus filter object; raises `InvalidQuery` for a malformed one."""
    return _compile(node, ())


def _compile(node: Json, path: tuple[str, ...]) -> Predicate:
    if not isinstance(node, dict):
        where = ".".join(path) or "filter"
        raise InvalidQuery(f'Invalid filter at "{where}": expected an object, got {_kind(node)}')
    predicates: list[Predicate] = []
    for key, operand in node.items():
        if key in ("_and", "_or"):
            if not isinstance(operand, list) or not operand:
                raise InvalidQuery(f'"{key}" needs a non-empty array of filters')
            parts = [_compile(sub, path) for sub in operand]
            predicates.append(_all(parts) if key == "_and" else _any(parts))
        elif key.startswith("_"):
            if not path:
                raise InvalidQuery(f'Operator "{key}" needs a field: {{"<field>": {{"{key}": ...}}}}')
            predicates.append(_operator(key, operand, path))
        elif key:
            predicates.append(_compile(operand, (*path, key)))
        else:
            raise InvalidQuery("Empty field name in filter")
    return _all(predicates)


def _all(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    return lambda item: all(p(item) for p in parts)


def _any(parts: list[Predicate]) -> Predicate:
    return lambda item: any(p(item) for p in parts)


def value_at(item: Item, path: Sequence[str]) -> Any:
    value: Any = item
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _operator(name: str, operand: Json, path: tuple[str, ...]) -> Predicate:
    test = _OPERATORS.get(name)
    if test is None:
        raise InvalidQuery(f'Unknown filter operator "{name}" (supported: {", ".join(sorted(_OPERATORS))})')
    if name in ("_in", "_nin"):
        if isinstance(operand, str):
            operand = operand.split(",")
        if not isinstance(operand, list):
            raise InvalidQuery(f'"{name}" needs an array (or a comma-separated string)')
    if name in ("_between", "_nbetween"):
        if isinstance(operand, str):
            operand = operand.split(",")
        if not isinstance(operand, list) or len(operand) != 2:
            raise InvalidQuery(f'"{name}" needs an array of two values')
    if name in ("_null", "_nnull", "_empty", "_nempty"):
        operand = _truthy(operand, name)
    if name in ("_contains", "_ncontains", "_icontains", "_starts_with", "_ends_with") and not isinstance(
        operand, str | int | float | bool
    ):
        raise InvalidQuery(f'"{name}" needs a string or a number')
    bound = operand
    return lambda item: test(value_at(item, path), bound)


def _truthy(operand: Json, name: str) -> bool:
    if isinstance(operand, bool):
        return operand
    if isinstance(operand, str) and operand.lower() in ("true", "false", "1", "0"):
        return operand.lower() in ("true", "1")
    raise InvalidQuery(f'"{name}" needs true or false')


def _coerce(value: Any, operand: Any) -> Any:
    """`operand` read as the kind of `value` (query strings carry no types)."""
    if isinstance(operand, str):
        if isinstance(value, bool):
            lowered = operand.lower()
            return True if lowered == "true" else False if lowered == "false" else operand
        if isinstance(value, int | float):
            try:
                number = float(operand)
            except ValueError:
                return operand
            return int(number) if number.is_integer() and math.isfinite(number) else number
    elif isinstance(operand, int | float) and not isinstance(operand, bool) and isinstance(value, str):
        return str(operand)
    return operand


def _rank(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return 1
    if isinstance(value, str):
        return 2
    return 3


def _equal(value: Any, operand: Any) -> bool:
    operand = _coerce(value, operand)
    if value is None or operand is None:
        return value is None and operand is None
    return _rank(value) == _rank(operand) and value == operand


def _order(value: Any, operand: Any, test: Callable[[Any, Any], bool]) -> bool:
    operand = _coerce(value, operand)
    if value is None or operand is None or _rank(value) != _rank(operand) or _rank(value) == 3:
        return False
    return test(value, operand)


def _contains(value: Any, operand: Any, fold: bool = False) -> bool:
    if isinstance(value, str):
        text = str(operand).lower() if isinstance(operand, bool) else str(operand)
        return text.lower() in value.lower() if fold else text in value
    if isinstance(value, list):
        return any(_equal(element, operand) for element in value)
    return False


def _empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "_eq": _equal,
    "_neq": lambda v, o: not _equal(v, o),
    "_in": lambda v, o: any(_equal(v, x) for x in o),
    "_nin": lambda v, o: not any(_equal(v, x) for x in o),
    "_gt": lambda v, o: _order(v, o, lambda a, b: a > b),
    "_gte": lambda v, o: _order(v, o, lambda a, b: a >= b),
    "_lt": lambda v, o: _order(v, o, lambda a, b: a < b),
    "_lte": lambda v, o: _order(v, o, lambda a, b: a <= b),
    "_between": lambda v, o: _order(v, o[0], lambda a, b: a >= b) and _order(v, o[1], lambda a, b: a <= b),
    "_nbetween": lambda v, o: not (
        _order(v, o[0], lambda a, b: a >= b) and _order(v, o[1], lambda a, b: a <= b)
    ),
    "_contains": _contains,
    "_ncontains": lambda v, o: not _contains(v, o),
    "_icontains": lambda v, o: _contains(v, o, fold=True),
    "_starts_with": lambda v, o: isinstance(v, str) and v.startswith(str(o)),
    "_ends_with": lambda v, o: isinstance(v, str) and v.endswith(str(o)),
    "_null": lambda v, o: (v is None) == o,
    "_nnull": lambda v, o: (v is not None) == o,
    "_empty": lambda v, o: _empty(v) == o,
    "_nempty": lambda v, o: (not _empty(v)) == o,
}

OPERATORS = frozenset(_OPERATORS) | {"_and", "_or"}


# --------------------------------------------------------------------------- sort, page, fields


def _sort_key(path: tuple[str, ...]) -> Callable[[Item], tuple[Any, ...]]:
    def key(item: Item) -> tuple[Any, ...]:
        value = value_at(item, path)
        if value is None:
            return (1,)
        rank = _rank(value)
        if rank == 3:
            return (0, rank, json.dumps(value, sort_keys=True))
        return (0, rank, value)

    return key


def sort_items(items: list[Item], sort: Sequence[str]) -> list[Item]:
    """Stable multi-key sort; `-field` is descending. Missing values sort last (first when descending)."""
    for field in reversed(sort):
        descending = field.startswith("-")
        items.sort(key=_sort_key(tuple(field.removeprefix("-").split("."))), reverse=descending)
    return items


def project(item: Item, fields: Sequence[str]) -> Item:
    """Only `fields` of `item` (`*` all, `a.b` nested, `a.*` all of `a`); a missing field is null."""
    if "*" in fields:
        return item
    result: Item = {}
    for field in fields:
        parts = field.removesuffix(".*").split(".")
        node = result
        for part in parts[:-1]:
            existing = node.get(part)
            if not isinstance(existing, dict):
                existing = node[part] = {}
            node = existing
        node[parts[-1]] = value_at(item, parts)
    return result


@dataclass(frozen=True)
class Page:
    items: list[Item]
    filter_count: int


def run_query(items: Iterable[Item], query: Query) -> Page:
    """Filter, sort, slice and project `items` (already in storage order)."""
    selected = list(items)
    if query.filter:
        predicate = compile_filter(query.filter)
        selected = [item for item in selected if predicate(item)]
    count = len(selected)
    if query.sort:
        selected = sort_items(selected, query.sort)
    end = None if query.limit < 0 else query.offset + query.limit
    return Page([project(item, query.fields) for item in selected[query.offset : end]], count)
