"""Start-up and shut-down: the runtime, the extensions, what they registered.

The job queue's worker starts last, once every kind of job has its handler (action
listeners, flows), and stops first: what it runs is finished or handed back to the
cluster while everything it needs is still open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from host.cluster import ChangeBus, Topic, open_bus
from host.config import Settings
from host.events import Emitter
from host.extensions.activity import Activity, ActivityHandler
from host.extensions.live import LiveExtensions, watch_extensions
from host.extensions.namespace import HostNamespace
from host.extensions.state import ExtensionStates
from host.flows.setup import start_flows, stop_flows
from host.hooks import register_hooks
from host.items import ItemsService
from host.logredact import forget, watch
from host.paths import SDK_PATH
from host.queue import open_queue
from host.runtime import Runtime
from host.storage import Database
from host.wiring import build_endpoints, rewire

log = logging.getLogger("exthost")


async def _flush_activity(activity: Activity, stop: asyncio.Event, every: float = 1.0) -> None:
    """Write what the extensions did to the database once a second (host/extensions/activity.py)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        try:
            await activity.flush()
        except Exception as exc:
            log.warning("writing extension activity failed: %s", exc)


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
    activity = Activity(database)
    app.state.activity = activity
    activity_log = ActivityHandler(activity)
    guest_logger = logging.getLogger("exthost.extension")
    guest_logger.addHandler(activity_log)
    if guest_logger.getEffectiveLevel() > logging.INFO:
        guest_logger.setLevel(logging.INFO)  # what guests log is kept (GET /extensions/{name}/logs)
    live = LiveExtensions(settings.extensions_path, runtime, settings, namespace, states, activity)
    app.state.live = live
    app.state.registry = live.load()
    app.state.endpoints = build_endpoints(app.state.registry)
    register_hooks(emitter, app.state.registry)
    app.state.items = ItemsService(database, emitter)
    await start_flows(app)  # subscribes the flow manager to Topic.flows
    live.rewire = lambda old, new: rewire(app.state, old, new)
    await live.record_grants()

    async def follow() -> None:
        await states.refresh()
        await live.sync()

    bus.subscribe(Topic.extensions, follow)
    await bus.start()
    await queue.start()
    stop_background = asyncio.Event()
    background = [asyncio.create_task(_flush_activity(activity, stop_background), name="exthost-activity")]
    if settings.extensions_auto_reload:
        background.append(asyncio.create_task(watch_extensions(live, stop_background), name="exthost-watch"))
    loaded = sum(1 for _ in app.state.registry.loaded())
    log.info("exthost ready: %d extension(s) loaded from %s", loaded, settings.extensions_path)
    try:
        yield
    finally:
        stop_background.set()
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        guest_logger.removeHandler(activity_log)
        with contextlib.suppress(Exception):
            await activity.flush()
        await queue.stop()
        await bus.stop()
        await stop_flows(app)
        await emitter.stop()
        app.state.registry.close()
        runtime.close()
        database.close()
        forget(settings)
