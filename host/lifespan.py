"""Start-up and shut-down: the runtime, the extensions, what they registered."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from host.config import Settings
from host.endpoints.routes import EndpointTable
from host.extensions.loader import endpoint_id, load_all
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.types import ExtensionKind

log = logging.getLogger("exthost")


def build_endpoints(app: FastAPI) -> EndpointTable:
    table = EndpointTable()
    for extension, sandbox in app.state.registry.loaded(ExtensionKind.endpoint):
        table.add(endpoint_id(extension, sandbox), sandbox)
    return table


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    runtime = Runtime(settings, SDK_PATH)
    app.state.runtime = runtime
    app.state.registry = load_all(settings.extensions_path, runtime, settings)
    app.state.endpoints = build_endpoints(app)
    loaded = sum(1 for _ in app.state.registry.loaded())
    log.info("exthost ready: %d extension(s) loaded from %s", loaded, settings.extensions_path)
    try:
        yield
    finally:
        app.state.registry.close()
        runtime.close()
