"""Build the Python runtime component: `python sdk/python/build.py [OUT]`.

componentize-py (offline) bundles `runtime/exthost_runtime.py`, the
`directus_api` package and the Python interpreter into one component for the
`extension` world of sdk/wit; default output: sdk/python/dist/runtime.wasm.
The component imports only `exthost:extension/api` and WASI preview 2, which
the host provides (with no files, environment or network).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIT = HERE.parent / "wit"


def componentize(app: str, python_path: list[Path], out: Path) -> None:
    """Run componentize-py for the `extension` world; `app` is the module defining `Guest`."""
    tool = Path(sys.executable).with_name("componentize-py")
    command = [str(tool) if tool.exists() else "componentize-py", "-q", "-d", str(WIT), "-w", "extension"]
    command += ["componentize", app, "-o", str(out)]
    for path in python_path:
        command += ["-p", str(path)]
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"componentize-py failed:\n{result.stderr.strip() or result.stdout.strip()}")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "dist" / "runtime.wasm"
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        shutil.copytree(HERE / "directus_api", staging / "directus_api")
        shutil.copy(HERE / "runtime" / "exthost_runtime.py", staging / "exthost_runtime.py")
        partial = out.with_suffix(".partial")
        componentize("exthost_runtime", [staging], partial)
        partial.replace(out)
    print(f"built {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
