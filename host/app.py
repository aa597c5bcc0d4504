"""`create_app()`: wires the routers, the endpoint dispatcher, the error handler and the lifespan. Nothing else."""

from __future__ import annotations

import time

from fastapi import FastAPI

from host.api import console, endpoints, extensions, flows, items, jobs, operations, server
from host.api.errors import install_error_handlers
from host.api.payload import PayloadLimitMiddleware
from host.config import Settings
from host.extensions.state import Clock
from host.lifespan import lifespan


def create_app(settings: Settings | None = None, *, clock: Clock = time.time) -> FastAPI:
    """`clock` (wall-clock seconds) times quarantines; tests pass their own."""
    app = FastAPI(title="exthost", lifespan=lifespan)
    app.state.settings = settings = settings or Settings()
    app.state.clock = clock
    install_error_handlers(app)
    app.add_middleware(console.ConsoleHeaders)  # CSP and no framing on every /admin response
    app.add_middleware(endpoints.EndpointMiddleware)  # /<endpoint-id>/... straight to the extension
    # added last, so outermost: MAX_PAYLOAD_SIZE holds for extensions, host routes and unknown routes alike
    app.add_middleware(PayloadLimitMiddleware, max_bytes=settings.max_payload_size)
    app.include_router(server.router)
    app.include_router(extensions.router)
    app.include_router(items.router)
    app.include_router(flows.router)
    app.include_router(operations.router)
    app.include_router(jobs.router)
    app.include_router(console.router)
    return app
