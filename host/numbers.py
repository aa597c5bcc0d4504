"""Integers the database stores: 64-bit signed, as `limit`, `offset`, `page` and integer keys are."""

from __future__ import annotations

import re

from host.errors import InvalidQuery
from host.types import Json

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")


def query_integer(value: Json, what: str, *, minimum: int) -> int:
    """`value` (a query-string text, or a JSON number) as an integer from `minimum` to `INT64_MAX`;
    `InvalidQuery` naming `what` otherwise (not a plain decimal integer, or out of range)."""
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if _INTEGER.fullmatch(text) else None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= INT64_MAX:
        raise InvalidQuery(f'"{what}" must be an integer >= {minimum} and <= {INT64_MAX}')
    return value
