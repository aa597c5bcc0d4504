"""The data chain and `{{ path }}` templating of operation options.

The chain is a dict: `$trigger`, `$last`, `$accountability`, `$env` and one entry per
operation key. A path is lodash-style (`a.b`, `a[0].b`, `a["b c"]`). An option that is
exactly `{{ path }}` takes the raw value at that path (any JSON type); a template mixed
with text renders strings as they are, missing values as nothing, everything else as JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from host.jsontext import JsonRefused, loads
from host.types import Json

TRIGGER = "$trigger"
LAST = "$last"
ACCOUNTABILITY = "$accountability"
ENV = "$env"
RESERVED = frozenset({TRIGGER, LAST, ACCOUNTABILITY, ENV})

_MISSING: Any = object()
_WHOLE = re.compile(r"^\{\{\s*([^{}]+?)\s*\}\}$")
_ANY = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_SEGMENT = re.compile(r"""\[\s*(?:"([^"]*)"|'([^']*)'|(-?\d+))\s*\]|([^.\[\]]+)""")


def split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for quoted, single, index, name in _SEGMENT.findall(path.strip()):
        if index:
            parts.append(int(index))
        elif name:
            parts.append(name.strip())
        else:
            parts.append(quoted or single)
    return parts


def get_path(data: Json, path: str, default: Any = None) -> Any:
    """The value at `path` in `data`, or `default` when any step is missing."""
    current = data
    for part in split_path(path):
        if isinstance(current, dict):
            key = str(part)
            if key not in current:
                return default
            current = current[key]
        elif isinstance(current, list):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return default
        else:
            return default
    return current


def to_text(value: Any) -> str:
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render_string(template: str, data: Json) -> Json:
    whole = _WHOLE.match(template)
    if whole:
        return get_path(data, whole.group(1))
    if "{{" not in template:
        return template
    return _ANY.sub(lambda match: to_text(get_path(data, match.group(1), _MISSING)), template)


def render(value: Json, data: Json) -> Json:
    """`value` with every string templated against `data` (objects and arrays recursively)."""
    if isinstance(value, str):
        return render_string(value, data)
    if isinstance(value, dict):
        return {key: render(item, data) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, data) for item in value]
    return value


def thrown_value(value: Json, max_depth: int) -> Json:
    """What a thrown `value` leaves in the chain, as Directus's `executeOperation` decides:
    a string that is JSON text is parsed (`throw '{"a": 1}'` leaves `{"a": 1}`), any other
    value stays as thrown (a string a string, an object with its fields)."""
    if isinstance(value, str):
        try:
            return loads(value, max_depth)
        except JsonRefused:
            return value
    return value
