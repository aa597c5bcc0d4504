"""The loaded extensions while the host runs: reloads, installs, uninstalls and grants.

Every process holds its own sandboxes and converges on the database (the change bus,
`Topic.extensions`): `sync` runs whenever the stored extension states change, here or
in another process, and brings this process in line with them and with the disk:

- an extension whose stored `generation` or grant differs from the one it was loaded
  with is loaded again from its folder (a reload, an install, an upgrade, a grant);
- a folder that appeared is loaded, one that disappeared is unloaded, and a broken
  extension whose files changed is tried again.

A reload opens the new version off the event loop, beside the old one. If it cannot be
loaded (bad manifest, registration that throws, a name another extension claims), the
old version keeps serving and `reload_error` says why. Otherwise the new version takes
the old one's place in the endpoint table, the hook listeners and the flow operations
(`Rewire`), and the old one is retired: the calls it is running finish on it, then it is
closed.

`EXTENSIONS_AUTO_RELOAD=true` watches `EXTENSIONS_PATH` (`watch`): a change to an
extension's files bumps its generation in the database, so every process of the
cluster reloads it, this one included.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import anyio.to_thread

from host.config import Settings
from host.extensions import consent
from host.extensions.activity import Activity
from host.extensions.loader import extension_folders, fingerprint, load_all, open_extension, report
from host.extensions.namespace import HostNamespace, clash
from host.extensions.registry import ExtensionRegistry, LoadedExtension
from host.extensions.state import ExtensionState, ExtensionStates
from host.runtime import Runtime

log = logging.getLogger("exthost.extensions")

Rewire = Callable[[LoadedExtension | None, LoadedExtension | None], None]
"""`rewire(old, new)`: what served `old` (endpoints, hooks, operations) now serves `new`
(either may be None: an extension added or removed)."""


def manifest_name(folder: Path) -> str | None:
    """The package name in `folder/package.json`, when it can be read."""
    try:
        name = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def bump(state: ExtensionState) -> ExtensionState:
    return replace(state, generation=state.generation + 1)


class LiveExtensions:
    def __init__(
        self,
        root: Path,
        runtime: Runtime,
        settings: Settings,
        namespace: HostNamespace,
        states: ExtensionStates,
        activity: Activity,
    ) -> None:
        self.root = root
        self.runtime = runtime
        self.settings = settings
        self.namespace = namespace
        self.states = states
        self.activity = activity
        self.registry = ExtensionRegistry()
        self.rewire: Rewire = lambda old, new: None
        self._lock = asyncio.Lock()

    def load(self) -> ExtensionRegistry:
        """Load every folder (at start-up)."""
        self.registry = load_all(self.root, self.runtime, self.settings, self.namespace, self.states, self.activity)
        return self.registry

    async def record_grants(self) -> None:
        """Extensions no one ever decided about (in `EXTENSIONS_PATH` before consent existed, or
        copied there by hand) are granted what they request: recorded once, so that an upgrade
        asking for more waits for consent."""
        for extension in list(self.registry):
            if extension.manifest is None or extension.grant_text is not None:
                continue
            granted = consent.dump(extension.manifest.scopes)

            def record(state: ExtensionState, granted: str = granted) -> ExtensionState:
                return state if state.granted_scopes is not None else replace(state, granted_scopes=granted)

            state, _ = await self.states.transition(extension.manifest.name, record)
            if state.granted_scopes == granted:
                log.warning("extension %s: no grant was stored; granted what it requests: %s",
                            extension.name, ", ".join(extension.manifest.scopes.describe()) or "nothing")
            extension.grant_text = state.granted_scopes
            extension.generation = state.generation

    # -- converging ---------------------------------------------------------------------

    async def sync(self) -> None:
        """Bring this process in line with the stored states and the disk (the bus's subscriber)."""
        async with self._lock:
            folders = {folder.resolve(): folder for folder in extension_folders(self.root)}
            loaded = {extension.folder.resolve(): extension for extension in self.registry}
            for path, extension in loaded.items():
                if path not in folders:
                    self._unload(extension)
            for path, folder in folders.items():
                current = loaded.get(path)
                if current is None:
                    await self._load(folder, None)
                elif self._stale(current):
                    await self._load(folder, current)
        await self.record_grants()

    def _stale(self, extension: LoadedExtension) -> bool:
        if extension.manifest is None or extension.sandbox is None:
            return fingerprint(extension.folder) != extension.fingerprint  # broken: try again once changed
        stored = self.states.get(extension.manifest.name)
        if extension.grant_text is None and stored.granted_scopes == consent.dump(extension.manifest.scopes):
            extension.grant_text = stored.granted_scopes  # another process recorded what it runs with
        return stored.generation != extension.generation or stored.granted_scopes != extension.grant_text

    async def _load(self, folder: Path, old: LoadedExtension | None) -> None:
        new = await anyio.to_thread.run_sync(
            open_extension, folder, self.runtime, self.settings, self.namespace, self.states, self.activity
        )
        others = [e for e in self.registry if e is not old]
        refusal = clash(new, others) if new.sandbox is not None else None
        if refusal is not None:
            new.sandbox.close() if new.sandbox is not None else None
            new.sandbox, new.error = None, refusal
        if new.sandbox is None and old is not None and old.sandbox is not None:
            self.states.hold(old.sandbox.name, old.sandbox.breaker)  # the old version stays in charge
            old.reload_error = new.error
            old.generation, old.fingerprint, old.grant_text = new.generation, new.fingerprint, new.grant_text
            log.error("extension %s: the new version was not loaded, the old one keeps serving: %s",
                      old.name, new.error)
            self.activity.log(old.name, "error", f"reload failed, the previous version keeps serving: {new.error}")
            return
        if old is not None:
            self._remove(old)
        while new.name in self.registry.extensions:  # a broken folder labelled like another extension
            new.name = f"{new.name} ({folder.name})"
        self.registry.add(new)
        self.rewire(old, new)
        if old is not None and old.sandbox is not None:
            old.sandbox.retire()
        report(new)
        if old is not None:
            log.warning("extension %s reloaded from %s", new.name, folder)

    def _remove(self, extension: LoadedExtension) -> None:
        for key, value in list(self.registry.extensions.items()):
            if value is extension:
                self.registry.remove(key)

    def _unload(self, extension: LoadedExtension) -> None:
        self._remove(extension)
        self.rewire(extension, None)
        if extension.sandbox is not None:
            extension.sandbox.retire()
        log.warning("extension %s unloaded: its folder %s is gone", extension.name, extension.folder)

    # -- asking every process -------------------------------------------------------------

    async def reload(self, names: Iterable[str] | None = None) -> None:
        """Reload `names` (every extension when None) in every process; returns once this one has."""
        chosen = list(names) if names is not None else [e.manifest.name for e in self.registry if e.manifest]
        for name in chosen:
            await self.states.transition(name, bump, refresh_here=False)
        await self.sync()

    async def changed(self, folders: Iterable[Path]) -> None:
        """Files changed in `folders` (the watcher): reload them everywhere (bump their generation)."""
        names = []
        for folder in folders:
            loaded = next((e for e in self.registry if e.folder.resolve() == folder.resolve()), None)
            if loaded is not None and loaded.fingerprint == fingerprint(folder):
                continue  # already loaded as it is now (another process's bump, or our own write)
            name = manifest_name(folder)
            if name is not None:
                names.append(name)
        await self.reload(names)


async def watch_extensions(live: LiveExtensions, stop: asyncio.Event) -> None:
    """`EXTENSIONS_AUTO_RELOAD`: reload the extensions whose files change under `live.root`."""
    from watchfiles import awatch

    root = live.root.resolve()
    log.info("watching %s for extension changes (EXTENSIONS_AUTO_RELOAD)", root)
    async for changes in awatch(root, stop_event=stop, debounce=200, step=50, recursive=True):
        folders = set()
        for _change, path in changes:
            relative = Path(path).resolve().relative_to(root) if Path(path).resolve().is_relative_to(root) else None
            if relative is None or not relative.parts or relative.parts[0].startswith((".", "_")):
                continue
            if "node_modules" in relative.parts:
                continue
            folders.add(root / relative.parts[0])
        if folders:
            try:
                await live.changed(sorted(folders))
            except Exception:
                log.exception("reloading changed extensions failed")
