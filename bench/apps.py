"""The apps the HTTP benchmarks serve: the host, plus the same handlers as native FastAPI routes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from host.app import create_app


def host_with_native_routes() -> FastAPI:
    """The host over EXTENSIONS_PATH, with `/native/...` doing what the benchmark extensions do:
    `/native/greet` as the `greet` example, `/native/in` and `/native/out/{n}` as the body
    endpoints of bench/endpoint.py (`BODIES_JS`, `BODIES_PY`)."""
    app = create_app()

    @app.get("/native/greet")
    async def native_greet() -> PlainTextResponse:
        return PlainTextResponse("Hello, World!", headers={"X-Content-Type-Options": "nosniff"})

    @app.post("/native/in")
    async def native_in(request: Request) -> PlainTextResponse:
        body = (await request.body()).decode("utf-8")
        return PlainTextResponse(str(len(body)), headers={"X-Content-Type-Options": "nosniff"})

    @app.get("/native/out/{n}")
    async def native_out(n: int) -> PlainTextResponse:
        return PlainTextResponse("x" * n, headers={"X-Content-Type-Options": "nosniff"})

    return app
