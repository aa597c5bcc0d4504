"""Real `exthost serve` OS processes for the cluster tests.

    env = host_env(tmp_path, DB_URL=url)            # the settings every host of the cluster shares
    a, b = start_host(env), start_host(env)         # each on a free port of its own
    a.wait_ready(); b.wait_ready()                  # GET /server/health answers 200
    httpx.get(f"{a.url}/items/x", headers=ADMIN)    # or: with a.client() as http: http.get("/items/x")
    b.kill()                                        # SIGKILL: no shutdown at all
    assert a.stop() in CLEAN_EXIT                   # SIGTERM, graceful shutdown, its exit code

- `start_host(env, port=None, workers=None)` runs `python -m host.cli serve --port PORT` (the
  `exthost serve` command, with `--workers N` when given) with `env` over `os.environ`; it
  returns at once, before the host is ready: start several, then `wait_ready()` each.
- Each process writes its stdout and stderr to its own file (`.log_path`, read with
  `.log()`); `wait_ready()` fails with the log's tail when the process exits first.
- `host_env(tmp_path, **settings)` is the environment of a host of one cluster: its own
  `EXTENSIONS_PATH` and `DATA_PATH` under `tmp_path`, the tests' compiled-code cache, the
  tests' `ADMIN_TOKEN`; keyword arguments (setting names, upper case) add to or override it.
- `hosts(...)` is a context manager that stops (or, failing that, kills) every host it
  started, whatever the test did.

A database the hosts share: a SQLite file, or `tests.storage.databases.fresh_postgres_database()`.

The processes run from a fresh working directory (no developer `.env` is read) and import
this checkout's `host` (PYTHONPATH).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from host.paths import PROJECT_ROOT
from tests.support import ADMIN, ADMIN_TOKEN, TEST_CACHE, wait_for

CLEAN_EXIT = (0, -signal.SIGTERM)
"""Exit codes of a graceful stop: uvicorn re-raises SIGTERM after its shutdown (one process);
its supervisor exits 0 (`--workers` N > 1)."""

READY_TIMEOUT = 120.0
"""Seconds a host may take to come up: the 2 shared cores of CI may be busy with other tests."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class HostProcess:
    """One `exthost serve` OS process (the uvicorn supervisor when it runs workers)."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def client(self) -> httpx.Client:
        """An HTTP client of this host that sends the tests' admin token (close it, or use `with`)."""
        return httpx.Client(base_url=self.url, headers=ADMIN, timeout=30)

    def log(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def healthy(self) -> bool:
        """`GET /server/health` answers 200 now."""
        try:
            return httpx.get(f"{self.url}/server/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> HostProcess:
        """Wait until `GET /server/health` answers 200; fails at once when the process exits first."""

        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"exthost serve on port {self.port} exited with {self.process.returncode} before it was "
                    f"ready:\n{self.log()[-4000:]}"
                )
            return self.healthy()

        wait_for(ready, f"exthost serve on port {self.port} to answer /server/health", timeout)
        return self

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the graceful shutdown; returns the exit code (one of `CLEAN_EXIT`
        when it was graceful). Fails, after a SIGKILL, when the process does not stop in `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"exthost serve on port {self.port} ignored SIGTERM:\n{self.log()[-4000:]}") from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the process dies without any shutdown (as in `kill -9`)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def host_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a cluster's hosts: folders under `tmp_path`, the tests' cache and admin token."""
    (tmp_path / "extensions").mkdir(parents=True, exist_ok=True)
    return {
        "EXTENSIONS_PATH": str(tmp_path / "extensions"),
        "DATA_PATH": str(tmp_path / "data"),
        "EXTENSIONS_CACHE_PATH": str(TEST_CACHE),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "DB_URL": "",
        **settings,
    }


def start_host(env: Mapping[str, str], port: int | None = None, *, workers: int | None = None) -> HostProcess:
    """Start `exthost serve` on `port` (a free one by default) with `env` over this process's environment.

    Returns at once; call `.wait_ready()`. Its output goes to a file in a fresh folder that
    is also its working directory (next to `DATA_PATH`, or a new temporary folder).
    """
    port = port or free_port()
    if "DATA_PATH" in env:
        run_dir = Path(env["DATA_PATH"]).parent / f"host-{port}-{uuid.uuid4().hex[:6]}"
        run_dir.mkdir(parents=True)
    else:
        run_dir = Path(tempfile.mkdtemp(prefix=f"exthost-host-{port}-"))
    python_path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "host.cli", "serve", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    log_path = run_dir / "serve.log"
    with log_path.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=run_dir, env={**os.environ, "PYTHONPATH": python_path, **env},
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    return HostProcess(process, port, log_path)


@contextmanager
def hosts() -> Iterator[list[HostProcess]]:
    """`with hosts() as started: started.append(start_host(env))`: every host is stopped at the end
    (SIGTERM; SIGKILL when that fails), whatever happened."""
    started: list[HostProcess] = []
    try:
        yield started
    finally:
        for host in started:
            try:
                host.stop()
            except AssertionError:
                host.kill()
