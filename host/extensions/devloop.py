"""`exthost dev DIR`: build one extension, serve it on a local host, rebuild and reload it on save.

- The host runs over a temporary folder: its `EXTENSIONS_PATH` holds only a link to DIR, its
  data (SQLite) is thrown away at the end; compiled code goes to the user's cache
  (`Settings.cache_path`), as for every command.
- A thread watches DIR (not its built files, `node_modules` or dot folders): on a change it
  runs `exthost build` again and asks the host to reload the extension
  (`POST /extensions/reload` with a token made for this run); a build error is printed and
  the last good version keeps serving.
- The host's log is printed; an error the extension throws is logged with its stack in the
  author's files and lines (`host.extensions.stacks`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from host.extensions.build import BuildError, build_extension
from host.extensions.manifest import Manifest, ManifestError, read_manifest

_IGNORED = frozenset({"dist", "node_modules", "__pycache__", "build"})

Echo = Callable[[str], None]


def _watched(folder: Path) -> Callable[[object, str], bool]:
    def keep(_change: object, path: str) -> bool:
        try:
            parts = Path(path).resolve().relative_to(folder).parts
        except ValueError:
            return False
        return bool(parts) and not any(part in _IGNORED or part.startswith(".") for part in parts)

    return keep


def rebuild(folder: Path, echo: Echo) -> Manifest | None:
    """Build the extension; the manifest when it built, else None (the error printed)."""
    try:
        manifest = read_manifest(folder)
        for path in build_extension(folder, manifest):
            echo(f"exthost dev: built {path.relative_to(folder)}")
    except (ManifestError, BuildError) as exc:
        echo(f"exthost dev: build failed: {exc}")
        return None
    return manifest


def watch(folder: Path, url: str, token: str, stop: threading.Event, echo: Echo) -> None:
    """Rebuild and reload on every change under `folder` until `stop` is set."""
    from watchfiles import watch as watch_files

    for changes in watch_files(folder, watch_filter=_watched(folder), stop_event=stop, debounce=200, step=50):
        names = sorted({str(Path(p).relative_to(folder)) for _c, p in changes if Path(p).is_relative_to(folder)})
        echo(f"exthost dev: changed {', '.join(names)}: rebuilding")
        manifest = rebuild(folder, echo)
        if manifest is None:
            continue
        try:
            answer = httpx.post(f"{url}/extensions/reload", json={"names": [manifest.name]},
                                headers={"Authorization": f"Bearer {token}"}, timeout=300)
        except httpx.HTTPError as exc:
            echo(f"exthost dev: reload failed: {exc}")
            continue
        if answer.status_code != 200:
            echo(f"exthost dev: reload failed: {answer.status_code} {answer.text}")
            continue
        loaded: dict[str, Any] = next((e for e in answer.json()["data"] if e.get("name") == manifest.name), {})
        problem = loaded.get("reload_error") or (loaded.get("error") if loaded.get("runtime") is None else None)
        done = f"not reloaded: {problem}" if problem else "reloaded"
        echo(f"exthost dev: {manifest.name} {done}")


def dev_environment(folder: Path, workdir: Path, host: str, port: int, token: str) -> dict[str, str]:
    """The settings of the dev host, as environment variables (each worker reads its own)."""
    root = workdir / "extensions"
    root.mkdir(parents=True, exist_ok=True)
    link = root / folder.name
    if not link.exists():
        link.symlink_to(folder, target_is_directory=True)
    return {
        "EXTENSIONS_PATH": str(root),
        "DATA_PATH": str(workdir / "data"),
        "DB_URL": "",
        "HOST": host,
        "PORT": str(port),
        "ADMIN_TOKEN": token,
        "EXTENSIONS_AUTO_RELOAD": "false",
    }


def run_dev(folder: Path, host: str, port: int, echo: Echo) -> int:
    """Serve `folder` until interrupted; returns the exit code."""
    from host.serving import serve
    from host.settingsview import load_settings

    folder = folder.resolve()
    manifest = rebuild(folder, echo)
    if manifest is None:
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="exthost-dev-"))
    token = secrets.token_urlsafe(24)
    stop = threading.Event()
    try:
        os.environ.pop("REDIS", None)
        os.environ.update(dev_environment(folder, workdir, host, port, token))
        settings = load_settings()
        settings.data_path.mkdir(parents=True, exist_ok=True)
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        where = f"{url}/{manifest.name}" if manifest.extension.type.value == "endpoint" else url
        echo(f"exthost dev: serving {manifest.name} at {where} (admin token {token}); watching {folder}")
        watcher = threading.Thread(target=watch, args=(folder, url, token, stop, echo), daemon=True)
        watcher.start()
        return serve(host, port, 1, settings.log_level, settings.log_style)
    finally:
        stop.set()
        shutil.rmtree(workdir, ignore_errors=True)
