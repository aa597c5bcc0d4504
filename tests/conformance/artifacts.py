"""The conformance extension of every runtime, built once and cached by source hash.

`cases/<runtime>/` holds the same behaviour written once per language. Source
runtimes (JS, Python) use their files as they are; the others are built with
`host.extensions.build` into `data/test-cache/conformance/`, keyed by the
source, the SDK files it builds with and the builder, so reruns do not rebuild.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from host.extensions.build import build_file
from host.paths import SDK_PATH
from tests.support import TEST_CACHE

CASES = Path(__file__).resolve().parent / "cases"
BUILD_CACHE = TEST_CACHE / "conformance"
KINDS = ("endpoint", "hook", "operation")


@dataclass(frozen=True)
class Runtime:
    """One way to run the conformance extension."""

    label: str
    expected_runtime: str
    sources: dict[str, str]
    """kind -> source file under cases/ (one file may serve every kind)"""
    sdk_files: tuple[str, ...] = ()
    """SDK files (under sdk/) the build depends on, part of the cache key"""
    built: bool = False


RUNTIMES = (
    Runtime("js", "js", {k: f"js/{k}.js" for k in KINDS}),
    Runtime("python", "python", {k: f"python/{k}.py" for k in KINDS}),
    Runtime(
        "js-component",
        "component",
        dict.fromkeys(KINDS, "js_component/extension.js"),
        ("js/package-lock.json", "wit/extension.wit"),
        built=True,
    ),
    Runtime(
        "python-component",
        "component",
        dict.fromkeys(KINDS, "python_component/conformance_component.py"),
        ("wit/extension.wit",),
        built=True,
    ),
    Runtime(
        "assemblyscript",
        "extism",
        dict.fromkeys(KINDS, "assemblyscript/extension.ts"),
        (
            "assemblyscript/assembly/index.ts",
            "assemblyscript/assembly/json.ts",
            "assemblyscript/build.mjs",
            "assemblyscript/package-lock.json",
        ),
        built=True,
    ),
    Runtime("c", "extism", dict.fromkeys(KINDS, "c/extension.c"), ("c/exthost.h",), built=True),
)


def _key(runtime: Runtime, source: Path) -> str:
    digest = hashlib.sha256(runtime.label.encode())
    digest.update(source.read_bytes())
    for name in runtime.sdk_files:
        digest.update((SDK_PATH / name).read_bytes())
    digest.update((Path(__file__).resolve().parents[2] / "host" / "extensions" / "build.py").read_bytes())
    return digest.hexdigest()[:16]


def artifact(runtime: Runtime, kind: str) -> Path:
    """The artifact to load for `kind`: the source itself, or its cached build."""
    source = CASES / runtime.sources[kind]
    if not runtime.built:
        return source
    out = BUILD_CACHE / f"{runtime.label}-{_key(runtime, source)}.wasm"
    if not out.exists():
        BUILD_CACHE.mkdir(parents=True, exist_ok=True)
        build_file(source, out)
    return out


def build_snippet(text: str, suffix: str, sdk_files: tuple[str, ...] = ("c/exthost.h",)) -> Path:
    """Build a source text (a test's own C, Zig, ...) into a cached .wasm."""
    digest = hashlib.sha256(suffix.encode() + text.encode())
    for name in sdk_files:
        digest.update((SDK_PATH / name).read_bytes())
    out = BUILD_CACHE / f"snippet-{digest.hexdigest()[:16]}.wasm"
    if not out.exists():
        BUILD_CACHE.mkdir(parents=True, exist_ok=True)
        source = BUILD_CACHE / f"snippet-{digest.hexdigest()[:16]}{suffix}"
        source.write_text(text, encoding="utf-8")
        build_file(source, out)
    return out
