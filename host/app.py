"""`create_app()`: wires the routers, the middleware, the error handler and the lifespan. Nothing else."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from host.api import collections, console, docs, endpoints, extensions, flows, items, jobs, operations, server
from host.api.conditional import ConditionalGetMiddleware
from host.api.cors import cors_options
from host.api.errors import install_error_handlers
from host.api.methods import MethodsMiddleware
from host.api.openapi import install_openapi
from host.api.payload import PayloadLimitMiddleware
from host.api.ratelimit import RateLimitMiddleware
from host.api.requestid import RequestIdMiddleware
from host.config import Settings
from host.extensions.state import Clock
from host.lifespan import lifespan


def create_app(settings: Settings | None = None, *, clock: Clock = time.time) -> FastAPI:
    """`clock` (wall-clock seconds) times quarantines; tests pass their own."""
    # FastAPI's native OpenTelemetry, off: the host exports no telemetry, and checking on every
    # request whether a provider is configured costs about 20 us (most of a cheap request's time)
    no_telemetry: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
    app = FastAPI(title="exthost", lifespan=lifespan, docs_url=None, redoc_url=None, telemetry=no_telemetry)
    app.state.settings = settings = settings or Settings()
    app.state.clock = clock
    install_error_handlers(app)
    # middleware, innermost first (each add_middleware wraps what is there)
    app.add_middleware(console.ConsoleHeaders)  # CSP and no framing on every /admin response
    app.add_middleware(endpoints.EndpointMiddleware)  # /<endpoint-id>/... straight to the extension
    app.add_middleware(ConditionalGetMiddleware)  # ETag, If-None-Match -> 304
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(MethodsMiddleware)  # HEAD as GET without the body, OPTIONS -> Allow
    # MAX_PAYLOAD_SIZE holds for extensions, host routes and unknown routes alike
    app.add_middleware(PayloadLimitMiddleware, max_bytes=settings.max_payload_size)
    app.add_middleware(RateLimitMiddleware)  # RATE_LIMITER_*, before any body is read
    cors = cors_options(settings)
    if cors is not None:
        app.add_middleware(CORSMiddleware, **cors)  # preflights answered here; 429s carry CORS headers
    app.add_middleware(RequestIdMiddleware)  # outermost: every response has X-Request-Id
    app.include_router(server.router)
    app.include_router(extensions.router)
    app.include_router(items.router)
    app.include_router(flows.router)
    app.include_router(operations.router)
    app.include_router(jobs.router)
    app.include_router(collections.collections_router)
    app.include_router(collections.fields_router)
    app.include_router(docs.router)
    install_openapi(app)
    app.include_router(console.router)
    return app
