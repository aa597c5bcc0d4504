"""`/server/health`'s checks, in Directus's shape (the draft "Health Check Response Format
for HTTP APIs"): the database answers `SELECT 1` (and Redis `PING`, when `REDIS` is set);
each check is `ok`, `warn` (slower than `HEALTH_THRESHOLD_MS`) or `error` (failed, or no
answer within `HEALTH_TIMEOUT` seconds), and the whole is the worst of them."""

from __future__ import annotations

import socket
import time
from typing import Any

import anyio
import anyio.to_thread
from redis.asyncio import Redis
from sqlalchemy import text

from host.config import Settings
from host.storage import Database

HEALTH_THRESHOLD_MS = 150.0
"""Directus's default `DB_HEALTHCHECK_THRESHOLD`."""
HEALTH_TIMEOUT = 5.0
_RANK = {"ok": 0, "warn": 1, "error": 2}
SERVICE_ID = socket.gethostname()


def _check(started: float, error: BaseException | None = None) -> dict[str, Any]:
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    check: dict[str, Any] = {"componentType": "datastore", "observedUnit": "ms", "observedValue": elapsed,
                             "threshold": HEALTH_THRESHOLD_MS}
    if error is not None:
        check["status"] = "error"
        check["output"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    else:
        check["status"] = "warn" if elapsed > HEALTH_THRESHOLD_MS else "ok"
    return check


def _ping_database(database: Database) -> None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def check_database(database: Database) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with anyio.fail_after(HEALTH_TIMEOUT):
            await anyio.to_thread.run_sync(_ping_database, database, abandon_on_cancel=True)
    except TimeoutError as exc:
        return _check(started, TimeoutError(f"no answer within {HEALTH_TIMEOUT:g} s") if not str(exc) else exc)
    except Exception as exc:
        return _check(started, exc)
    return _check(started)


async def check_redis(url: str) -> dict[str, Any]:
    started = time.perf_counter()
    client = Redis.from_url(url, socket_timeout=HEALTH_TIMEOUT, socket_connect_timeout=HEALTH_TIMEOUT)
    try:
        with anyio.fail_after(HEALTH_TIMEOUT):
            await client.ping()
    except TimeoutError:
        return _check(started, TimeoutError(f"no answer within {HEALTH_TIMEOUT:g} s"))
    except Exception as exc:
        return _check(started, exc)
    finally:
        await client.aclose()
    return _check(started)


async def health(settings: Settings, database: Database, version: str) -> dict[str, Any]:
    """The full report: status, releaseId, serviceId and one list of checks per component."""
    dialect = "sqlite" if database.is_sqlite else database.engine.dialect.name
    checks: dict[str, list[dict[str, Any]]] = {f"{dialect}:responseTime": [await check_database(database)]}
    if settings.redis:
        checks["redis:responseTime"] = [await check_redis(settings.redis)]
    worst = max((check["status"] for found in checks.values() for check in found), key=_RANK.__getitem__)
    return {"status": worst, "releaseId": version, "serviceId": SERVICE_ID, "checks": checks}
