"""Admin view of the loaded extensions: `GET /extensions`, `PATCH /extensions/{name}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError

from host.api.body import read_json
from host.auth import require_admin
from host.errors import InvalidPayload
from host.extensions.registry import ExtensionRegistry

router = APIRouter(prefix="/extensions", tags=["extensions"], dependencies=[Depends(require_admin)])


def registry_of(request: Request) -> ExtensionRegistry:
    registry: ExtensionRegistry = request.app.state.registry
    return registry


@router.get("")
async def list_extensions(request: Request) -> dict[str, Any]:
    return {"data": [extension.describe() for extension in registry_of(request)]}


class _Meta(BaseModel):
    enabled: bool


class ExtensionUpdate(BaseModel):
    meta: _Meta


@router.patch("/{name:path}")
async def update_extension(name: str, request: Request) -> dict[str, Any]:
    """`{"meta": {"enabled": false}}` (Directus's shape) disables an extension until it is
    enabled again; `true` enables it and lifts a quarantine (faults and back-off reset).
    Stored, so it holds across restarts."""
    try:
        update = ExtensionUpdate.model_validate(await read_json(request))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
        raise InvalidPayload(f"Invalid payload. {problems}") from None
    extension = registry_of(request).get(name)
    if extension.sandbox is None:
        raise InvalidPayload(f'Extension "{name}" is not loaded: {extension.error}')
    await extension.sandbox.set_enabled(update.meta.enabled)
    return {"data": extension.describe()}
