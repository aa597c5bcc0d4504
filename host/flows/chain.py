"""The data chain and `{{ path }}` templating of operation options.

The chain is a dict: `$trigger`, `$last`, `$accountability`, `$env` and one entry per
operation key. A path is lodash-style (`a.b`, `a[0].b`, `a["b c"]`). An option that is
exactly `{{ path }}` takes the raw value at that path (any JSON type); a template mixed
with text renders strings as they are, missing values as nothing, everything else as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
    return get_parts(data, split_path(path), default)


def get_parts(data: Json, parts: list[str | int], default: Any = None) -> Any:
    """`get_path` of a path split already."""
    current = data
    for part in parts:
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


Render = Callable[[Json], Json]
"""A template parsed once, rendered against a data chain."""


def compile_template(value: Json) -> Render:
    """`value` (options: objects, arrays, strings, scalars) parsed once into what `render` does
    with it: each string's `{{ path }}` parts found and their paths split, so rendering only
    looks the values up. Objects and arrays are built afresh at every rendering."""
    if isinstance(value, str):
        return _compile_string(value)
    if isinstance(value, dict):
        fields = [(key, compile_template(item)) for key, item in value.items()]
        return lambda data: {key: item(data) for key, item in fields}
    if isinstance(value, list):
        entries = [compile_template(item) for item in value]
        return lambda data: [item(data) for item in entries]
    return lambda data: value


def _compile_string(template: str) -> Render:
    whole = _WHOLE.match(template)
    if whole:
        parts = split_path(whole.group(1))
        return lambda data: get_parts(data, parts)
    if "{{" not in template:
        return lambda data: template
    pieces: list[str | list[str | int]] = []
    at = 0
    for match in _ANY.finditer(template):
        pieces.append(template[at : match.start()])
        pieces.append(split_path(match.group(1)))
        at = match.end()
    pieces.append(template[at:])

    def text(data: Json) -> Json:
        return "".join(
            piece if isinstance(piece, str) else to_text(get_parts(data, piece, _MISSING)) for piece in pieces
        )

    return text


def render_string(template: str, data: Json) -> Json:
    return _compile_string(template)(data)


def render(value: Json, data: Json) -> Json:
    """`value` with every string templated against `data` (objects and arrays recursively)."""
    return compile_template(value)(data)


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
