"""Directus's dynamic variables in filter values: `$NOW`, `$NOW(<adjustment>)` (such as
`$NOW(-1 hour)`, `$NOW(+2 days)`), `$CURRENT_USER`, `$CURRENT_ROLE` (from the caller's
accountability; null without one). `$NOW` becomes an ISO 8601 UTC text
(`2024-05-01T12:00:00.000Z`), which compares with stored ISO dates as text does."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from host.errors import InvalidQuery
from host.types import Accountability, Json

_NOW = re.compile(r"\$NOW(?:\((.*)\))?")
_ADJUST = re.compile(r"\s*([+-]?)\s*([0-9]{1,9})\s*([a-zA-Z]+)\s*")
_UNITS = {
    "ms": "milliseconds", "millisecond": "milliseconds", "milliseconds": "milliseconds",
    "s": "seconds", "sec": "seconds", "second": "seconds", "seconds": "seconds",
    "m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "week": "weeks", "weeks": "weeks",
    "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _months(moment: datetime, count: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + count
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise InvalidQuery("Invalid query. $NOW adjustment is out of range")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def now_value(text: str, now: datetime) -> str | None:
    """`$NOW` / `$NOW(<adjustment>)` as text, or None if `text` is not one."""
    match = _NOW.fullmatch(text)
    if match is None:
        return None
    moment = now
    if match.group(1) is not None:
        adjust = _ADJUST.fullmatch(match.group(1))
        unit = _UNITS.get(adjust.group(3).lower()) if adjust else None
        if adjust is None or unit is None:
            raise InvalidQuery(f'Invalid query. Unknown $NOW adjustment "{match.group(1)[:40]}": use such as '
                               '"-1 hour", "+2 days" (units: ms, seconds, minutes, hours, days, weeks, months, years)')
        count = int(adjust.group(2)) * (-1 if adjust.group(1) == "-" else 1)
        try:
            if unit == "months":
                moment = _months(moment, count)
            elif unit == "years":
                moment = _months(moment, 12 * count)
            else:
                moment = moment + timedelta(**{unit: count})
        except OverflowError:
            raise InvalidQuery("Invalid query. $NOW adjustment is out of range") from None
    return iso(moment)


def resolve(value: Json, who: Accountability | None, now: datetime) -> Json:
    """`value` (a filter operand) with its dynamic variables replaced."""
    if isinstance(value, list):
        return [resolve(item, who, now) for item in value]
    if not isinstance(value, str) or not value.startswith("$"):
        return value
    if value == "$CURRENT_USER":
        return who.user if who else None
    if value == "$CURRENT_ROLE":
        return who.role if who else None
    moment = now_value(value, now)
    return moment if moment is not None else value
