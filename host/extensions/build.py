"""`exthost build DIR`: turn an extension's `source` into its `path`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from host.extensions.manifest import Manifest, ManifestError, SplitPath
from host.paths import SDK_PATH

JS_SUFFIXES = (".js", ".mjs", ".ts", ".mts", ".jsx", ".tsx")


class BuildError(RuntimeError):
    """A build that failed; the message says which file and why."""


def _pairs(manifest: Manifest) -> list[tuple[str, str]]:
    spec = manifest.extension
    if spec.source is None:
        return []
    if isinstance(spec.source, SplitPath) or isinstance(spec.path, SplitPath):
        if not (isinstance(spec.source, SplitPath) and isinstance(spec.path, SplitPath)):
            raise ManifestError('"source" and "path" must both be strings or both be {app, api} objects')
        pairs = [(spec.source.api, spec.path.api)]
        if spec.source.app and spec.path.app:
            pairs.append((spec.source.app, spec.path.app))
        return pairs
    return [(spec.source, spec.path)]


def bundle_js(source: Path, out: Path) -> None:
    script = SDK_PATH / "js" / "bundle-extension.mjs"
    if not (SDK_PATH / "js" / "node_modules" / "esbuild").exists():
        raise BuildError("the JS toolchain is not installed: run `make install` (npm ci in sdk/js)")
    result = subprocess.run(
        ["node", str(script), str(source), str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"{source}: {result.stderr.strip() or result.stdout.strip()}")


def build_file(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix in JS_SUFFIXES:
        bundle_js(source, out)
    elif source.suffix == ".py" or source.suffix == out.suffix:
        shutil.copyfile(source, out)
    else:
        raise BuildError(f"{source}: no builder for {source.suffix} sources into {out.suffix}")


def build_extension(folder: Path, manifest: Manifest) -> list[Path]:
    """Build every source of the extension; returns the artifacts written."""
    written = []
    for source_rel, out_rel in _pairs(manifest):
        source, out = folder / source_rel, folder / out_rel
        if not source.is_file():
            raise BuildError(f'"source" {source_rel!r} does not exist in {folder}')
        build_file(source, out)
        written.append(out)
    return written
