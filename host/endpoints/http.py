"""HTTP <-> the endpoint handler's `{url, method, ..., body}` and `{status, body, headers}`."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from host.api.body import read_body
from host.errors import ExtensionFailed
from host.redaction import guest_headers, guest_query
from host.types import Accountability, EndpointRequest, EndpointResponse, HttpMethod, Json, Undefined

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
                                "x-content-type-options"})




async def endpoint_request(
    request: Request, path: str, params: dict[str, str], accountability: Accountability | None
) -> EndpointRequest:
    """What the handler sees: no `Authorization`, `Cookie`, `Proxy-Authorization` header and no
    `access_token` parameter, in `headers`, `query` or `url` (host/redaction.py)."""
    query = guest_query(request.scope["query_string"])
    method: HttpMethod = request.method  # type: ignore[assignment]  # the router only dispatches the five
    return EndpointRequest(
        url=path + (f"?{query.string}" if query.string else ""),
        method=method,
        path=path,
        params=params,
        query=query.params,
        headers=guest_headers(request.headers.items()),
        body=await read_body(request),
        accountability=accountability.model_dump(mode="json") if accountability else None,
    )


def endpoint_response(extension: str, result: Json | Undefined) -> Response:
    """Validate what the handler returned and render it."""
    if not isinstance(result, dict):
        shown = "nothing" if isinstance(result, Undefined) else f"a {type(result).__name__}"
        raise ExtensionFailed(
            extension, f'Extension "{extension}" returned {shown}, not a response object {{status, body, headers?}}'
        )
    try:
        response = EndpointResponse.model_validate(result)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ExtensionFailed(extension, f'Extension "{extension}" returned an invalid response: {problems}') from None
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        if not _HEADER_NAME.match(name) or "\r" in value or "\n" in value or name.lower() in _FORBIDDEN_HEADERS:
            raise ExtensionFailed(extension, f'Extension "{extension}" set a header that is not allowed: {name!r}')
        headers[name.lower()] = value
    body, default_type = _render_body(response.body)
    if body and "content-type" not in headers:
        headers["content-type"] = default_type
    headers["x-content-type-options"] = "nosniff"
    return Response(content=body, status_code=response.status, headers=headers)


def _render_body(body: Any) -> tuple[bytes, str]:
    if body is None:
        return b"", ""
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), "application/json"
