"""Redis pub/sub (when `REDIS` is set): a change is PUBLISHed as `topic:revision` once it
has committed, and one subscription per process listens."""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis.asyncio import Redis
from sqlalchemy.engine import Connection

from host.cluster.transport import SAFETY_INTERVAL_S, Connected, Heard, Listener, decode, encode

log = logging.getLogger("exthost.cluster")

PUBLISH_TIMEOUT_S = 2.0
"""Longest wait for Redis when announcing a change (the change itself is committed already)."""


class RedisPubSub:
    name = "Redis pub/sub"
    check_interval = SAFETY_INTERVAL_S

    def __init__(self, url: str, channel: str) -> None:
        self.channel = channel
        # two clients: publishing must not wait long; the subscription waits for messages forever
        self._publisher: Redis = Redis.from_url(
            url, socket_timeout=PUBLISH_TIMEOUT_S, socket_connect_timeout=PUBLISH_TIMEOUT_S
        )
        self._subscriber: Redis = Redis.from_url(
            url, socket_connect_timeout=PUBLISH_TIMEOUT_S, socket_keepalive=True, health_check_interval=10
        )
        self._listener = Listener(self.name, self._session)

    def in_transaction(self, conn: Connection, topic: str, revision: int) -> None:
        return None

    async def after_commit(self, topic: str, revision: int) -> None:
        try:
            await self._publisher.publish(self.channel, encode(topic, revision))
        except Exception as exc:  # the other processes see it at their next revision check
            log.warning("cluster: announcing %s revision %d on Redis failed: %s", topic, revision, exc)

    async def start(self, heard: Heard, connected: Connected) -> None:
        await self._listener.start(heard, connected)

    async def stop(self) -> None:
        await self._listener.stop()
        await self._publisher.aclose()
        await self._subscriber.aclose()

    async def _session(self, heard: Heard, listening: Callable[[], None]) -> None:
        pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            listening()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    announced = decode(message["data"])
                    if announced is not None:
                        heard(*announced)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
