"""Where the time of the sandboxed `greet` endpoint goes under wrk: `python -m bench.profile`
(`make profile`).

The host (bench.apps, the `greet` example) runs in its own uvicorn process while
`wrk -t1 -c16` loads `/greet`; py-spy samples every thread of it from outside (no
instrumentation: the host runs at full speed, native frames of wasmtime included with
`--native` when py-spy can read them). Only samples of threads doing something count
(py-spy leaves out threads waiting in a system call), so the shares are of the host's busy
time. It prints, for the event-loop thread and the extension call threads apart, the
functions with the most samples of their own ("self") and including what they call
("total").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.common import WRK_SCRIPT, WRK_THREADS, server
from host.paths import PROJECT_ROOT

_CALL_THREAD = "_work (host/runtime/threads.py"
"""A frame every extension call thread's stack starts with (host/runtime/threads.py)."""

_LOOP = "Runner.run (asyncio/runners.py"
"""A frame on the event-loop thread's stack (uvicorn runs the server with `asyncio.run`)."""

_ROOTS = (str(PROJECT_ROOT) + os.sep, "site-packages" + os.sep, f"python{sys.version_info[0]}.{sys.version_info[1]}/")


def _short(frame: str) -> str:
    for root in _ROOTS:
        if root in frame:
            name, _, path = frame.partition(" (")
            return f"{name} ({path.split(root, 1)[1]}"
    return frame


def read_raw(text: str) -> dict[str, list[tuple[list[str], int]]]:
    """py-spy's raw (collapsed) output: one `frame;frame;... count` per line, outermost first,
    sorted into the event loop's stacks and the call threads'."""
    groups: dict[str, list[tuple[list[str], int]]] = {"event loop": [], "extension call threads": []}
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(frame) for frame in stack.split(";")]
        if any(_CALL_THREAD in frame for frame in frames):
            group = "extension call threads"
        elif any(_LOOP in frame for frame in frames):
            group = "event loop"
        else:
            continue  # another thread: the epoch ticker, the run-log writer...
        groups[group].append((frames, int(count)))
    return groups


def report(title: str, stacks: list[tuple[list[str], int]], top: int) -> list[str]:
    samples = sum(count for _, count in stacks)
    if not samples:
        return [f"### {title}: no samples", ""]
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for frames, count in stacks:
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"### {title}: {samples} samples", ""]
    # frames on (nearly) every stack of the group say nothing: the thread's and the server's start
    everywhere = {frame for frame, count in total.items() if count >= 0.9 * samples}
    total = Counter({frame: count for frame, count in total.items() if frame not in everywhere})
    for heading, figures in (("self", own), ("total (with what it calls)", total)):
        lines.append(f"{heading}, % of the group's samples:")
        for frame, count in figures.most_common(top):
            lines.append(f"  {100 * count / samples:5.1f}%  {frame}")
        lines.append("")
    return lines


def wrk(url: str, seconds: int, concurrency: int) -> str:
    out = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT), url],
        capture_output=True, text=True, check=True,
    )
    line = next((line for line in out.stdout.splitlines() if line.startswith("WRK_JSON ")), out.stdout)
    return line.removeprefix("WRK_JSON ")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load sampled")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections")
    parser.add_argument("--top", type=int, default=20, help="functions shown per list")
    parser.add_argument("--path", default="/greet", help="the path loaded")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--native", action="store_true",
                        help="native frames too (wasmtime, uvloop); py-spy pauses the host at each sample")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    for tool, where in (("wrk", shutil.which("wrk")), ("py-spy", spy if Path(spy).exists() else None)):
        if where is None:
            print(f"{tool} is not installed (`make profile` installs wrk; py-spy is a dev dependency)", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory() as tmp:
        extensions = Path(tmp) / "extensions"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
        env = {"EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(Path(tmp) / "data"),
               "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache")}
        raw = Path(tmp) / "profile.txt"
        with server("bench.apps:host_with_native_routes", env) as base:
            url = f"{base}{args.path}"
            wrk(url, 2, args.concurrency)  # warm up: instances made, threads started
            unsampled = wrk(url, args.seconds, args.concurrency)
            pid = _server_pid(base)
            sampler = subprocess.Popen(
                [spy, "record", "--pid", str(pid), "--duration", str(args.seconds), "--rate", str(args.rate),
                 "--format", "raw", "--output", str(raw), *(["--native"] if args.native else ["--nonblocking"])],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            result: list[str] = []
            load = threading.Thread(target=lambda: result.append(wrk(url, args.seconds, args.concurrency)))
            load.start()
            _, errors = sampler.communicate()
            load.join()
        if sampler.returncode != 0 or not raw.exists():
            print(f"py-spy failed: {errors.strip()}", file=sys.stderr)
            return 1
        groups = read_raw(raw.read_text())
    print(f"## Profile of GET {args.path} under wrk -t{WRK_THREADS} -c{args.concurrency}, {args.seconds} s, "
          f"py-spy at {args.rate} Hz\n")
    print(f"wrk, not sampled: {unsampled}")
    print(f"wrk, sampled: {result[0] if result else '?'}\n")
    for title, stacks in groups.items():
        print("\n".join(report(title, stacks, args.top)))
    return 0


def _server_pid(base: str) -> int:
    """The pid of the uvicorn process listening at `base` (bench.common.server started it)."""
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["pgrep", "-f", f"uvicorn --factory .* --port {port}"], capture_output=True, text=True)
    pids = [int(pid) for pid in out.stdout.split()]
    if not pids:
        raise RuntimeError(f"no server process found for {base}")
    return pids[0]


if __name__ == "__main__":
    raise SystemExit(main())
