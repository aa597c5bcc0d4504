"""`request`: an outbound HTTP request through the host's `request` capability, so the
IP guard (checked at connect time, redirects included) and the size and time caps
are exactly those extensions get. A response of 400 or more rejects with the response.
The request carries `X-Exthost-Flow-Depth` (the runs nested around it), so a webhook flow
it reaches, on this host or another, continues the recursion count (host/flows/guard.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio.to_thread

from host.capabilities import CallContext
from host.errors import CapabilityDenied, OperationFailed
from host.flows import guard
from host.flows.operations._options import one_of, require
from host.flows.operations.registry import OperationContext, OperationType
from host.types import Json

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _headers(raw: Any) -> dict[str, str]:
    """Directus stores headers as `[{header, value}]`; an object works too."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    headers: dict[str, str] = {}
    for entry in raw or []:
        if isinstance(entry, dict) and entry.get("header"):
            headers[str(entry["header"])] = "" if entry.get("value") is None else str(entry["value"])
    return headers


async def request(options: dict[str, Any], context: OperationContext) -> Json:
    url = str(options.get("url") or "")
    method = str(options.get("method") or "GET").upper()
    headers = _headers(options.get("headers"))
    body = options.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    payload = json.dumps({"method": method, "headers": headers, "body": body})
    capability = context.services.request_capability()
    settings = context.services.settings
    deadline = time.monotonic() + settings.request_timeout / 1000 + 1
    call = CallContext(f"flow:{context.flow.id}", deadline, flow_depth=guard.depth())
    try:
        text = await anyio.to_thread.run_sync(capability, call, url, payload)
    except CapabilityDenied as exc:
        raise OperationFailed(exc.message, {"name": "RequestError", "message": exc.message}) from None
    response = json.loads(str(text))
    if isinstance(response, dict) and int(response.get("status", 0)) >= 400:
        raise OperationFailed(f'Request to "{url}" failed with status {response["status"]}', response)
    return response


def _check(options: dict[str, Any]) -> None:
    require(options, "url")
    one_of(options, "method", METHODS)


OPERATIONS = [OperationType("request", request, check=_check, description="an HTTP request, guarded")]
