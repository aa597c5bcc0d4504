"""Directus's `/server` routes: `ping`, `info` and `health`.

- `GET /server/ping`: `pong` (text).
- `GET /server/info`: `{"data": {"project": {...}}}` for anyone; a valid token also sees
  `rateLimit`, `queryLimit` and `version` (as in Directus, `version` for the admin only).
- `GET /server/health` (`application/health+json`): the database (and Redis) checked
  (`host.health`); `503` when a check is in `error`. Anyone sees `{"status"}`; the admin
  sees `releaseId`, `serviceId` and each check.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse

from host.auth import accountability_of
from host.config import Settings
from host.health import health as health_report

router = APIRouter(prefix="/server", tags=["server"])

try:
    VERSION = version("exthost")
except PackageNotFoundError:  # a checkout that was never installed
    VERSION = "0.0.0"


@router.get("/ping", response_class=PlainTextResponse)
async def ping() -> PlainTextResponse:
    return PlainTextResponse("pong")


@router.get("/info")
async def info(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    who = accountability_of(request)
    data: dict[str, Any] = {"project": {"project_name": "exthost", "project_descriptor": None,
                                        "default_language": "en-US"}}
    if who is not None:
        data["rateLimit"] = (
            {"points": settings.rate_limiter_points, "duration": settings.rate_limiter_duration}
            if settings.rate_limiter_enabled else False
        )
        data["queryLimit"] = {"default": settings.query_limit_default, "max": -1}
        if who.admin:
            data["version"] = VERSION
    return {"data": data}


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    report = await health_report(request.app.state.settings, request.app.state.db, VERSION)
    who = accountability_of(request)
    body = report if who is not None and who.admin else {"status": report["status"]}
    return JSONResponse(
        body,
        status_code=503 if report["status"] == "error" else 200,
        media_type="application/health+json",
        headers={"Cache-Control": "no-cache"},
    )
