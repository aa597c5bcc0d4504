"""A Directus query string as the query's JSON (`host.query.model.Query.from_json` checks it).

`fields`, `sort`, `meta`, `groupBy` are comma-separated or repeated (`fields[]=a`);
`filter`, `deep`, `aggregate` and `alias` are JSON or bracket syntax
(`filter[title][_eq]=x`, `filter[_or][0][a][_eq]=1`, `aggregate[sum]=price`,
`alias[name]=title`); `search`, `limit`, `offset`, `page` are single values. Other
parameters (`access_token`, ...) are ignored. A value nested deeper than `max_depth`
(`MAX_JSON_DEPTH`) is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from host.errors import InvalidQuery
from host.jsontext import JsonRefused, loads

LISTS = ("fields", "sort", "meta", "groupBy")
OBJECTS = ("filter", "deep", "aggregate", "alias")
SCALARS = ("search", "limit", "offset", "page")
_BRACKETS = re.compile(r"^([A-Za-z]+)((?:\[[^\[\]]*\])+)$")


def query_from_params(params: Iterable[tuple[str, str]], default_limit: int, max_depth: int) -> dict[str, Any]:
    query: dict[str, Any] = {"limit": default_limit}
    lists: dict[str, list[str]] = {}
    brackets: dict[str, dict[str, Any]] = {}
    for key, value in params:
        name = key.removesuffix("[]")
        if name in LISTS:
            lists.setdefault(name, []).extend(value.split(","))
        elif name in SCALARS:
            query[name] = value
        elif name in OBJECTS:
            if not value.strip():
                continue
            try:
                query[name] = loads(value, max_depth)
            except JsonRefused as exc:
                raise InvalidQuery(f'Invalid query. "{name}" {exc.reason}') from None
        else:
            match = _BRACKETS.match(key)
            if match is None or match.group(1) not in OBJECTS:
                continue
            parts = match.group(2)[1:-1].split("][")
            if len(parts) > max_depth:
                raise InvalidQuery(f'Invalid query. "{match.group(1)}" is nested deeper than MAX_JSON_DEPTH '
                                   f'({max_depth} levels)')
            _set_path(brackets.setdefault(match.group(1), {}), parts, value, key)
    for name, tree in brackets.items():
        if name in query:
            raise InvalidQuery(f'Invalid query. Use either "{name}" as JSON or "{name}[...]" parameters, not both')
        query[name] = _listify(tree)
    query.update(lists)
    return query


def _set_path(tree: dict[str, Any], parts: list[str], value: str, key: str) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidQuery(f'Invalid query. Conflicting parameter "{key[:80]}"')
        node = child
    if not parts[-1] or isinstance(node.get(parts[-1]), dict):
        raise InvalidQuery(f'Invalid query. Invalid parameter "{key[:80]}"')
    node[parts[-1]] = value


def _listify(node: Any) -> Any:
    """`{"0": a, "1": b}` (from `_and[0]`, `_and[1]`) becomes `[a, b]`."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
