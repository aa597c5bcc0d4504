"""Rate limiting, as Directus's `RATE_LIMITER_*` settings: each client IP may make
`RATE_LIMITER_POINTS` requests per window of `RATE_LIMITER_DURATION` seconds (a window
starts with the first request of an IP); one more is answered `429 REQUESTS_EXCEEDED`
with `Retry-After` (seconds until the window ends).

The counts live in memory (each process its own), or in Redis when `REDIS` is set: then
every process and host on that Redis shares one budget per IP (keys
`QUEUE_NAMESPACE:ratelimit:IP`, expiring with their window). When Redis cannot be
reached the request is let through and a warning logged (a rate limiter outage does not
take the API down). `/server/ping` is not limited (as in Directus, it answers before).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from host.api.errors import render_error
from host.config import Settings
from host.errors import RequestsExceeded

log = logging.getLogger("exthost.ratelimit")
EXEMPT = frozenset({"/server/ping"})


class Budget(Protocol):
    async def consume(self, key: str) -> float | None:
        """Take one point from `key`'s window: None when allowed, else the seconds until it ends."""
        ...

    async def close(self) -> None: ...


class MemoryBudget:
    """Fixed windows per key in this process; expired windows are swept as they are met."""

    def __init__(self, points: int, duration: float) -> None:
        self.points = points
        self.duration = duration
        self._windows: dict[str, tuple[float, int]] = {}

    async def consume(self, key: str) -> float | None:
        now = time.monotonic()
        if len(self._windows) > 10_000:
            self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
        ends, used = self._windows.get(key, (0.0, 0))
        if ends <= now:
            ends, used = now + self.duration, 0
        used += 1
        self._windows[key] = (ends, used)
        return None if used <= self.points else ends - now

    async def close(self) -> None:
        self._windows.clear()


_CONSUME = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {used, ttl}
"""


class RedisBudget:
    """One window per key in Redis (INCR and PEXPIRE in one script): shared by every process."""

    def __init__(self, url: str, prefix: str, points: int, duration: float) -> None:
        self.points = points
        self.duration_ms = max(1, int(duration * 1000))
        self.prefix = prefix
        self._redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._redis.register_script(_CONSUME)

    async def consume(self, key: str) -> float | None:
        try:
            used, ttl = await self._script(keys=[f"{self.prefix}:ratelimit:{key}"], args=[self.duration_ms])
        except (RedisError, OSError) as exc:
            log.warning("rate limiter: Redis unavailable, request let through: %s", exc)
            return None
        return None if int(used) <= self.points else max(int(ttl), 0) / 1000

    async def close(self) -> None:
        await self._redis.aclose()


def open_budget(settings: Settings) -> Budget | None:
    """The budget `RATE_LIMITER_*` asks for; None when the rate limiter is off."""
    if not settings.rate_limiter_enabled:
        return None
    if settings.redis:
        return RedisBudget(settings.redis, settings.queue_namespace, settings.rate_limiter_points,
                           settings.rate_limiter_duration)
    return MemoryBudget(settings.rate_limiter_points, settings.rate_limiter_duration)


class RateLimitMiddleware:
    """Counts against `app.state.rate_budget`, which the lifespan opens when
    `RATE_LIMITER_ENABLED` (and closes); without one every request passes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget: Budget | None = getattr(scope["app"].state, "rate_budget", None) if scope["type"] == "http" else None
        if budget is None or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = await budget.consume(client[0] if client else "unknown")
        if wait is None:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        error = RequestsExceeded(f"Too many requests, retry after {seconds}s.", seconds)
        response = await render_error(Request(scope, receive), error)
        await response(scope, receive, send)
