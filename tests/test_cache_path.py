"""One compiled-code cache per user, unless EXTENSIONS_CACHE_PATH names another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from host.config import Settings
from host.paths import PROJECT_ROOT


def test_the_default_cache_is_the_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXTENSIONS_CACHE_PATH", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first = Settings(_env_file=None, data_path=tmp_path / "one")
    second = Settings(_env_file=None, data_path=tmp_path / "two")
    assert first.cache_path == second.cache_path == tmp_path / "xdg" / "exthost"


def test_extensions_cache_path_overrides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTENSIONS_CACHE_PATH", str(tmp_path / "mine"))
    assert Settings(_env_file=None).cache_path == tmp_path / "mine"


def test_a_first_compile_says_so_and_the_next_command_uses_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "hello"
    env = {**os.environ, "EXTENSIONS_CACHE_PATH": str(tmp_path / "cache"), "DATA_PATH": str(tmp_path / "data")}

    def exthost(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "host.cli", *args], capture_output=True, text=True, env=env,
                              cwd=PROJECT_ROOT, timeout=600, check=False)

    assert exthost("new", "endpoint", "js", str(folder)).returncode == 0
    assert exthost("build", str(folder)).returncode == 0
    first = exthost("validate", str(folder))
    assert first.returncode == 0, first.stderr
    assert "MB of WebAssembly (once: the result is cached in" in first.stderr
    second = exthost("validate", str(folder))
    assert second.returncode == 0, second.stderr
    assert "compiling" not in second.stderr
