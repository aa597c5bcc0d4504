"""Where the time of the sandboxed `greet` endpoint goes under wrk: `python -m bench.profile`.

The host (bench.apps, the `greet` example) is served by uvicorn in this process while
`wrk -t1 -c16` loads `/greet`. A sampling thread reads every thread's Python stack
(`sys._current_frames`) every `--interval` ms, py-spy's method without py-spy (not a
dependency): a call into the guest shows as the Python frame that entered it (the ctypes
call in host/runtime/component.py), native code in general as its Python caller.

It prints, for the event-loop thread and for the extension's call threads apart: the share
of samples where the thread waited for work (idle), then among the busy ones the frames
most often on top of the stack ("self") and on the stack at all ("total"). Sampling needs
the GIL, so a thread holding it for long stretches is sampled late: read the figures as
shares, not microseconds. The requests/s under the sampler are lower than without it.
"""

from __future__ import annotations

import argparse
import asyncio
import linecache
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import uvicorn

from bench.common import WRK_SCRIPT, WRK_THREADS, free_port
from host.paths import PROJECT_ROOT

Frame = tuple[str, int, str]
"""(file relative to the project or site-packages, first line of the function, function name)"""

_IDLE_LINES = ("work_queue.get(block=True)", "self._selector.select(", "waiter.acquire(")
"""A leaf frame on one of these lines is a thread waiting for something to do."""


_ROOTS = (str(PROJECT_ROOT) + os.sep, "site-packages" + os.sep, f"python{sys.version_info[0]}.{sys.version_info[1]}/")
"""Prefixes cut from a frame's file name."""


def _where(frame: FrameType) -> Frame:
    path = frame.f_code.co_filename
    for root in _ROOTS:
        if root in path:
            path = path.split(root, 1)[1]
            break
    return path, frame.f_code.co_firstlineno, frame.f_code.co_name


def _idle(frame: FrameType) -> bool:
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    return any(marker in line for marker in _IDLE_LINES)


@dataclass
class Group:
    """The samples of one kind of thread."""

    samples: int = 0
    idle: int = 0
    leaf: Counter[Frame] = field(default_factory=Counter)
    total: Counter[Frame] = field(default_factory=Counter)

    def add(self, frame: FrameType) -> None:
        self.samples += 1
        if _idle(frame):
            self.idle += 1
            return
        self.leaf[_where(frame)] += 1
        seen: set[Frame] = set()
        walk: FrameType | None = frame
        while walk is not None:
            seen.add(_where(walk))
            walk = walk.f_back
        self.total.update(seen)

    def report(self, title: str, top: int) -> list[str]:
        busy = self.samples - self.idle
        lines = [f"### {title}: {self.samples} samples, {100 * self.idle / max(1, self.samples):.0f}% idle, "
                 f"{busy} busy", ""]
        if not busy:
            return lines
        for heading, counter in (("self (on top of the stack)", self.leaf), ("total (anywhere on the stack)",
                                                                                 self.total)):
            lines.append(f"{heading}, % of busy samples:")
            for (path, line, name), count in counter.most_common(top):
                lines.append(f"  {100 * count / busy:5.1f}%  {name}  ({path}:{line})")
            lines.append("")
        return lines


class Sampler(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="sampler", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()
        self.groups: dict[str, Group] = {"event loop (MainThread)": Group(), "extension call threads": Group()}

    def run(self) -> None:
        main = threading.main_thread().ident
        while not self.stopped.wait(self.interval):
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident == main:
                    self.groups["event loop (MainThread)"].add(frame)
                elif names.get(ident, "").startswith("exthost-"):
                    self.groups["extension call threads"].add(frame)


def wrk(url: str, seconds: int, concurrency: int) -> str:
    out = subprocess.run(
        ["wrk", f"-t{WRK_THREADS}", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(WRK_SCRIPT), url],
        capture_output=True, text=True, check=True,
    )
    return next((line for line in out.stdout.splitlines() if line.startswith("WRK_JSON ")), out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load while sampling")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections")
    parser.add_argument("--interval", type=float, default=1.0, help="ms between samples")
    parser.add_argument("--top", type=int, default=15, help="frames shown per list")
    parser.add_argument("--path", default="/greet", help="the path loaded")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package `wrk`; `make profile` installs it)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        extensions = Path(tmp) / "extensions"
        shutil.copytree(PROJECT_ROOT / "extensions" / "greet", extensions / "greet")
        os.environ.update({"EXTENSIONS_PATH": str(extensions), "DATA_PATH": str(Path(tmp) / "data"),
                           "EXTENSIONS_CACHE_PATH": str(PROJECT_ROOT / "data" / "cache")})
        from bench.apps import host_with_native_routes

        port = free_port()
        config = uvicorn.Config(host_with_native_routes(), port=port, log_level="warning", access_log=False)
        served = uvicorn.Server(config)
        url = f"http://127.0.0.1:{port}{args.path}"
        sampler = Sampler(args.interval / 1000)
        results: dict[str, str] = {}

        def drive() -> None:
            while not served.started:
                time.sleep(0.05)
            wrk(url, 2, args.concurrency)  # warm up
            results["without the sampler"] = wrk(url, args.seconds, args.concurrency)
            sampler.start()
            results["with the sampler"] = wrk(url, args.seconds, args.concurrency)
            sampler.stopped.set()
            served.should_exit = True

        driver = threading.Thread(target=drive, name="driver", daemon=True)
        driver.start()
        asyncio.run(served.serve())
        driver.join()
    print(f"## Profile of GET {args.path} under wrk -t{WRK_THREADS} -c{args.concurrency}, {args.seconds} s, "
          f"a sample every {args.interval:g} ms\n")
    for label, line in results.items():
        print(f"wrk, {label}: {line.removeprefix('WRK_JSON ')}")
    print()
    for title, group in sampler.groups.items():
        print("\n".join(group.report(title, args.top)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
