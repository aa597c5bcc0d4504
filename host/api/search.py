"""Directus's query sent as JSON in a body rather than in the query string.

- `SEARCH /items/c`, `SEARCH /flows`, `SEARCH /operations`: the body is `{"query": {...}}`
  (what the SDK's `withSearch` sends) and/or, for items, `{"keys": [...]}`; a `query` in the
  body replaces the query string's, as in Directus (no body: the query string's query).
- `PATCH` and `DELETE /items/c` with `{"query": {...}}`: the items the query selects.

A JSON query is turned into the query-string parameters it stands for (`filter` object ->
its JSON, `fields` list -> comma-separated, numbers -> digits), so every reader parses one
form, with one set of checks and messages. Values the SDK already sends as strings (its
`withSearch` keeps `filter` as JSON text and `limit` as digits) pass unchanged.
"""

from __future__ import annotations

import json

from starlette.requests import Request

from host.api.body import read_json
from host.errors import InvalidPayload
from host.types import Json

Params = list[tuple[str, str]]

_LISTS = ("fields", "sort", "groupBy", "meta")


def query_params(query: Json) -> Params:
    """The query-string parameters the JSON query `query` stands for."""
    if not isinstance(query, dict):
        raise InvalidPayload('Invalid payload. "query" must be an object')
    params: Params = []
    for name, value in query.items():
        if value is None:
            continue
        if isinstance(value, str):
            params.append((name, value))
        elif isinstance(value, bool):
            params.append((name, "true" if value else "false"))
        elif isinstance(value, int | float):
            params.append((name, json.dumps(value)))
        elif isinstance(value, list) and name in _LISTS:
            if not all(isinstance(part, str) for part in value):
                raise InvalidPayload(f'Invalid payload. "query.{name}" must be a list of field names')
            params.append((name, ",".join(value)))
        else:
            params.append((name, json.dumps(value)))
    return params


async def search_body(request: Request, *, keys_allowed: bool) -> tuple[Params, list[Json] | None]:
    """The parameters of a `SEARCH` request (the body's `query`, else the query string's) and
    the body's `keys` (items only)."""
    body = await read_json(request, required=False)
    if body is None:  # no body: the query string's query, as Directus does
        return list(request.query_params.multi_items()), None
    if not isinstance(body, dict):
        raise InvalidPayload('Invalid payload. A SEARCH body is an object: {"query": {...}}')
    allowed = {"query", "keys"} if keys_allowed else {"query"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidPayload(f'Invalid payload. "{unknown[0]}" is not allowed in a SEARCH body')
    keys = body.get("keys")
    if keys is not None and not isinstance(keys, list):
        raise InvalidPayload('Invalid payload. "keys" must be an array')
    if "query" in body:
        return query_params(body["query"]), keys
    return list(request.query_params.multi_items()), keys
