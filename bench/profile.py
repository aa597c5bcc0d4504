"""Where the time of the sandboxed `greet` endpoint goes under wrk: `python -m bench.profile`.

The host (bench.apps, the `greet` example) is served by uvicorn in this process while
`wrk -t1 -c16` loads `/greet`, with cProfile on in every thread: the event loop's, and
each of the extension's call threads (`threading.setprofile` starts one profiler per new
thread). py-spy would sample without slowing the host down; it is not a dependency, and
an in-process sampler cannot see where a thread holding the GIL is (it runs only when
the GIL is let go). cProfile counts every call instead: Python functions get dearer under
it than native code (a call into the guest is one ctypes call, as are the wasmtime C API
calls), so read the percentages as where the host's own time goes, and the requests/s
under the profiler as lower than without it (both are printed).

It prints, for the event loop and for the call threads apart, the functions with the most
time of their own ("self", cProfile's tottime) and the most time including what they call
("total", cumtime), as a share of the group's busy time: its time less the time spent
waiting for work (the event loop in epoll, a call thread waiting for a call). Frames whose
total holds waiting too (the event loop's own `_run_once`) are left out of "total".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from bench.common import WRK_SCRIPT, WRK_THREADS, free_port, server
from host.paths import PROJECT_ROOT

Function = tuple[str, int, str]
"""pstats' key: (file, line, function name)."""

_WAITING = (
    "<method 'poll' of 'select.epoll' objects>",  # the event loop, for a socket or a finished call
    "<method 'get' of '_queue.SimpleQueue' objects>",  # a call thread, for a call
    "<method 'acquire' of '_thread.lock' objects>",  # a thread waiting on a lock or an event
)
"""Where a thread waits: its time there is not busy time."""

_ROOTS = (str(PROJECT_ROOT) + os.sep, "site-packages" + os.sep, f"python{sys.version_info[0]}.{sys.version_info[1]}/")


def _name(function: Function) -> str:
    path, line, name = function
    if path == "~":
        return name  # a built-in: "{method 'poll' of 'select.epoll' objects}"
    for root in _ROOTS:
        if root in path:
            path = path.split(root, 1)[1]
            break
    return f"{name}  ({path}:{line})"


def report(title: str, profiles: list[cProfile.Profile], top: int) -> list[str]:
    if not profiles:
        return [f"### {title}: no calls profiled", ""]
    stats = pstats.Stats(profiles[0])
    for other in profiles[1:]:
        stats.add(other)
    table: dict[Function, Any] = stats.stats  # type: ignore[attr-defined]  # pstats keeps it untyped
    own = {function: entry[2] for function, entry in table.items()}
    total = {function: entry[3] for function, entry in table.items()}
    everything = sum(own.values())
    waiting = sum(seconds for function, seconds in own.items() if _name(function) in _WAITING)
    busy = everything - waiting
    lines = [f"### {title}: {len(profiles)} thread(s), {everything:.1f} s profiled, "
             f"{100 * waiting / max(everything, 1e-9):.0f}% of it waiting for work", ""]
    for heading, figures in (("self (time of its own)", own), ("total (with what it calls)", total)):
        lines.append(f"{heading}, % of busy time:")
        # a frame whose total passes the busy time holds waiting too (the loop's `_run_once`, a thread's
        # `_worker`): left out
        shown = [f for f in sorted(figures, key=lambda f: -figures[f])
                 if _name(f) not in _WAITING and figures[f] <= busy * 1.001][:top]
        for function in shown:
            lines.append(f"  {100 * figures[function] / busy:5.1f}%  {_name(function)}")
        lines.append("")
    return lines


class Profiles:
    """One cProfile per thread: the event loop's, and one for each extension call thread. Call
    threads start theirs at their first Python call once `on` is set (warm-up is not profiled)."""

    def __init__(self) -> None:
        self.on = threading.Event()
        self.loop = cProfile.Profile()
        self.calls: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _hook(self, frame: FrameType, event: str, arg: object) -> None:
        if not self.on.is_set():
            return
        sys.setprofile(None)
        name = threading.current_thread().name
        if name.startswith("exthost-") and name != "exthost-epoch":  # not the engine's epoch ticker
            profile = cProfile.Profile()
            with self._lock:
                self.calls.append(profile)
            profile.enable()

    def install(self) -> None:
        """Before the server starts: every thread started from now on runs `_hook`."""
        threading.setprofile(self._hook)

    def stop(self) -> None:
        self.loop.disable()
        threading.setprofile(None)
        # the call threads' profilers stop with their threads (the server's shutdown)


def wrk(url: str, seconds: int, concurrency: int) -> str:
    out = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT), url],
        capture_output=True, text=True, check=True,
    )
    line = next((line for line in out.stdout.splitlines() if line.startswith("WRK_JSON ")), out.stdout)
    return line.removeprefix("WRK_JSON ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load with the profiler on")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections")
    parser.add_argument("--top", type=int, default=20, help="functions shown per list")
    parser.add_argument("--path", default="/greet", help="the path loaded")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package `wrk`; `make profile` installs it)", file=sys.stderr)
        return 1
    profiles = Profiles()
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        extensions = Path(tmp) / "extensions"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
        env = {"EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(Path(tmp) / "data"),
               "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache")}
        unprofiled = {**env, "DATA_PATH": str(Path(tmp) / "data-unprofiled")}
        with server("bench.apps:host_with_native_routes", unprofiled) as base:
            wrk(f"{base}{args.path}", 2, args.concurrency)  # warm up
            results["the same host without the profiler (another process)"] = wrk(
                f"{base}{args.path}", args.seconds, args.concurrency
            )
        os.environ.update(env)
        from bench.apps import host_with_native_routes

        port = free_port()
        served = uvicorn.Server(uvicorn.Config(host_with_native_routes(), port=port, log_level="warning",
                                               access_log=False))
        url = f"http://127.0.0.1:{port}{args.path}"

        def drive() -> None:
            while not served.started:
                time.sleep(0.05)
            wrk(url, 2, args.concurrency)  # warm up: instances made, threads started, not profiled
            profiles.on.set()
            time.sleep(0.2)
            results["with the profiler"] = wrk(url, args.seconds, args.concurrency)
            served.should_exit = True

        async def serve() -> None:
            async def switch_on() -> None:
                await asyncio.get_running_loop().run_in_executor(None, profiles.on.wait)
                profiles.loop.enable()

            task = asyncio.create_task(switch_on())
            await served.serve()
            profiles.stop()
            await task

        profiles.install()
        driver = threading.Thread(target=drive, name="driver", daemon=True)
        driver.start()
        asyncio.run(serve())
        driver.join()
    print(f"## Profile of GET {args.path} under wrk -t{WRK_THREADS} -c{args.concurrency}, {args.seconds} s, cProfile\n")
    for label, line in results.items():
        print(f"wrk, {label}: {line}")
    print()
    print("\n".join(report("event loop (MainThread)", [profiles.loop], args.top)))
    print("\n".join(report("extension call threads", profiles.calls, args.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
