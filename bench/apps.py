"""The apps the HTTP benchmarks serve: the host, plus the same handlers as native FastAPI routes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from host.app import create_app


def host_with_native_routes() -> FastAPI:
    """The host over EXTENSIONS_PATH, with `/native/greet` doing what the `greet` extension does."""
    app = create_app()

    @app.get("/native/greet")
    async def native_greet() -> PlainTextResponse:
        return PlainTextResponse("Hello, World!", headers={"X-Content-Type-Options": "nosniff"})

    return app
