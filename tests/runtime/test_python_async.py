"""Python handlers that wait hold no host thread (issue 13, item 2), in the real runtime component.

An `async def` handler that awaits `sleep` or `request` leaves the call pending; the
host completes the wait on its event loop and resumes it. Conditions and orders only,
never durations: the calls are known to be waiting when each has logged that it is
about to sleep, and the thread count is sampled then.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from host.capabilities import build_capabilities
from host.config import Settings
from host.errors import ExtensionFailed
from host.extensions.manifest import Scopes
from host.paths import SDK_PATH
from host.runtime import Runtime
from host.runtime.pool import PooledSandbox
from host.types import ExtensionKind
from tests.flows.servers import EchoServer, GateServer
from tests.security.holding import LOOPBACK_ALLOWED
from tests.support import make_settings

EXTENSIONS = 4
CALLS_EACH = 50
POOL = 2
THREADS_ABOVE_BASELINE = EXTENSIONS * POOL + 2
"""At most this many more threads while 200 calls wait than before they started: each extension's
worker threads (at most its pool size), which run guest slices and then stay, and a spare pair;
never one per waiting call."""

SLEEPER = """
from directus_api import log, router, sleep

@router.get("/nap")
async def nap(req):
    log("asleep", req["query"]["n"])
    await sleep(int(req["query"]["ms"]))
    return {"status": 200, "body": req["query"]["n"]}
"""


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("python-async"), extensions_sandbox_timeout=2000,
                         extensions_sandbox_wall_timeout=120_000, request_timeout=60_000,
                         extensions_sandbox_pool_size=POOL, **LOOPBACK_ALLOWED)


@pytest.fixture(scope="module")
def runtime(settings: Settings) -> Iterator[Runtime]:
    found = Runtime(settings, SDK_PATH)
    yield found
    found.close()


def open_source(runtime: Runtime, directory: Path, name: str, source: str,
                scopes: dict[str, Any] | None = None) -> PooledSandbox:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.py"
    path.write_text(source, encoding="utf-8")
    capabilities = build_capabilities(name, Scopes.model_validate(scopes or {}), runtime.settings)
    return runtime.open(name, ExtensionKind.endpoint, path, capabilities)


def call(sandbox: PooledSandbox, handler: int, *args: Any) -> Any:
    return asyncio.run(sandbox.call(handler, list(args)))


class Asleep(logging.Handler):
    """Counts the guests' `asleep` log lines, from whichever thread logs them."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if "asleep" in record.getMessage():
            with self._lock:
                self.count += 1


@pytest.fixture
def asleep() -> Iterator[Asleep]:
    handler = Asleep()
    logger = logging.getLogger("exthost.extension")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def until(check: Any, what: str, timeout: float = 120.0) -> None:
    """Wait on the event loop (the calls' own) until `check()` holds: a deadline, not a measurement."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_hundreds_of_sleeping_calls_in_several_extensions_hold_no_threads(runtime: Runtime, tmp_path: Path,
                                                                           asleep: Asleep) -> None:
    sandboxes = [open_source(runtime, tmp_path / f"sleeper{i}", f"sleeper{i}", SLEEPER, {"log": {}, "sleep": {}})
                 for i in range(EXTENSIONS)]
    total = EXTENSIONS * CALLS_EACH

    async def run() -> tuple[int, int, list[Any]]:
        baseline = threading.active_count()
        calls = [
            asyncio.ensure_future(sandbox.call(0, [{"query": {"n": f"{i}-{n}", "ms": "3000"}}]))
            for i, sandbox in enumerate(sandboxes)
            for n in range(CALLS_EACH)
        ]
        await until(lambda: asleep.count >= total, f"{total} calls asleep")
        during = threading.active_count()
        return baseline, during, list(await asyncio.gather(*calls))

    baseline, during, results = asyncio.run(run())
    assert sorted(r["body"] for r in results) == sorted(f"{i}-{n}" for i in range(EXTENSIONS)
                                                        for n in range(CALLS_EACH))
    print(f"threads: {baseline} before, {during} while {total} calls slept")
    assert during - baseline <= THREADS_ABOVE_BASELINE


def test_gather_waits_for_both_sleeps_at_once(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "gather", """
import asyncio
from directus_api import router, sleep

@router.get("/")
async def both(req):
    woke = []

    async def nap(name, ms):
        await sleep(ms)
        woke.append(name)
        return name

    names = await asyncio.gather(nap("long", 1500), nap("short", 1))
    return {"status": 200, "body": {"gathered": names, "woke": woke}}
""", {"sleep": {}})
    body = call(sandbox, 0, {})["body"]
    assert body["gathered"] == ["long", "short"]
    assert body["woke"] == ["short", "long"]  # in turn, "short" would wake second


def test_requests_gathered_are_in_flight_together(runtime: Runtime, tmp_path: Path) -> None:
    with GateServer(deadline=60) as gate:
        sandbox = open_source(runtime, tmp_path, "gate", f"""
import asyncio
from directus_api import router, request

@router.get("/")
async def both(req):
    replies = await asyncio.gather(request("{gate.url}/gate/1?size=2"), request("{gate.url}/gate/2?size=2"))
    return {{"status": 200, "body": [r.status for r in replies]}}
""", {"request": {"urls": [f"{gate.url}/*"]}})
        assert call(sandbox, 0, {})["body"] == [200, 200]  # the gate opens only with both requests in
        assert gate.most_at_once == 2


def test_a_request_through_the_async_path(runtime: Runtime, tmp_path: Path) -> None:
    with EchoServer() as echo:
        sandbox = open_source(runtime, tmp_path, "echo", f"""
from directus_api import router, request

@router.post("/")
async def send(req):
    reply = await request("{echo.url}/things", method="POST", headers={{"X-Test": "yes"}}, body={{"n": 1}})
    return {{"status": 200, "body": {{"status": reply.status, "data": reply.data}}}}
""", {"request": {"urls": [f"{echo.url}/*"], "methods": ["POST"]}})
        body = call(sandbox, 0, {})["body"]
    assert body["status"] == 200
    assert body["data"]["method"] == "POST"
    assert body["data"]["path"] == "/things"
    assert body["data"]["body"] == '{"n": 1}'
    assert body["data"]["headers"]["X-Test"] == "yes"


REFUSALS = """
from directus_api import HostError, router, request, sleep

@router.get("/caught")
async def caught(req):
    out = []
    for attempt in (lambda: sleep(1), lambda: request("http://127.0.0.1:9/elsewhere")):
        try:
            await attempt()
            out.append("allowed")
        except HostError as error:
            out.append(str(error))
    return {"status": 200, "body": out}

@router.get("/raised")
async def raised(req):
    await request("http://127.0.0.1:9/elsewhere")
"""


def test_refusals_are_host_errors_as_before(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "refused", REFUSALS, {"request": {"urls": ["http://127.0.0.1:9/only/*"]}})
    sleep_refused, url_refused = call(sandbox, 0, {})["body"]
    assert sleep_refused == 'No permission to access "sleep"'
    assert "matches none of the scope's urls" in url_refused
    with pytest.raises(ExtensionFailed, match="matches none of the scope's urls"):
        call(sandbox, 1, {})


def test_a_plain_handler_still_waits_in_the_blocking_import(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "plain", """
from directus_api import router, sleep

@router.get("/")
def plain(req):
    sleep(1)
    return {"status": 200, "body": "rested"}
""", {"sleep": {}})
    assert call(sandbox, 0, {})["body"] == "rested"


def test_an_unawaited_request_in_an_async_handler_says_to_await_it(runtime: Runtime, tmp_path: Path) -> None:
    with EchoServer() as echo:
        sandbox = open_source(runtime, tmp_path, "unawaited", f"""
from directus_api import router, request

@router.get("/")
async def forgot(req):
    return {{"status": 200, "body": request("{echo.url}/").data}}
""", {"request": {"urls": [f"{echo.url}/*"]}})
        with pytest.raises(ExtensionFailed, match="await request"):
            call(sandbox, 0, {})


def test_asyncio_timeouts_tasks_and_primitives_run_on_the_sandbox_loop(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "asyncio", """
import asyncio
from directus_api import router, sleep

@router.get("/")
async def everything(req):
    out = {}
    try:
        async with asyncio.timeout(0.05):
            await sleep(30000)
    except TimeoutError:
        out["timeout"] = "timed out"
    try:
        await asyncio.wait_for(sleep(30000), 0.05)
    except TimeoutError:
        out["wait_for"] = "timed out"
    queue, ready, lock = asyncio.Queue(), asyncio.Event(), asyncio.Lock()

    async def producer():
        await asyncio.sleep(0.01)
        await queue.put("item")
        ready.set()

    task = asyncio.create_task(producer())
    async with lock:
        out["queue"] = await queue.get()
    await ready.wait()
    await task
    try:
        asyncio.run(asyncio.sleep(0))
    except RuntimeError as error:
        out["run"] = str(error)
    return {"status": 200, "body": out}
""", {"sleep": {}})
    body = call(sandbox, 0, {})["body"]
    assert body["timeout"] == body["wait_for"] == "timed out"  # the 30 s sleeps were left behind
    assert body["queue"] == "item"
    assert "asyncio.run is not available" in body["run"]


def test_asyncio_timers_need_the_sleep_scope(runtime: Runtime, tmp_path: Path) -> None:
    sandbox = open_source(runtime, tmp_path, "no-timers", """
import asyncio
from directus_api import HostError, router

@router.get("/")
async def nap(req):
    try:
        await asyncio.sleep(0.01)
    except HostError as error:
        return {"status": 200, "body": str(error)}
""")
    assert call(sandbox, 0, {})["body"] == 'No permission to access "sleep"'
