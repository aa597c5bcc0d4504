"""`exthost new KIND LANGUAGE DIR` writes an extension that builds and passes its generated test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from host.cli import app
from host.extensions.scaffold import LANGUAGES

KINDS = ("endpoint", "hook", "operation")


@pytest.mark.parametrize("language", LANGUAGES)
def test_scaffolded_extension_builds_and_passes_its_test(tmp_path: Path, language: str) -> None:
    kind = KINDS[LANGUAGES.index(language) % len(KINDS)]  # every kind, every language, without 15 builds
    folder = tmp_path / f"my-{language}-{kind}"
    result = CliRunner().invoke(app, ["new", kind, language, str(folder)])
    assert result.exit_code == 0, result.output
    generated = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder), str(folder)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-2000:]


def test_refuses_an_unknown_language_and_a_non_empty_folder(tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["new", "endpoint", "cobol", str(tmp_path / "x")]).exit_code == 1
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    result = CliRunner().invoke(app, ["new", "endpoint", "js", str(tmp_path / "taken")])
    assert result.exit_code == 1
    assert "not empty" in result.output
