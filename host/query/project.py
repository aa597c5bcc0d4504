"""`fields`, `alias` and `deep` applied to the items of one page (in memory: a page is small).

`*` (and `*.*`) is every field; `a.b` is field `b` of object `a` (answered as `{"a": {"b":
...}}`); `a.*` is all of `a`; a missing field is null. `alias` names another field's value
(`{"headline": "title"}`), answered with `*` or when listed in `fields`. `deep` runs
`_filter`, `_search`, `_sort`, `_offset`, `_limit` on an array field of each item
(`{"comments": {"_filter": {...}, "_limit": 3}}`), and deeper on its elements' fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from host.query import memory
from host.query.model import Query
from host.types import Accountability

Row = dict[str, Any]
Expander = Callable[[Any], Any]
"""Turns a stored reference (an id, or a list of ids) into the object(s) it names (flows)."""


def project(
    doc: Row,
    fields: Sequence[str],
    alias: Mapping[str, str] | None = None,
    expanders: Mapping[str, Expander] | None = None,
) -> Row:
    alias, expanders = alias or {}, expanders or {}
    everything = "*" in fields or "*.*" in fields
    result: Row = dict(doc) if everything else {}
    nested: dict[str, list[str]] = {}
    for field in fields:
        if field in ("*", "*.*"):
            continue
        head, _, rest = field.partition(".")
        if rest and head in expanders:
            nested.setdefault(head, []).append(rest)
            continue
        parts = field.removesuffix(".*").split(".")
        if parts[0] in alias:
            continue
        node = result
        for part in parts[:-1]:
            existing = node.get(part)
            if not isinstance(existing, dict):
                existing = node[part] = {}
            node = existing
        node[parts[-1]] = memory.value_at(doc, parts)
    for head, rests in nested.items():
        value = expanders[head](doc.get(head))
        if isinstance(value, list):
            result[head] = [project(v, rests) for v in value if isinstance(v, dict)]
        else:
            result[head] = project(value, rests) if isinstance(value, dict) else value
    for name, target in alias.items():
        if everything or any(f.split(".")[0] == name for f in fields):
            result[name] = memory.value_at(doc, target.split("."))
    return result


def apply_deep(doc: Row, deep: Mapping[str, Any], who: Accountability | None, max_depth: int) -> Row:
    if not deep:
        return doc
    out = dict(doc)
    for key, spec in deep.items():
        value = out.get(key)
        params = {k[1:]: v for k, v in spec.items() if k.startswith("_")}
        children = {k: v for k, v in spec.items() if not k.startswith("_")}
        if isinstance(value, list):
            elements = [e for e in value if isinstance(e, dict)]
            if params:
                nested = Query.from_json({"limit": -1, **params}, who, max_depth=max_depth)
                elements = memory.page(memory.select(elements, nested), nested)
            out[key] = [apply_deep(e, children, who, max_depth) for e in elements]
        elif isinstance(value, dict) and children:
            out[key] = apply_deep(value, children, who, max_depth)
    return out


def shape(
    doc: Row,
    query: Query,
    who: Accountability | None,
    max_depth: int,
    expanders: Mapping[str, Expander] | None = None,
) -> Row:
    """One item of a page as `query` asks for it."""
    return project(apply_deep(doc, query.deep, who, max_depth), query.fields, query.alias, expanders)
