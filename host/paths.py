"""Where the project's own files are (the SDK with the prebuilt runtimes)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SDK_PATH = PROJECT_ROOT / "sdk"
CONSOLE_DIST = PROJECT_ROOT / "console" / "dist"
"""The built administrator console (`make build` runs vite in console/), served at /admin."""
