"""The admin API of extensions (docs/administration.md); every route needs the admin token.

- `GET /extensions`: every extension, with requested, granted and pending scopes.
- `POST /extensions` `{"spec": ..., "granted_scopes"?: "all" | {...}}`: install (or upgrade)
  from the npm registry, a `.tgz` or a folder on the host. 201 with the extension. With
  `Accept: application/x-ndjson` the progress is streamed, one JSON object a line
  (`{"step", "message"}`), the last one `{"data": {...}}` or `{"errors": [...]}`.
- `POST /extensions/reload` `{"names"?: [...]}`: reload from disk, in every process.
- `GET /extensions/{name}`: state, scopes, call counts and timing, recent errors.
- `GET /extensions/{name}/logs?limit=&level=`: recent log lines, oldest first.
- `PATCH /extensions/{name}` `{"meta": {"enabled": bool}, "granted_scopes": {...}}`.
- `DELETE /extensions/{name}`: uninstall (folder and stored state).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, ValidationError

from host.api.body import read_json
from host.auth import require_admin
from host.errors import InvalidPayload, InvalidQuery, NotFound
from host.extensions.activity import LEVELS, LOG_RING, Activity
from host.extensions.circuit import with_enabled
from host.extensions.consent import GrantError
from host.extensions.install import install, set_grant, uninstall
from host.extensions.live import LiveExtensions
from host.extensions.packages import PackageError
from host.extensions.registry import ExtensionRegistry, LoadedExtension

router = APIRouter(prefix="/extensions", tags=["extensions"], dependencies=[Depends(require_admin)])

RECENT_ERRORS = 10


def registry_of(request: Request) -> ExtensionRegistry:
    registry: ExtensionRegistry = request.app.state.registry
    return registry


def live_of(request: Request) -> LiveExtensions:
    live: LiveExtensions = request.app.state.live
    return live


def activity_of(request: Request) -> Activity:
    activity: Activity = request.app.state.activity
    return activity


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())


def describe(request: Request, extension: LoadedExtension) -> dict[str, Any]:
    info = extension.describe()
    stored = live_of(request).states.get(extension.manifest.name if extension.manifest else extension.name)
    info["source"] = stored.source
    return info


@router.get("")
async def list_extensions(request: Request) -> dict[str, Any]:
    return {"data": [describe(request, extension) for extension in registry_of(request)]}


class InstallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spec: str
    granted_scopes: Any = None


@router.post("", status_code=201, response_model=None)
async def install_extension(request: Request) -> dict[str, Any] | StreamingResponse:
    try:
        body = InstallBody.model_validate(await read_json(request))
    except ValidationError as exc:
        raise InvalidPayload(f"Invalid payload. {_problems(exc)}") from None
    live = live_of(request)
    settings = request.app.state.settings

    async def run(progress: Any) -> dict[str, Any]:
        try:
            installed = await install(body.spec, settings, live.states, body.granted_scopes, progress)
        except (PackageError, GrantError) as exc:
            raise InvalidPayload(str(exc)) from None
        await live.sync()
        return {"data": describe(request, registry_of(request).get(installed.name))}

    if "application/x-ndjson" not in request.headers.get("accept", ""):
        return await run(lambda step, message: None)
    return StreamingResponse(_streamed(run), media_type="application/x-ndjson", status_code=202)


async def _streamed(run: Any) -> AsyncIterator[bytes]:
    """The install's progress lines as they come, then its outcome (host/api/errors.py's shape on failure)."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def progress(step: str, message: str) -> None:
        loop.call_soon_threadsafe(lines.put_nowait, {"step": step, "message": message})

    async def outcome() -> dict[str, Any]:
        try:
            result: dict[str, Any] = await run(progress)
            return result
        except InvalidPayload as exc:
            return {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}

    task = asyncio.create_task(outcome())
    while not task.done() or not lines.empty():
        getter = asyncio.ensure_future(lines.get())
        await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            yield (json.dumps(getter.result()) + "\n").encode()
        else:
            getter.cancel()
    yield (json.dumps(task.result()) + "\n").encode()


class ReloadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    names: list[str] | None = None


@router.post("/reload")
async def reload_extensions(request: Request) -> dict[str, Any]:
    """Reload every extension (or `names`) from disk in every process; this one has when it returns."""
    raw = await read_json(request, required=False)
    try:
        body = ReloadBody.model_validate(raw or {})
    except ValidationError as exc:
        raise InvalidPayload(f"Invalid payload. {_problems(exc)}") from None
    registry = registry_of(request)
    for name in body.names or []:
        registry.get(name)  # 404 for an unknown one
    await live_of(request).reload(body.names)
    return {"data": [describe(request, extension) for extension in registry]}


@router.get("/{name:path}/logs")
async def extension_logs(
    name: str, request: Request, limit: int = LOG_RING, level: str | None = None
) -> dict[str, Any]:
    registry_of(request).get(name)
    if not 0 < limit <= LOG_RING:
        raise InvalidQuery(f"limit must be between 1 and {LOG_RING}")
    if level is not None and level not in LEVELS:
        raise InvalidQuery(f"level must be one of {', '.join(LEVELS)}")
    return {"data": await activity_of(request).lines(name, limit, level)}


@router.get("/{name:path}")
async def get_extension(name: str, request: Request) -> dict[str, Any]:
    extension = registry_of(request).get(name)
    activity = activity_of(request)
    info = describe(request, extension)
    info["metrics"] = await activity.metrics(extension.name)
    info["recent_errors"] = await activity.lines(extension.name, RECENT_ERRORS, "error")
    return {"data": info}


class _Meta(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class ExtensionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meta: _Meta | None = None
    granted_scopes: Any = None


@router.patch("/{name:path}")
async def update_extension(name: str, request: Request) -> dict[str, Any]:
    """`{"meta": {"enabled": false}}` (Directus's shape) disables an extension until it is
    enabled again; `true` enables it and lifts a quarantine (faults and back-off reset).
    `granted_scopes` (`"all"`, or the shape of `requestedScopes`, within what it requests)
    replaces its grant; it is reloaded with it in every process. Stored: holds across restarts."""
    try:
        update = ExtensionUpdate.model_validate(await read_json(request))
    except ValidationError as exc:
        raise InvalidPayload(f"Invalid payload. {_problems(exc)}") from None
    if update.meta is None and update.granted_scopes is None:
        raise InvalidPayload('Invalid payload. Give "meta": {"enabled": ...} and/or "granted_scopes"')
    registry = registry_of(request)
    extension = registry.get(name)
    states = live_of(request).states
    enabled = None if update.meta is None else update.meta.enabled
    if update.granted_scopes is not None:
        if extension.manifest is None:
            raise InvalidPayload(f'Extension "{name}" has no readable manifest: {extension.error}')
        try:
            await set_grant(states, extension.manifest.name, extension.manifest.scopes, update.granted_scopes,
                            enable=enabled)
        except GrantError as exc:
            raise InvalidPayload(str(exc)) from None
    elif enabled is not None:
        if extension.sandbox is not None:
            await extension.sandbox.set_enabled(enabled)
        elif extension.manifest is not None:
            await states.transition(extension.manifest.name, lambda s: with_enabled(s, enabled))
        else:
            raise InvalidPayload(f'Extension "{name}" is not loaded: {extension.error}')
    await live_of(request).sync()
    return {"data": describe(request, _current(registry, extension))}


def _current(registry: ExtensionRegistry, extension: LoadedExtension) -> LoadedExtension:
    """The extension as loaded now (a grant reloads it)."""
    try:
        return registry.get(extension.name)
    except NotFound:
        return extension


@router.delete("/{name:path}", status_code=204)
async def uninstall_extension(name: str, request: Request) -> Response:
    registry_of(request).get(name)
    settings = request.app.state.settings
    try:
        await uninstall(name, settings, live_of(request).states)
    except PackageError as exc:
        raise InvalidPayload(str(exc)) from None
    await live_of(request).sync()
    await activity_of(request).forget(name)
    return Response(status_code=204)
