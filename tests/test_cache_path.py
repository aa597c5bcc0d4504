"""One compiled-code cache per user, unless EXTENSIONS_CACHE_PATH names another."""

from __future__ import annotations

from pathlib import Path

import pytest

from host.config import Settings


def test_the_default_cache_is_the_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXTENSIONS_CACHE_PATH", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    first = Settings(_env_file=None, data_path=tmp_path / "one")
    second = Settings(_env_file=None, data_path=tmp_path / "two")
    assert first.cache_path == second.cache_path == tmp_path / "xdg" / "exthost"


def test_extensions_cache_path_overrides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTENSIONS_CACHE_PATH", str(tmp_path / "mine"))
    assert Settings(_env_file=None).cache_path == tmp_path / "mine"
