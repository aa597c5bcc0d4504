"""A webhook's query string as Directus (Express with `qs`) puts it in `$trigger.query`.

`a=1` is `{"a": "1"}`, a repeated name a list (`x=1&x=2`: `{"x": ["1", "2"]}`), brackets
nest (`a[b]=1`: `{"a": {"b": "1"}}`), `a[]=1&a[]=2` and `a[0]=1` make lists (indexes up
to 20, as `qs`'s `arrayLimit`; a larger one is an object key), `[x]=1` is `x=1`, and
nesting stops after 10 levels (Directus's `qs` depth: the rest of the name stays one key).
A name that clashes with another (`a=1&a[b]=2`, which `qs` merges into a list) keeps the
first value. The parameters come already read and without credentials
(`host.redaction.guest_query`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from host.types import Json

DEPTH = 10
ARRAY_LIMIT = 20

_NAME = re.compile(r"^([^\[\]]*)((?:\[[^\[\]]*\])+)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def _parts(name: str) -> list[str]:
    match = _NAME.match(name)
    if not match:
        return [name]
    inner = _SEGMENT.findall(match.group(2))
    head = match.group(1)
    if not head:  # `[x]=1` is `x=1`
        head, inner = inner[0], inner[1:]
        if not head:
            return [name]
    if len(inner) > DEPTH:
        inner = [*inner[:DEPTH], "[" + "][".join(inner[DEPTH:]) + "]"]
    return [head, *inner]


def _index(key: str) -> bool:
    """`key` is a list index `qs` makes a list of (`0` to `20`, ASCII digits)."""
    return key.isascii() and key.isdigit() and len(key) <= 2 and int(key) <= ARRAY_LIMIT


def _listed(node: Json) -> Json:
    """Objects whose keys are all small indexes (or appends) become lists, innermost first."""
    if not isinstance(node, dict):
        return node
    node = {key: _listed(value) for key, value in node.items()}
    if node and all(_index(key) for key in node):
        return [node[key] for key in sorted(node, key=int)]
    return node


def _next(node: dict[str, Json], appended: dict[int, int]) -> str:
    index = appended.get(id(node), len(node))
    appended[id(node)] = index + 1
    return str(index)


def nested_query(params: Mapping[str, str | list[str]]) -> dict[str, Json]:
    result: dict[str, Json] = {}
    appended: dict[int, int] = {}  # id(list node) -> next index, for `a[]`
    for name, value in params.items():
        parts = _parts(name)
        node: dict[str, Json] = result
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            if part == "" and position > 0:
                if last and isinstance(value, list):  # `a[]=1&a[]=2`, read as one list
                    for item in value:
                        node[_next(node, appended)] = item
                    break
                part = _next(node, appended)
            if last:
                if part not in node:
                    node[part] = value
                break
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break  # clashes with a plain value given first: keep it
            node = child
    return {key: _listed(value) for key, value in result.items()}
