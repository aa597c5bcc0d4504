"""`exthost new KIND LANGUAGE DIR` writes an extension that builds and passes its generated test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.cli import app
from host.extensions.scaffold import LANGUAGES
from tests.support import TEST_CACHE

KINDS = ("endpoint", "hook", "operation")


def run_pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    """The generated tests, run as an author would (the compiled-code cache shared with ours)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder), str(folder)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "EXTENSIONS_CACHE_PATH": str(TEST_CACHE)},
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_scaffolded_extension_builds_and_passes_its_test(tmp_path: Path, language: str) -> None:
    kind = KINDS[LANGUAGES.index(language) % len(KINDS)]  # every kind, every language, without 15 builds
    folder = tmp_path / f"my-{language}-{kind}"
    result = CliRunner().invoke(app, ["new", kind, language, str(folder)])
    assert result.exit_code == 0, result.output
    generated = run_pytest(folder)
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-2000:]
    assert "1 passed" in generated.stdout


@pytest.mark.parametrize("language", ["js", "ts"])
def test_scaffolded_extensions_side_by_side_are_tested_in_one_run(tmp_path: Path, language: str) -> None:
    for kind in KINDS:
        result = CliRunner().invoke(app, ["new", kind, language, str(tmp_path / f"shop-{kind}")])
        assert result.exit_code == 0, result.output
    generated = run_pytest(tmp_path)
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-2000:]
    assert "3 passed" in generated.stdout


def test_refuses_an_unknown_language_and_a_non_empty_folder(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["new", "endpoint", "cobol", str(tmp_path / "x")]).exit_code == 1
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    result = CliRunner().invoke(app, ["new", "endpoint", "js", str(tmp_path / "taken")])
    assert result.exit_code == 1
    assert "not empty" in result.output
