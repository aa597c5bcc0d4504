"""`CallThreads`: results and errors come back to the loop, at most `max_workers` threads run,
closing fails what was queued."""

from __future__ import annotations

import asyncio
import threading

import pytest

from host.runtime.threads import CallThreads, ThreadsClosed


def test_results_and_errors_come_back() -> None:
    async def main() -> None:
        threads = CallThreads(2, "t")
        assert await threads.run(lambda: threading.current_thread().name) == "t-1"

        def fail() -> None:
            raise ValueError("from the worker")

        with pytest.raises(ValueError, match="from the worker"):
            await threads.run(fail)
        assert await threads.run(lambda: 41 + 1) == 42
        threads.close()

    asyncio.run(main())


def test_at_most_max_workers_run_and_the_rest_queue() -> None:
    release = threading.Event()
    running = threading.Semaphore(0)
    names: set[str] = set()

    def held() -> str:
        running.release()
        release.wait(30)
        return threading.current_thread().name

    async def main() -> None:
        threads = CallThreads(3, "t")
        calls = [asyncio.ensure_future(threads.run(held)) for _ in range(20)]
        for _ in range(3):
            assert await asyncio.to_thread(running.acquire, True, 30)
        assert threads.started == 3
        release.set()
        names.update(await asyncio.gather(*calls))
        assert threads.started == 3
        threads.close()

    asyncio.run(main())
    assert names == {"t-1", "t-2", "t-3"}


def test_close_fails_what_was_queued() -> None:
    release = threading.Event()
    started = threading.Event()

    def held() -> int:
        started.set()
        release.wait(30)
        return 1

    async def main() -> None:
        threads = CallThreads(1, "t")
        first = asyncio.ensure_future(threads.run(held))
        assert await asyncio.to_thread(started.wait, 30)
        queued = asyncio.ensure_future(threads.run(lambda: 2))
        await asyncio.sleep(0)
        threads.close()
        with pytest.raises(ThreadsClosed):
            await queued
        release.set()
        assert await first == 1
        with pytest.raises(ThreadsClosed):
            await threads.run(lambda: 3)

    asyncio.run(main())
