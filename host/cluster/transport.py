"""How a change is announced to the other processes: the `Transport` protocol a backend
implements (`host.cluster.pg_notify`, `host.cluster.redis_pubsub`), and `Polling`, the
backend with no push at all (SQLite): the periodic revision check does everything."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.engine import Connection

log = logging.getLogger("exthost.cluster")

Heard = Callable[[str, int], None]
"""Called on the event loop with `(topic, revision)` for every announcement heard."""

Connected = Callable[[], None]
"""Called on the event loop each time the transport (re)connects: what was announced while it
was away is lost, so the bus compares revisions at once."""

POLL_INTERVAL_S = 0.25
"""Seconds between revision checks without a push (SQLite)."""

SAFETY_INTERVAL_S = 2.0
"""Seconds between revision checks with a push (PostgreSQL, Redis): for announcements lost anyway."""


class Transport(Protocol):
    name: str
    check_interval: float
    """Seconds between two revision checks of the bus."""

    def in_transaction(self, conn: Connection, topic: str, revision: int) -> None:
        """Announce inside the change's transaction (sent only if it commits)."""

    async def after_commit(self, topic: str, revision: int) -> None:
        """Announce after the change committed; never raises."""

    async def start(self, heard: Heard, connected: Connected) -> None:
        """Start listening in the background; returns once listening (or after trying a while)."""

    async def stop(self) -> None: ...


class Polling:
    """No announcements: every process checks the revisions every `POLL_INTERVAL_S`."""

    name = "revision check"
    check_interval = POLL_INTERVAL_S

    def in_transaction(self, conn: Connection, topic: str, revision: int) -> None:
        return None

    async def after_commit(self, topic: str, revision: int) -> None:
        return None

    async def start(self, heard: Heard, connected: Connected) -> None:
        return None

    async def stop(self) -> None:
        return None


def encode(topic: str, revision: int) -> str:
    return f"{topic}:{revision}"


def decode(payload: str | bytes) -> tuple[str, int] | None:
    """`(topic, revision)` of an announcement, or None for anything else."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    topic, _, revision = text.rpartition(":")
    if not topic or not revision.isdigit():
        return None
    return topic, int(revision)


Session = Callable[[Heard, Callable[[], None]], Awaitable[None]]
"""One connection's life: connect, subscribe, call the second argument once listening, then
pass every announcement to `heard` until the connection fails."""

RETRY_MIN_S = 0.5
RETRY_MAX_S = 10.0
READY_TIMEOUT_S = 10.0


class Listener:
    """Runs a `Session` in a background task, again and again: a lost connection is retried
    with a growing delay, and every new connection calls `connected`."""

    def __init__(self, name: str, session: Session) -> None:
        self.name = name
        self._session = session
        self._task: asyncio.Task[None] | None = None

    async def start(self, heard: Heard, connected: Connected) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(heard, connected, ready), name=f"exthost-cluster-{self.name}")
        try:
            await asyncio.wait_for(ready.wait(), READY_TIMEOUT_S)
        except TimeoutError:
            log.warning("cluster: %s not listening yet; revisions are checked meanwhile", self.name)

    async def _run(self, heard: Heard, connected: Connected, ready: asyncio.Event) -> None:
        delay = RETRY_MIN_S
        while True:
            listening = False

            def now_listening() -> None:
                nonlocal listening
                listening = True
                ready.set()
                connected()

            try:
                await self._session(heard, now_listening)
                problem = "the connection closed"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if listening:
                delay = RETRY_MIN_S
            log.warning("cluster: %s: %s; listening again in %.1f s", self.name, problem, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
