"""Security: memory bound. The host's peak resident memory while extensions try to allocate past
`EXTENSIONS_SANDBOX_MEMORY`, against the bound the limit promises: pool size x limit above what
the host holds with the same instances idle.

Each guest runs in a child process of its own (a clean peak), with `POOL` instances bombing at
once for `ROUNDS` rounds (a faulted instance is replaced, so every round starts fresh ones):
- JS: ArrayBuffers of 1 MiB, each filled;
- Python: bytes of 1 MiB;
- a hand-written component with five memories (two in its module, three instances of another
  module), every page written until refused (it answers normally and keeps what it got: its
  memory stays in use after); with a limit per memory it could have reached five times the limit;
- an Extism plugin with two memories, both grown a page at a time and written.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.common import Row, rss_bytes

LIMIT_MB = 48
POOL = 4
ROUNDS = 3
MB = 1024 * 1024


JS_BOMB = """
export default (router) => {
  router.get('/bomb', () => { const keep = []; while (true) keep.push(new Uint8Array(1 << 20).fill(7)); });
  router.get('/ok', () => ({ status: 200, body: 1 }));
};
"""
PYTHON_BOMB = """
from directus_api import endpoint
router = endpoint()

@router.get('/bomb')
def bomb(req):
    keep = []
    while True:
        keep.append(b'x' * (1 << 20))

@router.get('/ok')
def ok(req):
    return {'status': 200, 'body': 1}
"""


def _peak_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _artifact(scenario: str, folder: Path) -> tuple[Path, int, int]:
    """The guest's file, its bomb handler and its harmless handler."""
    from tests.security.memory_wat import Component, ExtismModule, grow_extra_until_full, grow_until_full, touch

    if scenario == "js":
        path = folder / "bomb.js"
        path.write_text(JS_BOMB)
    elif scenario == "python":
        path = folder / "bomb.py"
        path.write_text(PYTHON_BOMB)
    elif scenario == "component":
        grow_all = "".join(grow_until_full(f"$m{k}") for k in range(2)) + "".join(
            grow_extra_until_full(i) for i in range(3)
        )
        component = Component("bomb", {"/bomb": grow_all, "/ok": "(local.set $n (i64.const 1))"}, main_memories=2,
                              extras=3)
        path = folder / "bomb.wasm"
        path.write_bytes(component.wasm())
    else:
        grow_both = f"""
          (loop $more
            (local.set $r (memory.grow $m0 (i32.const 1)))
            {touch("$m0", "local.get $r")}
            (local.set $r (memory.grow $m1 (i32.const 1)))
            {touch("$m1", "local.get $r")}
            (br $more))"""
        plugin = ExtismModule({"/bomb": grow_both, "/ok": "(local.set $n (i64.const 1))"},
                              memories="(memory $m0 1) (memory $m1 1)")
        path = folder / "bomb.wasm"
        path.write_bytes(plugin.wasm())
    return path, 0, 1


def child(scenario: str) -> dict[str, Any]:
    """Runs in the child process: load the guest, fill the pool, bomb, report the memory figures."""
    from host.capabilities import build_capabilities
    from host.errors import ExtensionFault
    from host.extensions.manifest import Scopes
    from host.paths import SDK_PATH
    from host.runtime import Runtime
    from host.types import ExtensionKind
    from tests.support import make_settings

    work = Path(tempfile.mkdtemp(prefix="exthost-bench-memory-"))
    settings = make_settings(work, extensions_sandbox_memory=LIMIT_MB, extensions_sandbox_pool_size=POOL,
                             extensions_quarantine_after=10**9)
    runtime = Runtime(settings, SDK_PATH)
    path, bomb, ok = _artifact(scenario, work)
    sandbox = runtime.open("bomb", ExtensionKind.endpoint, path, build_capabilities("bomb", Scopes(), settings))

    def at_once(handler: int) -> int:
        faults = 0
        lock = threading.Lock()

        def one() -> None:
            nonlocal faults
            try:
                sandbox.call_sync(handler, "[{}]")
            except ExtensionFault:
                with lock:
                    faults += 1

        threads = [threading.Thread(target=one) for _ in range(POOL)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return faults

    at_once(ok)  # POOL instances made and idle
    baseline = rss_bytes()
    _reset_peak()
    faults = sum(at_once(bomb) for _ in range(ROUNDS))
    peak = _peak_bytes()
    at_once(ok)
    after = rss_bytes()
    return {"baseline": baseline, "peak": peak, "after": after, "faults": faults,
            "instances": sandbox.instances_made}


def _measure(scenario: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.security_memory", scenario], capture_output=True, text=True,
                         check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run() -> list[Row]:
    bound = POOL * LIMIT_MB * MB
    rows: list[Row] = [("limit x pool (the bound above idle)", f"{LIMIT_MB} MB x {POOL} = {bound // MB} MB")]
    for scenario, label in (("js", "JS"), ("python", "Python"), ("component", "5-memory component"),
                            ("extism", "2-memory Extism plugin")):
        try:
            found = _measure(scenario)
        except (subprocess.CalledProcessError, ValueError) as error:
            rows.append((f"{label}", f"failed: {str(error)[:60]}"))
            continue
        above = found["peak"] - found["baseline"]
        rows.append((f"{label}: idle RSS with {POOL} instances", f"{found['baseline'] / MB:.0f} MB"))
        rows.append((f"{label}: peak RSS above idle, {POOL} bombing x {ROUNDS}",
                     f"{above / MB:.0f} MB ({above / bound:.2f} x bound)"))
        rows.append((f"{label}: RSS above idle after", f"{(found['after'] - found['baseline']) / MB:.0f} MB"))
        if scenario == "component":
            rows.append((f"{label}: with a limit per memory (before)", f"could reach {5 * bound // MB} MB"))
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(child(sys.argv[1])))
    else:
        for label, value in run():
            print(f"  {label:<50} {value:>24}")
