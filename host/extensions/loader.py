"""Loads every extension folder under `EXTENSIONS_PATH`.

A broken folder is reported with its name and reason; the others still load.
Problems are found here, at load, not at the first call: the manifest, the
artifact, the runtime, and the registration (which must match the kind).
"""

from __future__ import annotations

import logging
from pathlib import Path

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import ExthostError
from host.extensions.circuit import QuarantinePolicy, guard
from host.extensions.manifest import Manifest, ManifestError, read_manifest
from host.extensions.registry import ExtensionRegistry, LoadedExtension
from host.extensions.state import ExtensionStates
from host.runtime import Runtime
from host.sandbox import Sandbox
from host.types import ExtensionKind, Registration

log = logging.getLogger("exthost.extensions")

RESERVED_IDS = frozenset({"items", "flows", "operations", "extensions", "server", "docs", "openapi.json", "auth"})


def artifact_path(folder: Path, manifest: Manifest) -> Path:
    relative = manifest.extension.api_path
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ManifestError(f'"path" {relative!r} points outside the extension folder')
    if not path.is_file():
        raise ManifestError(f'"path" {relative!r} does not exist (build the extension first: exthost build {folder})')
    return path


def check_registration(registration: Registration, kind: ExtensionKind) -> None:
    if registration.kind is not kind:
        raise ManifestError(f"the extension registered as {registration.kind.value}, the manifest says {kind.value}")
    if kind is ExtensionKind.endpoint and not registration.routes:
        raise ManifestError("the endpoint registered no routes")
    if kind is ExtensionKind.operation and registration.operation is None:
        raise ManifestError("the operation registered no handler")
    if kind is ExtensionKind.endpoint and registration.id in RESERVED_IDS:
        raise ManifestError(f'endpoint id "{registration.id}" is reserved by the host')


def endpoint_id(extension: LoadedExtension, sandbox: Sandbox) -> str:
    return sandbox.registration.id or extension.name


def quarantine_policy(settings: Settings) -> QuarantinePolicy:
    return QuarantinePolicy(settings.extensions_quarantine_after, settings.extensions_quarantine_backoff)


def load_extension(
    folder: Path, runtime: Runtime, settings: Settings, states: ExtensionStates | None = None
) -> LoadedExtension:
    """Load one folder; its sandbox is guarded by a breaker holding its stored state
    (`states`; in memory only when not given)."""
    extension = LoadedExtension(name=folder.name, folder=folder)
    try:
        manifest = read_manifest(folder)
        extension.manifest = manifest
        extension.name = manifest.name
        artifact = artifact_path(folder, manifest)
        capabilities = build_capabilities(manifest.name, manifest.scopes, settings)
        sandbox = runtime.open(manifest.name, manifest.extension.type, artifact, capabilities)
        try:
            check_registration(sandbox.registration, manifest.extension.type)
        except ManifestError:
            sandbox.close()
            raise
        extension.sandbox = guard(sandbox, states or ExtensionStates(None), quarantine_policy(settings))
    except (ManifestError, ExthostError) as exc:
        extension.error = str(exc)
    except Exception as exc:  # an unexpected failure must not stop the other extensions
        log.exception("unexpected error loading %s", folder)
        extension.error = f"{type(exc).__name__}: {exc}"
    if extension.error:
        log.error("extension %s not loaded: %s", extension.name, extension.error)
    else:
        runtime_name = extension.sandbox.runtime if extension.sandbox else None
        log.info("loaded extension %s (%s, %s)", extension.name, extension.kind, runtime_name)
    return extension


def extension_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")) and p.name != "node_modules"
    )


def load_all(root: Path, runtime: Runtime, settings: Settings, states: ExtensionStates) -> ExtensionRegistry:
    registry = ExtensionRegistry()
    for folder in extension_folders(root):
        extension = load_extension(folder, runtime, settings, states)
        if extension.name in registry.extensions:
            extension.error = f'another extension is already named "{extension.name}"'
            if extension.sandbox:
                extension.sandbox.close()
                extension.sandbox = None
            extension.name = f"{extension.name} ({folder.name})"
        registry.add(extension)
    return registry
