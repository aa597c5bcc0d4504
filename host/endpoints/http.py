"""HTTP <-> the endpoint handler's `{url, method, ..., body}` and `{status, body, headers}`."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from host.api.body import read_body_json
from host.errors import ExtensionFailed
from host.redaction import guest_headers, guest_query
from host.types import Accountability, EndpointResponse, Json, Undefined

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                                "x-content-type-options"})


async def endpoint_args(
    request: Request, path: str, params: dict[str, str], accountability: Accountability | None
) -> str:
    """The handler's arguments, `[request]`, as the JSON text sent to the guest, encoded once:
    the request `{url, method, path, params, query, headers, body, accountability}` (the fields
    of `EndpointRequest`, in that order), its body's own JSON text spliced in (`read_body_json`).

    What the handler sees: no `Authorization`, `Cookie`, `Proxy-Authorization` header and no
    `access_token` parameter, in `headers`, `query` or `url` (host/redaction.py)."""
    query = guest_query(request.scope["query_string"])
    head = {
        "url": path + (f"?{query.string}" if query.string else ""),
        "method": request.method,  # the router only dispatches the five
        "path": path,
        "params": params,
        "query": query.params,
        "headers": guest_headers(request.headers.items()),
    }
    body = await read_body_json(request)
    who = json.dumps(accountability.model_dump(mode="json") if accountability else None)
    return f'[{json.dumps(head)[:-1]}, "body": {body}, "accountability": {who}}}]'


_RESPONSE_FIELDS = frozenset(EndpointResponse.model_fields)


def _plain_response(result: dict[str, Json]) -> tuple[int, Json, dict[str, str]] | None:
    """`(status, body, headers)` when `result` is a response `EndpointResponse` takes as it is
    (what a handler returns nearly always), without building the model; None otherwise."""
    status = result.get("status", 200)
    headers = result.get("headers", {})
    if (
        type(status) is int
        and 100 <= status <= 599
        and type(headers) is dict
        and result.keys() <= _RESPONSE_FIELDS
        and all(type(value) is str for value in headers.values())
    ):
        return status, result.get("body"), headers
    return None


def endpoint_response(extension: str, result: Json | Undefined) -> Response:
    """Validate what the handler returned and render it."""
    if not isinstance(result, dict):
        shown = "nothing" if isinstance(result, Undefined) else f"a {type(result).__name__}"
        raise ExtensionFailed(
            extension, f'Extension "{extension}" returned {shown}, not a response object {{status, body, headers?}}'
        )
    plain = _plain_response(result)
    if plain is None:
        try:
            response = EndpointResponse.model_validate(result)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ExtensionFailed(
                extension, f'Extension "{extension}" returned an invalid response: {problems}'
            ) from None
        plain = response.status, response.body, response.headers
    status, content, given = plain
    headers: dict[str, str] = {}
    for name, value in given.items():
        if not _HEADER_NAME.match(name) or "\r" in value or "\n" in value or name.lower() in _FORBIDDEN_HEADERS:
            raise ExtensionFailed(extension, f'Extension "{extension}" set a header that is not allowed: {name!r}')
        headers[name.lower()] = value
    body, default_type = _render_body(content)
    if body and "content-type" not in headers:
        headers["content-type"] = default_type
    headers["x-content-type-options"] = "nosniff"
    return Response(content=body, status_code=status, headers=headers)


def _render_body(body: Any) -> tuple[bytes, str]:
    if body is None:
        return b"", ""
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), "application/json"
