"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), over
`/openapi.json`. Their scripts and styles are served from the project (the files the
`fastapi-offline` package ships, at `/docs/assets/...`): no page loads anything from
another site."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse

from host.errors import NotFound

router = APIRouter(include_in_schema=False)
ASSETS = Path(str(files("fastapi_offline") / "static"))
_SERVED = {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"}
_PREFIX = "/docs/assets"


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="exthost API",
        swagger_js_url=f"{_PREFIX}/swagger-ui-bundle.js",
        swagger_css_url=f"{_PREFIX}/swagger-ui.css",
        swagger_favicon_url=f"{_PREFIX}/favicon.png",
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="exthost API",
        redoc_js_url=f"{_PREFIX}/redoc.standalone.js",
        redoc_favicon_url=f"{_PREFIX}/favicon.png",
        with_google_fonts=False,
    )


@router.get(_PREFIX + "/{name}")
async def asset(name: str) -> FileResponse:
    if name not in _SERVED:
        raise NotFound(f'No documentation asset "{name[:80]}"')
    media = {"js": "text/javascript", "css": "text/css", "png": "image/png"}[name.rsplit(".", 1)[1]]
    return FileResponse(ASSETS / name, media_type=media, headers={"Cache-Control": "public, max-age=86400"})
