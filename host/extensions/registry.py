"""What the host has loaded: each extension folder, its sandbox or why it failed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host.errors import NotFound
from host.extensions.circuit import GuardedSandbox
from host.extensions.manifest import Manifest
from host.types import ExtensionKind


@dataclass
class LoadedExtension:
    """One extension folder: loaded (with a sandbox) or broken (with an error)."""

    name: str
    folder: Path
    manifest: Manifest | None = None
    sandbox: GuardedSandbox | None = None
    error: str | None = None

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
            "error": self.error if sandbox is None else sandbox.last_error,
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

    def get(self, name: str) -> LoadedExtension:
        try:
            return self.extensions[name]
        except KeyError:
            raise NotFound(f'No extension named "{name}"') from None

    def close(self) -> None:
        for extension in self.extensions.values():
            if extension.sandbox is not None:
                extension.sandbox.close()
