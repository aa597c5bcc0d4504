"""The OpenAPI document at `/openapi.json`: what each route really takes and answers.

The host's routes read their bodies and query strings themselves (`host.api.body`,
Directus's query parameters), so FastAPI alone would document neither; this module adds,
per operation: the Directus query parameters it reads, its request body, its bearer
security, and its error responses in Directus's shape (`{"errors": [{"message",
"extensions": {"code"}}]}`) for the statuses it can answer. Endpoint extensions are listed
from their registrations, read again on each request of the document, so a reload shows.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from host.api.server import VERSION

Schema = dict[str, Any]

ERROR: Schema = {
    "type": "object",
    "required": ["errors"],
    "properties": {"errors": {"type": "array", "minItems": 1, "items": {
        "type": "object",
        "required": ["message", "extensions"],
        "properties": {
            "message": {"type": "string"},
            "extensions": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
        },
    }}},
}
_ERROR_TEXT = {
    400: "Invalid payload or query (INVALID_PAYLOAD, INVALID_QUERY, ...)",
    401: "No valid token (INVALID_CREDENTIALS)",
    403: "The token may not do this (FORBIDDEN)",
    404: "Not found (NOT_FOUND, ROUTE_NOT_FOUND)",
    405: "Method not allowed on this path; `Allow` lists those it takes (METHOD_NOT_ALLOWED)",
    413: "Request body larger than MAX_PAYLOAD_SIZE (CONTENT_TOO_LARGE)",
    429: "Too many requests: RATE_LIMITER_* (REQUESTS_EXCEEDED); see `Retry-After`",
    500: "An extension or flow failed (EXTENSION_FAILED, FLOW_FAILED, ...)",
    503: "Unavailable: job queue full, extension quarantined or disabled, database down",
    504: "An extension ran out of time (EXTENSION_TIMEOUT)",
    508: "Flows nested past FLOWS_RECURSION_LIMIT (FLOW_RECURSION_LIMIT)",
}
ANY_JSON: Schema = {}
OBJECT: Schema = {"type": "object"}
OBJECTS: Schema = {"type": "array", "items": OBJECT}
KEY: Schema = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
DATA: Schema = {"type": "object", "required": ["data"], "properties": {"data": {}, "meta": OBJECT}}


def _param(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_TEXT: Schema = {"type": "string"}
DIRECTUS_QUERY = {
    "fields": _param("fields", _TEXT, "Fields to return, comma-separated (`*`, `a.b`)"),
    "filter": _param("filter", _TEXT, "Filter rules as JSON (`{\"status\":{\"_eq\":\"done\"}}`)"),
    "search": _param("search", _TEXT, "Text searched in every string field"),
    "sort": _param("sort", _TEXT, "Fields to sort by, comma-separated; `-` for descending"),
    "limit": _param("limit", {"type": "integer", "minimum": -1}, "Items per page (-1: all)"),
    "offset": _param("offset", {"type": "integer", "minimum": 0}, "Items to skip"),
    "page": _param("page", {"type": "integer", "minimum": 1}, "Page number (with `limit`)"),
    "meta": _param("meta", _TEXT, "`total_count`, `filter_count` or `*`"),
    "aggregate": _param("aggregate", _TEXT, "Aggregates as JSON (`{\"count\":\"*\"}`)"),
    "groupBy": _param("groupBy", _TEXT, "Fields to group aggregates by, comma-separated"),
    "deep": _param("deep", _TEXT, "Query parameters of nested relations, as JSON"),
}
LIST_QUERY = tuple(DIRECTUS_QUERY)
ONE_QUERY = ("fields", "deep")
WRITE_QUERY = ("fields",)
PAGE_QUERY = ("limit", "offset")

BATCH_UPDATE: Schema = {"oneOf": [
    {"type": "object", "required": ["keys", "data"], "properties": {"keys": {"type": "array", "items": KEY},
                                                                   "data": OBJECT}},
    {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}},
]}
BATCH_KEYS: Schema = {"oneOf": [{"type": "array", "items": KEY, "minItems": 1},
                                {"type": "object", "required": ["keys"],
                                 "properties": {"keys": {"type": "array", "items": KEY, "minItems": 1}}}]}
ONE_OR_MANY: Schema = {"oneOf": [OBJECT, OBJECTS]}
SCOPES: Schema = {"oneOf": [{"type": "string", "enum": ["all"]}, {"type": "object"}],
                  "description": '`"all"`, or the shape of `requestedScopes`, within what the extension requests'}
EXTENSION_UPDATE: Schema = {"type": "object", "properties": {
    "meta": {"type": "object", "required": ["enabled"], "properties": {"enabled": {"type": "boolean"}}},
    "granted_scopes": SCOPES}}
EXTENSION_INSTALL: Schema = {"type": "object", "required": ["spec"], "properties": {
    "spec": {"type": "string", "description": "npm `name`, `name@version`, `@scope/name@range`, a `.tgz` or a folder"},
    "granted_scopes": SCOPES}}
FIELD: Schema = {"type": "object", "required": ["field"], "properties": {
    "field": {"type": "string"}, "type": {"type": "string"},
    "meta": {"type": ["object", "null"]},
    "schema": {"type": ["object", "null"], "properties": {"is_indexed": {"type": "boolean"}}}}}
COLLECTION: Schema = {"type": "object", "required": ["collection"], "properties": {
    "collection": {"type": "string"}, "meta": {"type": ["object", "null"]}, "schema": {"type": ["object", "null"]},
    "fields": {"type": "array", "items": FIELD}}}
FIELD_UPDATE: Schema = {"type": "object", "properties": {
    "type": {"type": "string"}, "meta": {"type": ["object", "null"]},
    "schema": {"type": ["object", "null"], "properties": {"is_indexed": {"type": "boolean"}}}}}
EXTENSION_RELOAD: Schema = {"type": "object", "properties": {"names": {"type": "array", "items": {"type": "string"}}}}

# Who may call: "admin" (ADMIN_TOKEN, or a USER_TOKENS token of role admin), "user" (any
# valid token), "optional" (anonymous allowed; a token sent must be valid), None (no token read).
Access = str | None
# (method, path) -> (access, query parameters, request body schema or None, body required,
#                    success statuses, extra error statuses)
Spec = tuple[Access, tuple[str, ...], Schema | None, bool, tuple[int, ...], tuple[int, ...]]
SPECS: dict[tuple[str, str], Spec] = {
    ("get", "/server/ping"): (None, (), None, False, (200,), ()),
    ("get", "/server/info"): ("optional", (), None, False, (200,), ()),
    ("get", "/server/health"): ("optional", (), None, False, (200,), (503,)),
    ("get", "/extensions"): ("admin", (), None, False, (200,), ()),
    ("post", "/extensions"): ("admin", (), EXTENSION_INSTALL, True, (201, 202), ()),
    ("post", "/extensions/reload"): ("admin", (), EXTENSION_RELOAD, False, (200,), (404,)),
    ("get", "/extensions/{name}"): ("admin", (), None, False, (200,), (404,)),
    ("get", "/extensions/{name}/logs"): ("admin", (), None, False, (200,), (404,)),
    ("patch", "/extensions/{name}"): ("admin", (), EXTENSION_UPDATE, True, (200,), (404,)),
    ("delete", "/extensions/{name}"): ("admin", (), None, False, (204,), (404,)),
    ("get", "/items/{collection}"): ("user", LIST_QUERY, None, False, (200,), (404, 503)),
    ("get", "/items/{collection}/{key}"): ("user", ONE_QUERY, None, False, (200,), (404, 503)),
    ("post", "/items/{collection}"): ("user", WRITE_QUERY, ONE_OR_MANY, True, (200,), (404, 500, 503)),
    ("patch", "/items/{collection}"): ("user", WRITE_QUERY, BATCH_UPDATE, True, (200,), (404, 500, 503)),
    ("patch", "/items/{collection}/{key}"): ("user", WRITE_QUERY, OBJECT, True, (200,), (404, 500, 503)),
    ("delete", "/items/{collection}"): ("user", (), BATCH_KEYS, True, (204,), (404, 500, 503)),
    ("delete", "/items/{collection}/{key}"): ("user", (), None, False, (204,), (404, 500, 503)),
    ("get", "/collections"): ("admin", (), None, False, (200,), ()),
    ("post", "/collections"): ("admin", (), COLLECTION, True, (200,), ()),
    ("get", "/collections/{collection}"): ("admin", (), None, False, (200,), (404,)),
    ("delete", "/collections/{collection}"): ("admin", (), None, False, (204,), (404,)),
    ("get", "/fields"): ("admin", (), None, False, (200,), ()),
    ("get", "/fields/{collection}"): ("admin", (), None, False, (200,), (404,)),
    ("post", "/fields/{collection}"): ("admin", (), FIELD, True, (200,), (404,)),
    ("get", "/fields/{collection}/{field}"): ("admin", (), None, False, (200,), (404,)),
    ("patch", "/fields/{collection}/{field}"): ("admin", (), FIELD_UPDATE, True, (200,), (404,)),
    ("delete", "/fields/{collection}/{field}"): ("admin", (), None, False, (204,), (404,)),
    ("get", "/flows/trigger/{flow_id}"): ("optional", (), None, False, (200, 204), (404, 500, 503, 504, 508)),
    ("post", "/flows/trigger/{flow_id}"): ("optional", (), ANY_JSON, False, (200, 204), (404, 500, 503, 504, 508)),
    ("get", "/flows"): ("admin", LIST_QUERY, None, False, (200,), ()),
    ("post", "/flows"): ("admin", WRITE_QUERY, ONE_OR_MANY, True, (200,), (404,)),
    ("patch", "/flows"): ("admin", WRITE_QUERY, BATCH_UPDATE, True, (200,), (404,)),
    ("delete", "/flows"): ("admin", (), BATCH_KEYS, True, (204,), (404,)),
    ("get", "/flows/{flow_id}/runs"): ("admin", PAGE_QUERY, None, False, (200,), (404,)),
    ("get", "/flows/{flow_id}"): ("admin", ONE_QUERY, None, False, (200,), (404,)),
    ("patch", "/flows/{flow_id}"): ("admin", WRITE_QUERY, OBJECT, True, (200,), (404,)),
    ("delete", "/flows/{flow_id}"): ("admin", (), None, False, (204,), (404,)),
    ("get", "/operations"): ("admin", LIST_QUERY, None, False, (200,), ()),
    ("post", "/operations"): ("admin", WRITE_QUERY, ONE_OR_MANY, True, (200,), (404,)),
    ("patch", "/operations"): ("admin", WRITE_QUERY, BATCH_UPDATE, True, (200,), (404,)),
    ("delete", "/operations"): ("admin", (), BATCH_KEYS, True, (204,), (404,)),
    ("get", "/operations/{operation_id}"): ("admin", ONE_QUERY, None, False, (200,), (404,)),
    ("post", "/operations/{operation_id}"): ("admin", (), ANY_JSON, False, (200, 204), (404, 500, 503, 504, 508)),
    ("patch", "/operations/{operation_id}"): ("admin", WRITE_QUERY, OBJECT, True, (200,), (404,)),
    ("delete", "/operations/{operation_id}"): ("admin", (), None, False, (204,), (404,)),
    ("get", "/jobs"): ("admin", LIST_QUERY, None, False, (200,), ()),
    ("get", "/jobs/{job_id}"): ("admin", (), None, False, (200,), (404,)),
    ("post", "/jobs/{job_id}/retry"): ("admin", (), None, False, (200,), (404,)),
    ("delete", "/jobs/{job_id}"): ("admin", (), None, False, (204,), (404,)),
}
SECURITY_SCHEMES: Schema = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "ADMIN_TOKEN, or a token of USER_TOKENS: `Authorization: Bearer <token>`"},
    "access_token": {"type": "apiKey", "in": "query", "name": "access_token",
                     "description": "The same token as a query parameter"},
}
_TOKEN: list[dict[str, list[str]]] = [{"bearer": []}, {"access_token": []}]


def _errors(statuses: set[int]) -> dict[str, Schema]:
    return {str(status): {"description": _ERROR_TEXT[status], "content": {"application/json": {"schema": ERROR}}}
            for status in sorted(statuses)}


def _body(schema: Schema, required: bool) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _success(method: str, path: str, status: int) -> tuple[str, Schema]:
    if status == 204:
        return "204", {"description": "Done; no content"}
    if path == "/server/ping":
        return "200", {"description": "pong", "content": {"text/plain": {"schema": {"type": "string"}}}}
    if path == "/server/health":
        schema = {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["ok", "warn", "error"]},
            "releaseId": {"type": "string"}, "serviceId": {"type": "string"}, "checks": OBJECT}}
        return "200", {"description": "Healthy or degraded (details for the admin)",
                       "content": {"application/health+json": {"schema": schema}}}
    if "/trigger/" in path or path == "/operations/{operation_id}":
        return "200", {"description": "The flow's last value", "content": {"application/json": {"schema": ANY_JSON}}}
    return "200", {"description": "Success", "content": {"application/json": {"schema": DATA}}}


def _statuses(access: Access, errors: tuple[int, ...]) -> set[int]:
    found = {400, 413, 429, *errors}  # every route: MAX_PAYLOAD_SIZE, a malformed request, RATE_LIMITER_*
    if access is not None:
        found |= {401}
    if access in ("admin", "user"):
        found |= {403}
    return found


def _document(method: str, path: str, operation: Schema, spec: Spec) -> None:
    access, params, body, required, successes, errors = spec
    kept = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
    operation["parameters"] = kept + [DIRECTUS_QUERY[name] for name in params]
    if body is not None:
        operation["requestBody"] = _body(body, required)
    else:
        operation.pop("requestBody", None)
    responses: dict[str, Schema] = dict(_success(method, path, status) for status in successes)
    responses.update(_errors(_statuses(access, errors)))
    operation["responses"] = responses
    if access in ("admin", "user"):
        operation["security"] = _TOKEN
    elif access == "optional":
        operation["security"] = [{}, *_TOKEN]
    else:
        operation["security"] = []
    if access == "admin":
        operation["description"] = (operation.get("description", "") + "\n\nAdmin only.").strip()


_PARAMETER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)\??|\*")


def _openapi_path(endpoint_id: str, route: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def name_of(match: re.Match[str]) -> str:
        name = match.group(1) or "wildcard"
        names.append(name)
        return "{" + name + "}"

    return f"/{endpoint_id}" + _PARAMETER.sub(name_of, route.rstrip("/")), names


def endpoint_paths(app: FastAPI) -> dict[str, Schema]:
    """Every loaded endpoint extension's routes, as OpenAPI paths (`:name` -> `{name}`, `*` -> `{wildcard}`)."""
    table = getattr(app.state, "endpoints", None)
    paths: dict[str, Schema] = {}
    if table is None:
        return paths
    for endpoint_id in table.ids():
        for method, route in table.routes(endpoint_id):
            path, names = _openapi_path(endpoint_id, route)
            operation: Schema = {
                "tags": [f"endpoint: {endpoint_id}"],
                "summary": f"{method} {route} (extension endpoint)",
                "operationId": f"endpoint_{endpoint_id}_{method.lower()}_{len(paths)}",
                "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                               for n in dict.fromkeys(names)],
                "security": [{}, *_TOKEN],
                "responses": {"default": {"description": "What the extension answers"},
                              **_errors({400, 401, 404, 405, 413, 429, 500, 503, 504})},
            }
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                operation["requestBody"] = {"required": False, "content": {
                    "application/json": {"schema": ANY_JSON}, "text/plain": {"schema": {"type": "string"}}}}
            paths.setdefault(path, {}).setdefault(method.lower(), operation)
    return paths


OPENAPI_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def _fold_search(item: Schema) -> None:
    """OpenAPI 3.1 has no `SEARCH` operation: a path's SEARCH route (Directus's query in a body)
    is said in its GET operation's description instead of appearing as an invalid method."""
    for method in [name for name in item if name not in OPENAPI_METHODS]:
        item.pop(method)
        if method == "search" and "get" in item:
            note = ("Also answered to `SEARCH` on the same path, with the query as a JSON body "
                    '(`{"query": {...}}`) instead of the query string.')
            item["get"]["description"] = (item["get"].get("description", "") + "\n\n" + note).strip()


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()`: the host's routes documented once, endpoint extensions added on each call."""
    host: Schema | None = None

    def openapi() -> Schema:
        nonlocal host
        if host is None:
            host = get_openapi(title="exthost", version=VERSION, routes=app.routes,
                               description="Directus-style extensions in WebAssembly sandboxes, and Directus's "
                                           "items, flows and operations APIs.")
            for path in list(host["paths"]):
                plain = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
                if plain != path:
                    host["paths"][plain] = host["paths"].pop(path)
                _fold_search(host["paths"][plain])
                for method, operation in host["paths"][plain].items():
                    spec = SPECS.get((method, plain))
                    if spec is not None:
                        _document(method, plain, operation, spec)
            components = host.setdefault("components", {})
            components["securitySchemes"] = SECURITY_SCHEMES
            components.get("schemas", {}).pop("HTTPValidationError", None)
            components.get("schemas", {}).pop("ValidationError", None)
            if not components.get("schemas"):
                components.pop("schemas", None)
        document = copy.deepcopy(host)
        document["paths"].update(endpoint_paths(app))
        return document

    app.openapi = openapi  # type: ignore[method-assign]
