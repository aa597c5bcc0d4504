"""Small helpers for checking and reading operation options."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from host.errors import OperationFailed
from host.flows.models import FieldError


def templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def require(options: dict[str, Any], name: str) -> None:
    if options.get(name) in (None, "", []):
        raise FieldError(f"options.{name}", "is required")


def one_of(options: dict[str, Any], name: str, allowed: Iterable[str]) -> None:
    value = options.get(name)
    allowed = tuple(allowed)
    if value is not None and not templated(value) and value not in allowed:
        raise FieldError(f"options.{name}", f"must be one of {', '.join(allowed)} (got {value!r})")


def number(options: dict[str, Any], name: str, minimum: float = 0) -> None:
    value = options.get(name)
    if value is None or templated(value):
        return
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        raise FieldError(f"options.{name}", f"must be a number (got {value!r})") from None
    if parsed < minimum:
        raise FieldError(f"options.{name}", f"must be at least {minimum:g}")


def as_object(value: Any, what: str) -> Any:
    """A JSON option that may arrive as text (Directus stores some as strings)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise OperationFailed(f"{what} is not valid JSON: {exc.msg}") from None
    return value


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value]
