"""The change bus: every process converges on the control state in the database.

A change to a topic of control state (`Topic`) runs through `ChangeBus.change`: the work
and the bump of the topic's revision (`host.cluster.revisions`) commit in one transaction,
then the change is announced (`Transport`) and this process's subscribers refresh before
`change` returns. Every other process hears the announcement, or finds the new revision
at its next periodic check, and runs its subscribers (which reload from the database).

- Nothing is taken from an announcement but the wish to look: a process only ever
  trusts revisions it read from the database itself.
- Refreshes of one topic never overlap, and every change is followed by a refresh that
  started after it committed; changes arriving during a refresh share the next one.
- A refresh that fails is retried at the next check: no process stays stale for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from host.cluster import revisions
from host.cluster.transport import Transport
from host.storage import Database

log = logging.getLogger("exthost.cluster")

T = TypeVar("T")
Callback = Callable[[], Awaitable[None]]


class Topic(StrEnum):
    """What a revision counts changes of."""

    flows = "flows"
    """`exthost_flows` and `exthost_operations`."""
    extensions = "extensions"
    """`exthost_extension_state`: enabled, disabled, faults, quarantine."""


class Coalesced:
    """Runs `work` so that every `run()` is followed by a run of `work` that started after
    it was called; calls made while `work` runs share the next run. Runs never overlap."""

    def __init__(self, work: Callable[[], Awaitable[None]]) -> None:
        self._work = work
        self._asked = 0
        self._started = 0
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        self._asked += 1
        ticket = self._asked
        async with self._lock:
            if self._started >= ticket:  # a run that started after this call has ended meanwhile
                return
            self._started = self._asked
            await self._work()


class ChangeBus:
    def __init__(self, db: Database, transport: Transport, namespace: str = "") -> None:
        """`namespace` names the database among others (`host.cluster.namespace`)."""
        self.db = db
        self.transport = transport
        self.namespace = namespace
        self._seen: dict[str, int] = {}
        self._stale: set[str] = set()
        self._subscribers: dict[str, list[Callback]] = {}
        self._refreshers: dict[str, Coalesced] = {}
        self._check = Coalesced(self._compare)
        self._tasks: set[asyncio.Task[None]] = set()
        self._checker: asyncio.Task[None] | None = None

    # -- set-up -------------------------------------------------------------------------

    async def mark(self) -> None:
        """Note the current revisions: call before loading the state the subscribers hold, so
        that whatever changes from here on is refreshed once `start` runs."""
        self._seen = await self.db.run(revisions.read)

    def seen(self, topic: Topic) -> int:
        """The latest revision of `topic` this process knows of (refreshed or being refreshed)."""
        return self._seen.get(topic, 0)

    def subscribe(self, topic: Topic, callback: Callback) -> None:
        """`callback` reloads what this process holds of `topic` from the database."""
        self._subscribers.setdefault(topic, []).append(callback)

    async def start(self) -> None:
        """Listen, catch up with what changed since `mark`, then check every `check_interval`."""
        await self.transport.start(self._heard, self._connected)
        await self._check.run()
        self._checker = asyncio.create_task(self._check_loop(), name="exthost-cluster-check")
        log.info("cluster: changes announced by %s, revisions checked every %.2f s",
                 self.transport.name, self.transport.check_interval)

    async def stop(self) -> None:
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
            self._checker = None
        await self.transport.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- changing -----------------------------------------------------------------------

    async def change(
        self,
        topic: Topic,
        work: Callable[[Connection], T],
        *,
        refresh_here: bool = True,
        unchanged: Callable[[T], bool] | None = None,
    ) -> tuple[T, int]:
        """Run `work` and bump `topic`'s revision in one transaction, announce it, then refresh
        this process (unless `refresh_here` is False and the caller applied the change itself:
        then only when another change came in between). When `unchanged(result)` says `work`
        changed nothing, nothing is bumped nor announced. Returns what `work` returned and
        the revision of the change (or, unchanged, one the result is at least as new as)."""

        def transaction(conn: Connection) -> tuple[T, int, bool]:
            result = work(conn)
            if unchanged is not None and unchanged(result):
                return result, revisions.read_one(conn, topic), False
            revision = revisions.bump(conn, topic)
            self.transport.in_transaction(conn, topic, revision)
            return result, revision, True

        result, revision, changed = await self.db.run(transaction)
        if not changed:
            return result, revision
        previous = self._seen.get(topic, 0)
        self._seen[topic] = max(previous, revision)
        await self.transport.after_commit(topic, revision)
        if refresh_here or previous < revision - 1 or topic in self._stale:
            await self._refresh(topic)
        return result, revision

    # -- converging ---------------------------------------------------------------------

    def _heard(self, topic: str, revision: int) -> None:
        if revision > self._seen.get(topic, 0):
            self._spawn(self._check.run())

    def _connected(self) -> None:
        self._spawn(self._check.run())

    async def _compare(self) -> None:
        current = await self.db.run(revisions.read)
        for topic, revision in current.items():
            if revision > self._seen.get(topic, 0) or topic in self._stale:
                self._seen[topic] = max(revision, self._seen.get(topic, 0))
                self._spawn(self._refresh(topic))

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(self.transport.check_interval)
            try:
                await self._check.run()
            except Exception as exc:
                log.warning("cluster: comparing revisions failed: %s", exc)

    async def _refresh(self, topic: str) -> None:
        refresher = self._refreshers.get(topic)
        if refresher is None:
            refresher = self._refreshers[topic] = Coalesced(lambda: self._notify(topic))
        await refresher.run()

    async def _notify(self, topic: str) -> None:
        self._stale.discard(topic)
        try:
            for callback in self._subscribers.get(topic, []):
                await callback()
        except BaseException:
            self._stale.add(topic)  # the next check runs it again
            raise

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("cluster: refreshing from the database failed; retried at the next check")

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
