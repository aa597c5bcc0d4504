"""How a filter's operand compares with a stored JSON value: the one set of rules that the SQL
compiler (`host.query.sql`) and the in-memory evaluator (`host.query.memory`) both implement.

Items are schemaless JSON and a query string carries no types, so an operand is read as each
kind of JSON value it can stand for (an `Operand`): `"10"` is the number 10 and the string
"10"; `"true"` is the boolean and the string; `10` is the number and the string "10". A
stored value is compared with the reading of its own kind only: a number with the number, a
string with the string (by code point), a boolean with the boolean. Arrays and objects are
never equal to, less or greater than anything. See docs/query.md.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from host.errors import InvalidQuery
from host.numbers import INT64_MAX, INT64_MIN
from host.types import Json

MAX_TEXT = 4096
"""The longest string an operand may be (a longer one is refused, not truncated)."""

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Number = int | float


@dataclass(frozen=True)
class Operand:
    """An operand as each kind of JSON value it can stand for (None: it cannot)."""

    number: Number | None = None
    text: str | None = None
    boolean: bool | None = None
    null: bool = False


def fold(text: str) -> str:
    """Case folding of the `_i...` operators and `search`: ASCII letters only (as SQLite's
    `lower()` and PostgreSQL's under the "C" collation)."""
    return text.translate(_ASCII_LOWER)


def number_of(value: Any) -> Number | None:
    """A JSON number as the SQL side binds it: a finite float, or an integer in 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else float(value)
    return value if math.isfinite(value) else None


def operand(value: Json, op: str) -> Operand:
    """The readings of one scalar operand; `InvalidQuery` for an array or object, or a huge string."""
    if value is None:
        return Operand(null=True)
    if isinstance(value, bool):
        return Operand(text="true" if value else "false", boolean=value)
    if isinstance(value, int | float):
        number = number_of(value)
        return Operand(number=number, text=json.dumps(value))
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise InvalidQuery(f'Invalid query. The value of "{op}" is longer than {MAX_TEXT} characters')
        number = None
        if _NUMBER.fullmatch(value.strip()):
            parsed = float(value) if any(c in value for c in ".eE") else int(value)
            number = number_of(parsed)
        lowered = value.strip().lower()
        boolean = True if lowered == "true" else False if lowered == "false" else None
        return Operand(number=number, text=value, boolean=boolean)
    raise InvalidQuery(f'Invalid query. "{op}" needs a string, a number, a boolean or null')


def text_operand(value: Json, op: str) -> str:
    """The operand of a string operator (`_contains`, `_starts_with`, ...): its text."""
    reading = operand(value, op)
    if reading.text is None:
        raise InvalidQuery(f'Invalid query. "{op}" needs a string or a number')
    return reading.text


def kind(value: Any) -> str:
    """The kind of a stored JSON value: null (also for a missing one), boolean, number, string,
    array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


SORT_RANK = {"boolean": 0, "number": 1, "string": 2, "array": 3, "object": 3, "null": 4}
"""The order of kinds in a sort: booleans (false first), numbers, strings, arrays and objects
(in storage order), then null and missing values."""
