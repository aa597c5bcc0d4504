"""`exthost build DIR`: turn an extension's `source` into its `path`.

The builder is chosen from the source's suffix and the artifact's:

| source            | path    | builder                                                      |
|-------------------|---------|--------------------------------------------------------------|
| .js .mjs .ts ...  | .js     | esbuild bundle for the JS runtime (sdk/js)                   |
| .py               | .py     | copied: runs in the Python runtime component                 |
| .ts               | .wasm   | AssemblyScript Extism plugin (sdk/assemblyscript)            |
| .c                | .wasm   | C Extism plugin, zig cc from the ziglang wheel (sdk/c)       |
| .zig              | .wasm   | Zig Extism plugin, zig build-exe + sdk/c/exthost.h           |
| .js .mjs          | .wasm   | standalone component for the sdk/wit world (componentize-js) |
| .py               | .wasm   | standalone component for the sdk/wit world (componentize-py) |
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from host.extensions.manifest import Manifest, ManifestError, SplitPath
from host.paths import SDK_PATH

JS_SUFFIXES = (".js", ".mjs", ".ts", ".mts", ".jsx", ".tsx")
BUILD_TIMEOUT_S = 600


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


def _run(command: list[str], source: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False, cwd=cwd, env=env
        )
    except FileNotFoundError as exc:
        raise BuildError(f"{source}: cannot run {command[0]}: {exc}") from None
    if result.returncode != 0:
        raise BuildError(f"{source}: {result.stderr.strip() or result.stdout.strip()}")


def _need(path: Path, what: str) -> None:
    if not path.exists():
        raise BuildError(f"the {what} toolchain is not installed: run `make install`")


TS_SUFFIXES = (".ts", ".mts", ".tsx")
TSC = SDK_PATH / "js" / "node_modules" / ".bin" / "tsc"
DECLARATIONS = SDK_PATH / "js" / "directus-api.d.ts"
_TSC_ERROR = re.compile(r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+),(?P<column>\d+)\): (?P<message>error .*)$")


def typecheck(source: Path) -> None:
    """Type-check a TypeScript source with tsc (the extension's `tsconfig.json` when it has one,
    with the `directus:api` declarations); raises `BuildError` listing `file:line:column: error`."""
    folder = _project_folder(source)
    options: dict[str, object] = {
        "noEmit": True, "strict": True, "module": "ESNext", "target": "ES2022", "moduleResolution": "Bundler",
        "skipLibCheck": True, "types": [],
    }
    config: dict[str, object] = {"compilerOptions": options, "files": [str(source.resolve()), str(DECLARATIONS)]}
    own = folder / "tsconfig.json"
    if own.is_file():
        config = {"extends": str(own.resolve()), "compilerOptions": {"noEmit": True}, "files": config["files"]}
    with tempfile.TemporaryDirectory(prefix="exthost-tsc-") as scratch:
        project = Path(scratch) / "tsconfig.json"
        project.write_text(json.dumps(config), encoding="utf-8")
        try:
            result = subprocess.run(
                [str(TSC), "-p", str(project), "--pretty", "false"], capture_output=True, text=True,
                timeout=BUILD_TIMEOUT_S, check=False, cwd=folder,
            )
        except FileNotFoundError as exc:
            raise BuildError(f"{source}: cannot run tsc: {exc}") from None
    if result.returncode == 0:
        return
    lines = []
    for line in (result.stdout + result.stderr).splitlines():
        found = _TSC_ERROR.match(line.strip())
        lines.append(f"{found['file']}:{found['line']}:{found['column']}: {found['message']}" if found else line)
    raise BuildError(f"{source.name}: type errors:\n" + "\n".join(lines))


def _project_folder(source: Path) -> Path:
    """The extension folder of `source`: the nearest folder above it with a package.json."""
    for folder in source.resolve().parents:
        if (folder / "package.json").is_file():
            return folder
    return source.resolve().parent


def bundle_js(source: Path, out: Path) -> None:
    _need(SDK_PATH / "js" / "node_modules" / "esbuild", "JS")
    if source.suffix.lower() in TS_SUFFIXES and TSC.exists():
        typecheck(source)
    _run(["node", str(SDK_PATH / "js" / "bundle-extension.mjs"), str(source), str(out)], source)


def build_assemblyscript(source: Path, out: Path) -> None:
    sdk = SDK_PATH / "assemblyscript"
    _need(sdk / "node_modules" / "assemblyscript", "AssemblyScript (npm ci in sdk/assemblyscript)")
    _run(["node", str(sdk / "build.mjs"), str(source), str(out)], source)


def _zig() -> list[str]:
    return [sys.executable, "-m", "ziglang"]


def _zig_env(work: Path) -> dict[str, str]:
    cache = SDK_PATH.parent / "data" / "zig-cache"
    return {**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(cache), "ZIG_LOCAL_CACHE_DIR": str(work / "zig-cache")}


def build_c(source: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        command = [*_zig(), "cc", "--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-s"]
        command += ["-Wl,-z,stack-size=65536", "-I", str(SDK_PATH / "c"), "-o", str(out), str(source)]
        _run(command, source, env=_zig_env(Path(tmp)))


_IMPORT_MODULES = {"extism_": "extism:host/env", "exthost_host_": "directus:api"}
_EXTERN = re.compile(r"^pub extern fn ((extism_|exthost_host_)(\w+))\((.*)\) (.+);$", re.MULTILINE)


def _zig_bindings(work: Path) -> Path:
    """sdk/c/exthost.h as a Zig module (Zig 0.17 has no @cImport): translate-c, then restore the
    wasm import module and name of the Extism and directus:api imports, which translate-c drops.
    Cached by the header's hash."""
    header = SDK_PATH / "c" / "exthost.h"
    cache = SDK_PATH.parent / "data" / "zig-cache"
    bindings = cache / f"exthost-{hashlib.sha256(header.read_bytes()).hexdigest()[:16]}.zig"
    if bindings.exists():
        return bindings
    result = subprocess.run(
        [*_zig(), "translate-c", "-target", "wasm32-wasi", "-lc", "-I", str(header.parent), str(header)],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False, env=_zig_env(work),
    )
    if result.returncode != 0:
        raise BuildError(f"sdk/c/exthost.h: {result.stderr.strip()}")

    def extern(match: re.Match[str]) -> str:
        name, prefix, import_name, params, returns = match.groups()
        return (
            f"pub const {name} = @extern(*const fn ({params}) callconv(.c) {returns}, "
            f'.{{ .name = "{import_name}", .library_name = "{_IMPORT_MODULES[prefix]}" }});'
        )

    cache.mkdir(parents=True, exist_ok=True)
    partial = bindings.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(_EXTERN.sub(extern, result.stdout), encoding="utf-8")
    partial.replace(bindings)
    return bindings


def build_zig(source: Path, out: Path) -> None:
    """A Zig Extism plugin: `const exthost = @import("exthost");` gives sdk/c/exthost.h."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bindings = _zig_bindings(work)
        target = ["-target", "wasm32-wasi", "-O", "ReleaseSmall", "-lc"]
        command = [*_zig(), "build-exe", *target, "-fno-entry", "--export=register", "--export=invoke"]
        command += ["--stack", "65536", f"-femit-bin={out.resolve()}", "--dep", "exthost"]
        command += [f"-Mroot={source.resolve()}", *target, f"-Mexthost={bindings}"]
        _run(command, source, cwd=work, env=_zig_env(work))


def componentize_js(source: Path, out: Path) -> None:
    """A JS module written against the sdk/wit world (it exports `guest`) as a standalone component."""
    js = SDK_PATH / "js"
    _need(js / "node_modules" / "@bytecodealliance" / "componentize-js", "JS")
    script = (
        "import { componentize } from '@bytecodealliance/componentize-js';"
        "import { writeFile } from 'node:fs/promises';"
        "const [src, wit, out] = process.argv.slice(1);"
        "const { component } = await componentize({ sourcePath: src, witPath: wit, worldName: 'extension',"
        " disableFeatures: ['stdio', 'http', 'fetch-event'] });"
        "await writeFile(out, component);"
    )
    _run(
        ["node", "--input-type=module", "-e", script, str(source.resolve()), str(SDK_PATH / "wit"), str(out.resolve())],
        source,
        cwd=js,
    )


def componentize_python(source: Path, out: Path) -> None:
    """A Python module written against the sdk/wit world (it defines `Guest`) as a standalone component."""
    tool = Path(sys.executable).with_name("componentize-py")
    command = [str(tool) if tool.exists() else "componentize-py", "-q", "-d", str(SDK_PATH / "wit")]
    command += ["-w", "extension", "componentize", source.stem, "-p", str(source.parent), "-o", str(out.resolve())]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    _run(command, source, cwd=source.parent, env=env)


def _copy(source: Path, out: Path) -> None:
    shutil.copyfile(source, out)


def build_file(source: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix, target = source.suffix.lower(), out.suffix.lower()
    if target == ".wasm":
        builders = {
            ".ts": build_assemblyscript,
            ".c": build_c,
            ".zig": build_zig,
            ".js": componentize_js,
            ".mjs": componentize_js,
            ".py": componentize_python,
            ".wasm": _copy,
        }
        if suffix not in builders:
            raise BuildError(f"{source}: no builder for {suffix} sources into .wasm")
        partial = out.with_name(out.name + ".partial")
        try:
            builders[suffix](source, partial)
            partial.replace(out)
        finally:
            partial.unlink(missing_ok=True)
    elif suffix in JS_SUFFIXES:
        bundle_js(source, out)
    elif suffix == ".py" or suffix == target:
        shutil.copyfile(source, out)
    else:
        raise BuildError(f"{source}: no builder for {suffix} sources into {target}")


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
