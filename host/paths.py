"""Where the project's own files are (the SDK with the prebuilt runtimes)."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SDK_PATH = PROJECT_ROOT / "sdk"
CONSOLE_DIST = PROJECT_ROOT / "console" / "dist"
"""The built administrator console (`make build` runs vite in console/), served at /admin."""


def user_cache_path() -> Path:
    """The per-user compiled-code cache, used when `EXTENSIONS_CACHE_PATH` is not set by
    `exthost dev` and `host.testing`: `$XDG_CACHE_HOME/exthost` (`~/.cache/exthost`), or
    `%LOCALAPPDATA%\\exthost\\cache` on Windows."""
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "exthost" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "exthost"
