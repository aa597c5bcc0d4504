"""Where GET webhook results are cached for `FLOWS_WEBHOOK_CACHE_TTL` seconds.

- `MemoryCache` (no `REDIS`): per process; dropped whole whenever flows change (the
  manager reloads, here or because another process changed them).
- `RedisCache` (`REDIS` set): shared by every process on the database. Keys carry the
  `flows` revision the flows that ran were loaded at (`Webhooks`), so a result cached
  before a change to any flow is not served once the processes have reloaded; old
  entries expire with their TTL. When Redis cannot be
  reached, the webhook runs uncached (and a warning is logged).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Protocol

from redis.asyncio import Redis

from host.types import Json

log = logging.getLogger("exthost.flows")

MAX_CACHED = 1000
"""Entries one process keeps in memory (the whole cache is dropped when full)."""

REDIS_TIMEOUT_S = 2.0


class WebhookCache(Protocol):
    async def get(self, key: str) -> tuple[bool, Json]:
        """`(True, body)` for a live entry, `(False, None)` for none."""
        ...

    async def put(self, key: str, body: Json, ttl: int) -> None: ...

    def forget(self) -> None:
        """The flows changed: no entry made before may be served."""

    async def close(self) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Json]] = {}

    async def get(self, key: str) -> tuple[bool, Json]:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    async def put(self, key: str, body: Json, ttl: int) -> None:
        if len(self._entries) >= MAX_CACHED:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + ttl, body)

    def forget(self) -> None:
        self._entries.clear()

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    def __init__(self, url: str, prefix: str) -> None:
        """`prefix` names the database (`host.cluster.namespace`)."""
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:webhook:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"

    async def get(self, key: str) -> tuple[bool, Json]:
        try:
            stored = await self._redis.get(self._key(key))
        except Exception as exc:
            log.warning("webhook cache: Redis get failed, running uncached: %s", exc)
            return False, None
        if stored is None:
            return False, None
        body: Json = json.loads(stored)["body"]
        return True, body

    async def put(self, key: str, body: Json, ttl: int) -> None:
        try:
            await self._redis.set(self._key(key), json.dumps({"body": body}), ex=ttl)
        except Exception as exc:
            log.warning("webhook cache: Redis set failed: %s", exc)

    def forget(self) -> None:
        return None  # the keys of the new generation are new

    async def close(self) -> None:
        await self._redis.aclose()
