"""What the host has loaded: each extension folder, its sandbox or why it failed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.errors import NotFound
from host.extensions.circuit import GuardedSandbox
from host.extensions.manifest import Manifest, Scopes
from host.types import ExtensionKind


@dataclass
class LoadedExtension:
    """One extension folder: loaded (with a sandbox) or broken (with an error)."""

    name: str
    folder: Path
    manifest: Manifest | None = None
    sandbox: GuardedSandbox | None = None
    error: str | None = None
    granted: Scopes | None = None
    """What it runs with: its grant narrowed to what it requests (host/extensions/consent.py)."""
    pending: dict[str, Any] = field(default_factory=dict)
    """What it requests beyond its grant: waiting for the administrator's consent."""
    grant_text: str | None = None
    """The stored grant it was loaded with (None: none was stored)."""
    generation: int = 0
    """The stored generation it was loaded at; a newer one makes every process reload it."""
    fingerprint: str = ""
    """Its files (names, sizes, modification times) when loaded: a change means a reload."""
    reload_error: str | None = None
    """Why the last reload failed (the version loaded before keeps serving)."""

    @property
    def kind(self) -> ExtensionKind | None:
        return self.manifest.extension.type if self.manifest else None

    @property
    def status(self) -> str:
        if self.sandbox is None:
            return "error"
        return self.sandbox.status.value

    def describe(self) -> dict[str, Any]:
        """The `GET /extensions` view of this extension (with its breaker's state when loaded)."""
        sandbox = self.sandbox
        return {
            "name": self.name,
            "type": self.kind.value if self.kind else None,
            "version": self.manifest.version if self.manifest else None,
            "runtime": sandbox.runtime if sandbox else None,
            "status": self.status,
            "requested_scopes": self.manifest.scopes.describe() if self.manifest else {},
            "granted_scopes": self.granted.describe() if self.granted is not None else {},
            "pending_scopes": self.pending,
            "error": self.error if sandbox is None else sandbox.last_error,
            "reload_error": self.reload_error,
            **(sandbox.breaker.describe() if sandbox else {}),
        }


@dataclass
class ExtensionRegistry:
    extensions: dict[str, LoadedExtension] = field(default_factory=dict)

    def add(self, extension: LoadedExtension) -> None:
        self.extensions[extension.name] = extension

    def __iter__(self) -> Iterator[LoadedExtension]:
        return iter(self.extensions.values())

    def loaded(self, kind: ExtensionKind | None = None) -> Iterator[tuple[LoadedExtension, GuardedSandbox]]:
        for extension in self.extensions.values():
            if extension.sandbox is not None and (kind is None or extension.kind is kind):
                yield extension, extension.sandbox

    def remove(self, name: str) -> None:
        self.extensions.pop(name, None)

    def get(self, name: str) -> LoadedExtension:
        try:
            return self.extensions[name]
        except KeyError:
            raise NotFound(f'No extension named "{name}"') from None

    def close(self) -> None:
        for extension in self.extensions.values():
            if extension.sandbox is not None:
                extension.sandbox.close()
