"""Installing, upgrading, uninstalling and granting: what `exthost install|uninstall|grant|revoke`
and the admin API (`POST /extensions`, `DELETE /extensions/{name}`, `PATCH /extensions/{name}`)
do, the same way.

An install stages the package in a dot folder inside `EXTENSIONS_PATH` (which no process
loads), validates it (manifest, sandboxed, artifact present, registry name), then records
its state BEFORE the folder appears: a new extension gets an empty grant and stays disabled
until an administrator grants (`--grant` grants at once); an upgrade keeps its grant, so what
the new version requests beyond it waits (host/extensions/consent.py). Then the folder is
swapped into place and the extension's generation bumped: every process (re)loads it.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio.to_thread

from host.config import Settings
from host.extensions import consent
from host.extensions.consent import GrantError
from host.extensions.live import bump, manifest_name
from host.extensions.loader import artifact_path, extension_folders
from host.extensions.manifest import Manifest, ManifestError, Scopes, read_manifest
from host.extensions.packages import PackageError, Progress, copy_folder, fetch_from_registry, parse_spec, unpack
from host.extensions.state import ExtensionState, ExtensionStates

log = logging.getLogger("exthost.extensions")

_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,213}$")


def folder_name(package: str) -> str:
    """The folder a package is installed in: its name as one clean path segment (`@scope/x` -> `scope-x`)."""
    name = package.removeprefix("@").replace("/", "-")
    if not _FOLDER.match(name) or name in (".", ".."):
        raise PackageError(f"the package name {package!r} cannot be a folder name")
    return name


def quiet(step: str, message: str) -> None:
    return None


@dataclass(frozen=True)
class Installed:
    name: str
    version: str | None
    folder: Path
    source: str
    requested: dict[str, Any]
    granted: dict[str, Any]
    enabled: bool
    upgrade: bool


def _stage(spec: str, staging: Path, settings: Settings, progress: Progress) -> tuple[Manifest, str]:
    parsed = parse_spec(spec)
    source = spec
    if parsed.kind == "registry":
        data, source = fetch_from_registry(parsed, settings, progress)
        progress("unpack", f"unpacking {source}")
        unpack(data, staging, settings)
    elif parsed.kind == "tarball":
        assert parsed.path is not None
        progress("unpack", f"unpacking {parsed.path}")
        size = parsed.path.stat().st_size
        if size > settings.extensions_install_max_bytes:
            raise PackageError("the archive is larger than EXTENSIONS_INSTALL_MAX_BYTES: refused")
        unpack(parsed.path.read_bytes(), staging, settings)
        source = str(parsed.path.resolve())
    else:
        assert parsed.path is not None
        progress("copy", f"copying {parsed.path}")
        copy_folder(parsed.path, staging, settings)
        source = str(parsed.path.resolve())
    progress("validate", "checking the manifest and the artifact")
    try:
        manifest = read_manifest(staging)
        artifact_path(staging, manifest)
    except ManifestError as exc:
        raise PackageError(f"not installable: {exc}") from None
    if parsed.kind == "registry" and manifest.name != parsed.name:
        raise PackageError(f"the registry's {parsed.name!r} holds a package named {manifest.name!r}: refused")
    return manifest, source


def find_folder(root: Path, name: str) -> Path:
    """The folder of the extension `name` (its package name, or its folder's name)."""
    for folder in extension_folders(root):
        if manifest_name(folder) == name:
            return folder
    try:
        candidate = root / folder_name(name)
    except PackageError:
        candidate = None
    if candidate is not None and candidate.is_dir():
        return candidate
    raise PackageError(f'no extension named "{name}" in {root}')


def _swap(staging: Path, target: Path) -> None:
    """Put `staging` where `target` is (replacing it, if there is one)."""
    old = None
    if target.exists():
        old = target.parent / f".replaced-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


async def install(
    spec: str, settings: Settings, states: ExtensionStates, grant: Any = None, progress: Progress = quiet
) -> Installed:
    """Install `spec` into `EXTENSIONS_PATH`; `grant` ("all" or a scopes object) grants and enables at once."""
    root = settings.extensions_path
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".install-{uuid.uuid4().hex[:12]}"
    try:
        manifest, source = await anyio.to_thread.run_sync(_stage, spec, staging, settings, progress)
        requested = manifest.scopes
        shown = ", ".join(requested.describe()) or "nothing"
        progress("scopes", f"{manifest.name} requests: {shown} ({consent.dump(requested)})")
        target = root / folder_name(manifest.name)
        present = manifest_name(target) if target.exists() else None
        if target.exists() and present != manifest.name:
            raise PackageError(f"{target} already holds another extension ({present or 'unreadable'}): refused")
        try:
            given = None if grant is None else consent.parse_grant(grant, requested)
        except GrantError as exc:
            raise PackageError(str(exc)) from None

        def decide(state: ExtensionState) -> ExtensionState:
            fresh = state.granted_scopes is None
            if given is not None:
                return replace(state, granted_scopes=consent.dump(given), enabled=True, source=source)
            if fresh:
                return replace(state, granted_scopes=consent.dump(Scopes()), enabled=False, source=source)
            return replace(state, source=source)

        before = states.get(manifest.name)
        state, _ = await states.transition(manifest.name, decide)
        progress("install", f"installing into {target}")
        await anyio.to_thread.run_sync(_swap, staging, target)
        await states.transition(manifest.name, bump, refresh_here=True)
        granted = consent.load(state.granted_scopes) or Scopes()
        pending = consent.ungranted(requested, granted)
        if pending:
            progress("consent", f"waiting for consent to: {json.dumps(pending)}")
        return Installed(
            manifest.name, manifest.version, target, source, requested.describe(),
            consent.effective(granted, requested).describe(), state.enabled, before.granted_scopes is not None,
        )
    finally:
        if staging.exists():
            await anyio.to_thread.run_sync(lambda: shutil.rmtree(staging, ignore_errors=True))


async def uninstall(name: str, settings: Settings, states: ExtensionStates) -> Path:
    """Remove the extension `name`'s folder, then its stored state (grant included)."""
    folder = find_folder(settings.extensions_path, name)
    package = manifest_name(folder) or name
    trash = folder.parent / f".uninstall-{uuid.uuid4().hex[:8]}"
    folder.rename(trash)
    await anyio.to_thread.run_sync(lambda: shutil.rmtree(trash, ignore_errors=True))
    await states.forget(package)
    return folder


def requested_by(settings: Settings, name: str) -> tuple[str, Scopes]:
    folder = find_folder(settings.extensions_path, name)
    try:
        manifest = read_manifest(folder)
    except ManifestError as exc:
        raise PackageError(f"{name}: {exc}") from None
    return manifest.name, manifest.scopes


async def set_grant(
    states: ExtensionStates, name: str, requested: Scopes, grant: Any, *, enable: bool | None = None
) -> ExtensionState:
    """Store `grant` (checked against `requested`); `enable` also enables or disables. Every process reloads it."""
    given = consent.parse_grant(grant, requested)

    def decide(state: ExtensionState) -> ExtensionState:
        new = replace(state, granted_scopes=consent.dump(given))
        return new if enable is None else replace(new, enabled=enable)

    state, _ = await states.transition(name, decide, refresh_here=True)
    return state


def current_grant(states: ExtensionStates, name: str, requested: Scopes) -> Scopes:
    """What `name` is granted now (what it requests when nothing is stored)."""
    stored = consent.load(states.get(name).granted_scopes)
    return requested if stored is None else stored


def widened(grant: Scopes, requested: Scopes, scopes: Iterable[str], urls: Iterable[str],
            methods: Iterable[str]) -> dict[str, Any]:
    """`grant` plus the capabilities `scopes` (`all`: everything requested); `urls`/`methods` narrow
    what `request` gets (default: what it requests)."""
    wanted = set(scopes)
    if "all" in wanted:
        wanted = set(requested.describe())
    unknown = wanted - set(consent.CAPABILITIES)
    if unknown:
        raise GrantError(f"unknown scope(s) {sorted(unknown)}: use {', '.join(consent.CAPABILITIES)} or all")
    out = grant.describe()
    for name in wanted - {"request"}:
        out[name] = {}
    url_list, method_list = list(urls), [m.upper() for m in methods]
    if "request" in wanted or url_list or method_list:
        if requested.request is None:
            raise GrantError('"request" was not requested')
        out["request"] = {
            "urls": url_list or list(requested.request.urls),
            "methods": method_list or list(requested.request.methods),
        }
    return out
