"""Directus filter rules, evaluated in memory (the `condition` operation, `?filter=` on /flows).

A rule is `{field: {operator: value}}`, nested objects descend into objects
(`{"$trigger": {"payload": {"status": {"_eq": "published"}}}}`), and
`{"_and": [...]}` / `{"_or": [...]}` combine rules. `check()` raises `FilterError`
naming a malformed rule; `failures()` lists the rules a value does not meet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from host.types import Json


class FilterError(ValueError):
    """A filter that is not a valid set of rules."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:  # an integer beyond a double's range compares as an infinity
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _equal(left: Any, right: Any) -> bool:
    if left == right and type(left) is type(right):
        return True
    if isinstance(left, bool) or isinstance(right, bool):
        return str(left).lower() == str(right).lower()
    a, b = _number(left), _number(right)
    if a is not None and b is not None and (isinstance(left, str) != isinstance(right, str)):
        return a == b
    return bool(left == right)


def _compare(left: Any, right: Any) -> int | None:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def _less(strict: bool) -> Callable[[Any, Any], bool]:
    def test(value: Any, arg: Any) -> bool:
        order = _compare(value, arg)
        return order is not None and (order < 0 if strict else order <= 0)

    return test


def _more(strict: bool) -> Callable[[Any, Any], bool]:
    def test(value: Any, arg: Any) -> bool:
        order = _compare(value, arg)
        return order is not None and (order > 0 if strict else order >= 0)

    return test


def _as_list(arg: Any) -> list[Any]:
    if isinstance(arg, list):
        return arg
    if isinstance(arg, str):
        return [part for part in arg.split(",")]
    return [arg]


def _contains(value: Any, arg: Any, fold: bool = False) -> bool:
    if isinstance(value, str):
        needle = str(arg)
        return needle.lower() in value.lower() if fold else needle in value
    if isinstance(value, list):
        return any(_equal(item, arg) for item in value)
    return False


def _text(value: Any, fold: bool) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text.lower() if fold else text


def _starts(fold: bool) -> Callable[[Any, Any], bool]:
    def test(value: Any, arg: Any) -> bool:
        text, prefix = _text(value, fold), _text(arg, fold)
        return text is not None and prefix is not None and text.startswith(prefix)

    return test


def _ends(fold: bool) -> Callable[[Any, Any], bool]:
    def test(value: Any, arg: Any) -> bool:
        text, suffix = _text(value, fold), _text(arg, fold)
        return text is not None and suffix is not None and text.endswith(suffix)

    return test


def _between(value: Any, arg: Any) -> bool:
    bounds = _as_list(arg)
    if len(bounds) != 2:
        return False
    low, high = _compare(value, bounds[0]), _compare(value, bounds[1])
    return low is not None and high is not None and low >= 0 and high <= 0


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _regex(value: Any, arg: Any) -> bool:
    if not isinstance(value, str):
        return False
    pattern = str(arg)
    flags = 0
    literal = re.fullmatch(r"/(.*)/([a-z]*)", pattern, re.S)
    if literal:
        pattern = literal.group(1)
        flags = re.I if "i" in literal.group(2) else 0
    try:
        return re.search(pattern, value, flags) is not None
    except re.error:
        return False


def _flag(arg: Any) -> bool:
    return arg not in (False, "false", 0, "0")


_POSITIVE: dict[str, Callable[[Any, Any], bool]] = {
    "_eq": _equal,
    "_lt": _less(True),
    "_lte": _less(False),
    "_gt": _more(True),
    "_gte": _more(False),
    "_in": lambda v, a: any(_equal(v, item) for item in _as_list(a)),
    "_null": lambda v, a: (v is None) == _flag(a),
    "_empty": lambda v, a: _empty(v) == _flag(a),
    "_contains": _contains,
    "_icontains": lambda v, a: _contains(v, a, fold=True),
    "_starts_with": _starts(False),
    "_istarts_with": _starts(True),
    "_ends_with": _ends(False),
    "_iends_with": _ends(True),
    "_between": _between,
    "_regex": _regex,
}
_NEGATED = {
    "_neq": "_eq",
    "_nin": "_in",
    "_nnull": "_null",
    "_nempty": "_empty",
    "_ncontains": "_contains",
    "_nicontains": "_icontains",
    "_nstarts_with": "_starts_with",
    "_nistarts_with": "_istarts_with",
    "_nends_with": "_ends_with",
    "_niends_with": "_iends_with",
    "_nbetween": "_between",
}
_NESTED = frozenset({"_some", "_none"})
OPERATORS = frozenset(_POSITIVE) | frozenset(_NEGATED) | _NESTED


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


def check(rules: Json, where: str = "filter") -> None:
    """Raise `FilterError` naming the first malformed part of `rules`."""
    if not isinstance(rules, dict):
        raise FilterError(f"{where} must be an object of rules")
    for key, value in rules.items():
        here = f"{where}.{key}"
        if key in ("_and", "_or"):
            if not isinstance(value, list):
                raise FilterError(f"{here} must be an array of rules")
            for index, rule in enumerate(value):
                check(rule, f"{here}[{index}]")
        elif key.startswith("_"):
            if key not in OPERATORS:
                raise FilterError(f'{where}: unknown filter operator "{key}"')
            if key in _NESTED:
                check(value, here)
        elif isinstance(value, dict):
            check(value, here)
        else:
            raise FilterError(f"{here} must be an object such as {{\"_eq\": ...}}")


def failures(rules: Json, data: Json, path: str = "") -> list[str]:
    """The rules of `rules` that `data` does not meet (empty when it meets them all)."""
    failed: list[str] = []
    for key, arg in rules.items():
        if key == "_and":
            for rule in arg:
                failed += failures(rule, data, path)
        elif key == "_or":
            branches = [failures(rule, data, path) for rule in arg]
            if branches and all(branches):
                failed.append(f"none of the _or rules of {path or 'the filter'} match ({'; '.join(branches[0])})")
        elif key in _NESTED:
            items = data if isinstance(data, list) else []
            matches = [item for item in items if not failures(arg, item, path)]
            if (key == "_some") != bool(matches):
                failed.append(f'"{path}" fails {key}')
        elif key.startswith("_"):
            negated = key in _NEGATED
            test = _POSITIVE[_NEGATED.get(key, key)]
            if test(data, arg) == negated:
                failed.append(f'"{path}" {key} {arg!r} is false (value: {data!r})')
        else:
            child = f"{path}.{key}" if path else key
            failed += failures(arg, _field(data, key), child)
    return failed


def matches(rules: Json, data: Json) -> bool:
    return not failures(rules, data)
