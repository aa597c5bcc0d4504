"""A Directus filter as a typed tree, built (and validated once) from its JSON.

`{field: {operator: value}}`; a nested object descends into an object (`{"author": {"name":
{"_eq": "ann"}}}`); `_and` / `_or` combine filters; `{"tags": {"_some": {...}}}` /
`_none` test the elements of an array (inside, a field descends into the element, an
operator tests the element itself). Dynamic variables are replaced while building.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from host.errors import InvalidQuery
from host.query.regex import check_pattern
from host.query.values import Operand, operand, text_operand
from host.query.variables import resolve
from host.types import Accountability, Json

Path = tuple[str, ...]

COMPARISONS = frozenset({"_eq", "_neq", "_lt", "_lte", "_gt", "_gte"})
LISTS = frozenset({"_in", "_nin"})
RANGES = frozenset({"_between", "_nbetween"})
FLAGS = frozenset({"_null", "_nnull", "_empty", "_nempty"})
TEXTS = frozenset({
    "_contains", "_ncontains", "_icontains", "_nicontains",
    "_starts_with", "_nstarts_with", "_istarts_with", "_nistarts_with",
    "_ends_with", "_nends_with", "_iends_with", "_niends_with",
})
QUANTIFIERS = frozenset({"_some", "_none"})
OPERATORS = COMPARISONS | LISTS | RANGES | FLAGS | TEXTS | QUANTIFIERS | {"_regex"}
NEGATED = frozenset({"_neq", "_nin", "_nbetween", "_ncontains", "_nicontains", "_nstarts_with",
                     "_nistarts_with", "_nends_with", "_niends_with"})
"""Negations match a value that is present (not null) and fails the positive operator."""

MAX_NODES = 500
MAX_LIST = 1000
MAX_KEY = 255
_BAD_KEY = re.compile(r'["\x00-\x1f\\]')

Arg = Operand | tuple[Operand, ...] | bool | str


@dataclass(frozen=True)
class Cond:
    path: Path
    op: str
    arg: Arg


@dataclass(frozen=True)
class Group:
    kind: Literal["_and", "_or"]
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Quantified:
    path: Path
    some: bool
    node: Node


Node = Cond | Group | Quantified


def check_key(key: str, what: str) -> str:
    if not key or len(key) > MAX_KEY or _BAD_KEY.search(key):
        raise InvalidQuery(f'Invalid query. Invalid field name "{key[:40]}" in "{what}"')
    return key


class _Builder:
    def __init__(self, who: Accountability | None, now: datetime, max_depth: int) -> None:
        self.who, self.now, self.max_depth, self.nodes = who, now, max_depth, 0

    def node(self, value: Json, path: Path, where: str, depth: int, element: bool) -> Node:
        if depth > self.max_depth:
            raise InvalidQuery(
                f'Invalid query. "filter" is nested deeper than MAX_JSON_DEPTH ({self.max_depth} levels)'
            )
        if not isinstance(value, dict):
            raise InvalidQuery(f'Invalid query. Invalid filter at "{where}": expected an object')
        if not value:
            return Group("_and", ())
        parts: list[Node] = []
        for key, sub in value.items():
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise InvalidQuery(f"Invalid query. The filter has more than {MAX_NODES} rules")
            here = f"{where}.{key}" if where else key
            if key in ("_and", "_or"):
                if not isinstance(sub, list) or not sub:
                    raise InvalidQuery(f'Invalid query. "{key}" needs a non-empty array of filters')
                group = tuple(self.node(s, path, f"{here}[{i}]", depth + 1, element) for i, s in enumerate(sub))
                parts.append(Group(key, group))
            elif key.startswith("_"):
                if not path and not element:
                    raise InvalidQuery(
                        f'Invalid query. Operator "{key}" needs a field: {{"<field>": {{"{key}": ...}}}}'
                    )
                parts.append(self.operator(key, sub, path, here, depth))
            else:
                check_key(key, "filter")
                parts.append(self.node(sub, (*path, key), here, depth + 1, False))
        return parts[0] if len(parts) == 1 else Group("_and", tuple(parts))

    def operator(self, op: str, raw: Json, path: Path, where: str, depth: int) -> Node:
        if op not in OPERATORS:
            raise InvalidQuery(f'Invalid query. Unknown filter operator "{op}" at "{where}" '
                               f'(supported: {", ".join(sorted(OPERATORS | {"_and", "_or"}))})')
        if op in QUANTIFIERS:
            return Quantified(path, op == "_some", self.node(raw, (), where, depth + 1, True))
        value = resolve(raw, self.who, self.now)
        if op in COMPARISONS:
            return Cond(path, op, operand(value, op))
        if op in LISTS or op in RANGES:
            if isinstance(value, str):
                value = value.split(",")
            if not isinstance(value, list):
                raise InvalidQuery(f'Invalid query. "{op}" needs an array (or a comma-separated string)')
            if op in RANGES and len(value) != 2:
                raise InvalidQuery(f'Invalid query. "{op}" needs an array of two values')
            if len(value) > MAX_LIST:
                raise InvalidQuery(f'Invalid query. "{op}" takes at most {MAX_LIST} values')
            return Cond(path, op, tuple(operand(v, op) for v in value))
        if op in FLAGS:
            return Cond(path, op, _flag(value, op))
        if op == "_regex":
            if not isinstance(value, str):
                raise InvalidQuery('Invalid query. "_regex" needs a string')
            return Cond(path, op, check_pattern(value))
        return Cond(path, op, text_operand(value, op))


def _flag(value: Json, op: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InvalidQuery(f'Invalid query. "{op}" needs true or false')


def parse_filter(value: Json, who: Accountability | None, now: datetime, max_depth: int) -> Node:
    """The tree of a filter's JSON; `InvalidQuery` naming the first thing wrong with it."""
    return _Builder(who, now, max_depth).node(value, (), "", 0, False)


def resolved(value: Json, who: Accountability | None, now: datetime) -> Json:
    """The filter's JSON with its dynamic variables replaced (what hooks see)."""
    if isinstance(value, dict):
        return {k: resolved(v, who, now) for k, v in value.items()}
    if isinstance(value, list):
        return [resolved(v, who, now) for v in value]
    return resolve(value, who, now)
