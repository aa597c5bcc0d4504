"""Starting and stopping flows with the host (called from `host.lifespan`)."""

from __future__ import annotations

from fastapi import FastAPI

from host.config import Settings
from host.flows.manager import FlowManager
from host.flows.operations import build_registry
from host.flows.operations.exec import ExecSandboxes
from host.flows.service import FlowService


async def start_flows(app: FastAPI) -> FlowManager:
    """The operation registry (built-ins, then operation extensions), the manager with
    the active flows and their triggers, and the service behind /flows and /operations."""
    state = app.state
    settings: Settings = state.settings
    registry = build_registry(state.registry)
    manager = FlowManager(
        settings,
        state.db,
        state.emitter,
        registry,
        state.queue,
        app_state=state,
        exec_sandboxes=ExecSandboxes(settings, settings.data_path / "flows" / "exec"),
    )
    state.flows = manager
    state.flow_service = FlowService(state.db, registry, manager.reload)
    await manager.start()
    return manager


async def stop_flows(app: FastAPI) -> None:
    manager: FlowManager | None = getattr(app.state, "flows", None)
    if manager is not None:
        await manager.stop()
