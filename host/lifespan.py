"""Start-up and shut-down: the runtime, the extensions, what they registered.

The job queue's worker starts last, once every kind of job has its handler (action
listeners, flows), and stops first: what it runs is finished or handed back to the
cluster while everything it needs is still open."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from host.cluster import ChangeBus, Topic, open_bus
from host.config import Settings
from host.endpoints.routes import EndpointTable
from host.events import Emitter
from host.extensions.loader import load_all
from host.extensions.namespace import HostNamespace, endpoint_id
from host.extensions.registry import ExtensionRegistry
from host.extensions.state import ExtensionStates
from host.flows.setup import start_flows, stop_flows
from host.hooks import register_hooks
from host.items import ItemsService
from host.logredact import forget, watch
from host.paths import SDK_PATH
from host.queue import open_queue
from host.runtime import Runtime
from host.storage import Database
from host.types import ExtensionKind

log = logging.getLogger("exthost")


def build_endpoints(registry: ExtensionRegistry) -> EndpointTable:
    table = EndpointTable()
    for extension, sandbox in registry.loaded(ExtensionKind.endpoint):
        table.add(endpoint_id(extension, sandbox), sandbox)
    return table


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    watch(settings)  # no log record shows a configured secret (host/logredact.py)
    # the host's namespace, derived first (nothing is open yet if it cannot be): every route and
    # router the app has by the time it starts
    namespace = HostNamespace.of_routes(app.routes)
    database = Database(settings.database_url)
    await anyio.to_thread.run_sync(database.migrate)
    app.state.db = database
    # revisions marked before anything is loaded: every later change is caught up with in bus.start()
    bus: ChangeBus = await open_bus(settings, database)
    app.state.bus = bus
    queue = open_queue(settings, database)
    app.state.queue = queue
    emitter = Emitter(queue)
    await emitter.start()
    app.state.emitter = emitter
    runtime = Runtime(settings, SDK_PATH)
    app.state.runtime = runtime
    states = ExtensionStates(bus, app.state.clock)
    await states.load()
    bus.subscribe(Topic.extensions, states.refresh)
    app.state.registry = load_all(settings.extensions_path, runtime, settings, namespace, states)
    app.state.endpoints = build_endpoints(app.state.registry)
    register_hooks(emitter, app.state.registry)
    app.state.items = ItemsService(database, emitter, settings.max_json_depth)
    await start_flows(app)  # subscribes the flow manager to Topic.flows
    await bus.start()
    await queue.start()
    loaded = sum(1 for _ in app.state.registry.loaded())
    log.info("exthost ready: %d extension(s) loaded from %s", loaded, settings.extensions_path)
    try:
        yield
    finally:
        await queue.stop()
        await bus.stop()
        await stop_flows(app)
        await emitter.stop()
        app.state.registry.close()
        runtime.close()
        database.close()
        forget(settings)
