"""Loads every extension folder under `EXTENSIONS_PATH`.

A broken folder is reported with its name and reason; the others still load.
Problems are found here, at load, not at the first call: the manifest, the
artifact, the runtime, the registration (which must match the kind and stay
within `host.extensions.limits`), and the names (`host.extensions.namespace`:
an endpoint may not take a host route's first segment, an operation not a
built-in operation's id, and no two extensions may claim the same name or
operation id).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path

from host.capabilities import build_capabilities
from host.config import Settings
from host.endpoints.routes import RoutePathError, check_paths
from host.errors import ExthostError
from host.extensions import consent
from host.extensions.activity import Activity
from host.extensions.circuit import QuarantinePolicy, guard
from host.extensions.limits import check_limits
from host.extensions.manifest import Manifest, ManifestError, read_manifest
from host.extensions.namespace import HostNamespace, refuse_clashes
from host.extensions.registry import ExtensionRegistry, LoadedExtension
from host.extensions.state import ExtensionStates
from host.runtime import Runtime
from host.types import ExtensionKind, Registration

log = logging.getLogger("exthost.extensions")

_FOREIGN = {
    ExtensionKind.endpoint: ("filters", "actions", "operation"),
    ExtensionKind.hook: ("routes", "operation"),
    ExtensionKind.operation: ("routes", "filters", "actions"),
}
"""What a registration of each kind may not carry (an operation is its one handler, nothing more)."""


def artifact_path(folder: Path, manifest: Manifest) -> Path:
    relative = manifest.extension.api_path
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ManifestError(f'"path" {relative!r} points outside the extension folder')
    if not path.is_file():
        raise ManifestError(f'"path" {relative!r} does not exist (build the extension first: exthost build {folder})')
    return path


def check_registration(registration: Registration, kind: ExtensionKind) -> None:
    """The registration matches the kind, stays within `host.extensions.limits` and has only paths the table serves."""
    if registration.kind is not kind:
        raise ManifestError(f"the extension registered as {registration.kind.value}, the manifest says {kind.value}")
    if kind is ExtensionKind.endpoint and not registration.routes:
        raise ManifestError("the endpoint registered no routes")
    if kind is ExtensionKind.operation and registration.operation is None:
        raise ManifestError("the operation registered no handler")
    foreign = [part for part in _FOREIGN[kind] if getattr(registration, part)]
    if foreign:
        raise ManifestError(f"{kind.value} extensions may not register {' or '.join(foreign)}")
    beyond = check_limits(registration)
    if beyond is not None:
        raise ManifestError(beyond)
    try:
        check_paths(registration.routes)
    except RoutePathError as exc:
        raise ManifestError(str(exc)) from None


def quarantine_policy(settings: Settings) -> QuarantinePolicy:
    return QuarantinePolicy(settings.extensions_quarantine_after, settings.extensions_quarantine_backoff)


def open_extension(
    folder: Path,
    runtime: Runtime,
    settings: Settings,
    namespace: HostNamespace,
    states: ExtensionStates | None = None,
    activity: Activity | None = None,
) -> LoadedExtension:
    """Load one folder: its sandbox, or the reason it cannot be loaded (never raises). The sandbox is
    guarded by a breaker holding its stored state (`states`; in memory only when not given) and
    runs with its stored grant (host/extensions/consent.py; what it requests when none is stored)."""
    extension = LoadedExtension(name=folder.name, folder=folder, fingerprint=fingerprint(folder))
    try:
        manifest = read_manifest(folder)
        extension.manifest = manifest
        extension.name = manifest.name
        stored = (states or ExtensionStates(None)).get(manifest.name)
        extension.generation, extension.grant_text = stored.generation, stored.granted_scopes
        grant = consent.load(stored.granted_scopes)
        extension.granted = manifest.scopes if grant is None else consent.effective(grant, manifest.scopes)
        extension.pending = {} if grant is None else consent.ungranted(manifest.scopes, grant)
        artifact = artifact_path(folder, manifest)
        capabilities = build_capabilities(manifest.name, extension.granted, settings)
        sandbox = runtime.open(manifest.name, manifest.extension.type, artifact, capabilities)
        try:
            check_registration(sandbox.registration, manifest.extension.type)
            if manifest.extension.type is ExtensionKind.endpoint:
                own = sandbox.registration.id
                refusal = namespace.refusal(manifest.name, own or manifest.name, from_package_name=own is None)
                if refusal is not None:
                    raise ManifestError(refusal)
            operation = sandbox.registration.operation
            if manifest.extension.type is ExtensionKind.operation and operation is not None:
                refusal = namespace.operation_refusal(manifest.name, operation.id)
                if refusal is not None:
                    raise ManifestError(refusal)
        except ManifestError:
            sandbox.close()
            raise
        extension.sandbox = guard(sandbox, states or ExtensionStates(None), quarantine_policy(settings), activity)
    except (ManifestError, ExthostError) as exc:
        extension.error = str(exc)
    except Exception as exc:  # an unexpected failure must not stop the other extensions
        log.exception("unexpected error loading %s", folder)
        extension.error = f"{type(exc).__name__}: {exc}"
    return extension


def report(extension: LoadedExtension) -> None:
    if extension.error:
        log.error("extension %s not loaded: %s", extension.name, extension.error)
    else:
        runtime_name = extension.sandbox.runtime if extension.sandbox else None
        log.info("loaded extension %s (%s, %s)", extension.name, extension.kind, runtime_name)


def load_extension(folder: Path, runtime: Runtime, settings: Settings, namespace: HostNamespace) -> LoadedExtension:
    """Load one folder on its own (`exthost validate`): `namespace` is the host's (`HostNamespace.of_routes`)."""
    extension = open_extension(folder, runtime, settings, namespace)
    report(extension)
    return extension


def fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of the files under `folder` (not `node_modules`)."""
    digest = hashlib.sha256()
    try:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if "node_modules" in relative.parts or not path.is_file():
                continue
            info = path.stat()
            digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    except OSError:
        pass  # vanishing under our feet: the next look sees what is left
    return digest.hexdigest()


def extension_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")) and p.name != "node_modules"
    )


def load_all(
    root: Path,
    runtime: Runtime,
    settings: Settings,
    namespace: HostNamespace,
    states: ExtensionStates,
    activity: Activity | None = None,
) -> ExtensionRegistry:
    """Load every folder under `root`; endpoints may not take `namespace`'s segments nor each other's names."""
    extensions = [
        open_extension(folder, runtime, settings, namespace, states, activity) for folder in extension_folders(root)
    ]
    refuse_clashes(extensions)
    registry = ExtensionRegistry()
    counts = Counter(extension.name for extension in extensions)
    for extension in extensions:
        if extension.sandbox is None and counts[extension.name] > 1:
            extension.name = f"{extension.name} ({extension.folder.name})"
        while extension.name in registry.extensions:  # a folder literally named like a label above
            extension.name = f"{extension.name} ({extension.folder.name})"
        registry.add(extension)
        report(extension)
    return registry
