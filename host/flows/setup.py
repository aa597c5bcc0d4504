"""Starting and stopping flows with the host (called from `host.lifespan`)."""

from __future__ import annotations

from fastapi import FastAPI

from host.cluster import ChangeBus, Topic
from host.config import Settings
from host.flows.manager import FlowManager
from host.flows.operations import build_registry
from host.flows.operations.exec import ExecSandboxes
from host.flows.service import FlowService
from host.flows.triggers.webhook_cache import MemoryCache, RedisCache, WebhookCache


async def start_flows(app: FastAPI) -> FlowManager:
    """The operation registry (built-ins, then operation extensions), the manager with
    the active flows and their triggers (reloaded whenever flows change, here or in another
    process), and the service behind /flows and /operations."""
    state = app.state
    settings: Settings = state.settings
    bus: ChangeBus = state.bus
    registry = build_registry(state.registry)
    cache: WebhookCache = MemoryCache()
    if settings.redis and settings.flows_webhook_cache_ttl > 0:
        cache = RedisCache(settings.redis, f"exthost:{bus.namespace}")
    manager = FlowManager(
        settings,
        state.db,
        state.emitter,
        registry,
        state.queue,
        app_state=state,
        exec_sandboxes=ExecSandboxes(settings, settings.data_path / "flows" / "exec"),
        webhook_cache=cache,
    )
    state.flows = manager
    state.flow_service = FlowService(state.db, registry, bus)

    async def reload() -> None:
        revision = bus.seen(Topic.flows)  # what is loaded now is at least this new
        await manager.reload()
        manager.revision = revision

    manager.revision = bus.seen(Topic.flows)
    await manager.start()
    bus.subscribe(Topic.flows, reload)
    return manager


async def stop_flows(app: FastAPI) -> None:
    manager: FlowManager | None = getattr(app.state, "flows", None)
    if manager is not None:
        await manager.stop()
