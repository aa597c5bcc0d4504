"""The administrator console at `/admin`: the built page and its assets (console/dist).

Every asset is a file of the project (built by vite, no CDN), so every `/admin` response
carries a strict Content-Security-Policy: scripts, styles and API calls from this origin
only, no inline script, no framing. The console signs in with the admin token kept in the
browser's session storage and sends it as a Bearer header; these routes themselves need no
token (the page is the same for everyone, the data behind it is admin-only).
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from host.errors import ConsoleNotBuilt, RouteNotFound
from host.paths import CONSOLE_DIST

PREFIX = "/admin"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)

_ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
"""An asset vite wrote (`index-<hash>.js`): one segment, no dot first, so nothing outside assets/."""

router = APIRouter(prefix=PREFIX, tags=["console"], include_in_schema=False)


def _built(dist: Path) -> Path:
    index = dist / "index.html"
    if not index.is_file():
        raise ConsoleNotBuilt(f"The console is not built: run `make build` (it writes {dist}).")
    return index


@router.get("")
@router.get("/")
async def console_page() -> FileResponse:
    return FileResponse(_built(CONSOLE_DIST), media_type="text/html", headers={"Cache-Control": "no-store"})


@router.get("/assets/{name}")
async def console_asset(name: str) -> FileResponse:
    _built(CONSOLE_DIST)
    path = CONSOLE_DIST / "assets" / name
    if not _ASSET_NAME.match(name) or not path.is_file():
        raise RouteNotFound(f'Route "{PREFIX}/assets/{name}" doesn\'t exist.')
    # the name holds the content's hash: a new build is a new name
    return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable"})


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ConsoleHeaders:
    """Adds `SECURITY_HEADERS` to every response under `/admin` (errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in SECURITY_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
