"""The one handler that renders every error in Directus's shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from host.api.methods import allowed_methods
from host.errors import ExthostError

log = logging.getLogger("exthost.api")

_CODES = {400: "INVALID_PAYLOAD", 401: "INVALID_CREDENTIALS", 403: "FORBIDDEN", 404: "ROUTE_NOT_FOUND",
          405: "METHOD_NOT_ALLOWED", 413: "CONTENT_TOO_LARGE", 422: "INVALID_PAYLOAD"}


def error_response(
    status: int,
    message: str,
    code: str,
    extensions: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {**(extensions or {}), "code": code}}]},
        status_code=status,
        headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
    )


async def _exthost_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ExthostError)
    if exc.status >= 500:
        log.warning("%s %s -> %d %s: %s", request.method, request.url.path, exc.status, exc.code, exc.message)
    return error_response(exc.status, exc.message, exc.code, exc.extensions, exc.headers())


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for item in exc.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {item.get('msg')}")
    return error_response(400, "Invalid payload. " + "; ".join(parts), "INVALID_PAYLOAD")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Error"
    headers: dict[str, str] = {}
    if exc.status_code == 404:
        message = f'Route "{request.url.path}" doesn\'t exist.'
    elif exc.status_code == 405:
        allow = allowed_methods(request.app, request.url.path)
        message = f'Method {request.method} is not allowed on "{request.url.path}": use {", ".join(allow)}.'
        headers["Allow"] = ", ".join(allow)
    code = _CODES.get(exc.status_code, "INTERNAL_SERVER_ERROR")
    return error_response(exc.status_code, message, code, headers=headers)


async def _client_gone(request: Request, exc: Exception) -> JSONResponse:
    """The client closed the connection before its body arrived: nothing went wrong here, and
    nobody is left to read the answer (no traceback in the log, no 500)."""
    log.info("%s %s: the client disconnected before sending its whole body", request.method, request.url.path)
    return error_response(400, "The client disconnected before sending its whole body.", "INVALID_PAYLOAD")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "An unexpected error occurred.", "INTERNAL_SERVER_ERROR")


async def render_error(request: Request, exc: Exception) -> JSONResponse:
    """The handler for `exc`, for code that runs outside FastAPI's routing (the endpoint dispatcher)."""
    if isinstance(exc, ExthostError):
        return await _exthost_error(request, exc)
    if isinstance(exc, ClientDisconnect):
        return await _client_gone(request, exc)
    return await _unexpected(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ExthostError, _exthost_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)
