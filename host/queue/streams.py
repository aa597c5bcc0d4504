"""The job queue in Redis Streams, when `REDIS` is set.

- `<prefix>:stream`: the due jobs, one entry each (`job`: the job as JSON, with the
  attempts it has had), read through the consumer group `workers`: `XREADGROUP` hands a
  new entry to one process (a consumer named like `claimed_by`), which keeps it in the
  group's pending list until it `XACK`s and deletes it.
- Leases are the pending list's idle times: a process renews what it runs with
  `XCLAIM ... JUSTID` (only entries it still owns, in one script), and about once a
  second a claim first takes over, with `XAUTOCLAIM`, the entries idle for longer than
  `QUEUE_LEASE` (their process died or hung): their attempt is the attempts stored in
  the job plus the times the entry was delivered.
- `<prefix>:delayed`: jobs waiting for a retry (or queued with a delay), scored by the
  millisecond they are due; a claim first moves the due ones into the stream.
- `<prefix>:keys`: idempotency key -> job id, while the job is queued, running or failed.
- `<prefix>:failed`: job id -> the failed job, as the admin API shows it.

Queueing checks the bound and the key and adds the jobs in one script, so it is atomic
across processes. How durable the queue is then depends on Redis's own persistence
(`appendonly yes` for a queue that survives a Redis restart): docs/queue.md.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from host.errors import QueueFull
from host.queue.database import Clock
from host.queue.jobs import Job, NewJob
from host.queue.store import ERROR_CHARS, Outcome, Policy
from host.storage.database import dump_json

GROUP = "workers"
RECOVER_EVERY_MS = 1000
RECOVER_SCANS = 100
PROMOTE_BATCH = 1000

_PUT = """
local active = redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[3])
local n = tonumber(ARGV[3])
if active + n > tonumber(ARGV[1]) then return {-1, active} end
local added = 0
for i = 0, n - 1 do
  local key, id, job, at = ARGV[4 + i * 4], ARGV[5 + i * 4], ARGV[6 + i * 4], tonumber(ARGV[7 + i * 4])
  if redis.call('HSETNX', KEYS[2], key, id) == 1 then
    if at > tonumber(ARGV[2]) then redis.call('ZADD', KEYS[3], at, job)
    else redis.call('XADD', KEYS[1], '*', 'job', job) end
    added = added + 1
  end
end
return {added, active}
"""

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, job in ipairs(due) do
  redis.call('ZREM', KEYS[1], job)
  redis.call('XADD', KEYS[2], '*', 'job', job)
end
return #due
"""

_RENEW = """
local renewed = 0
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if entry[1] and entry[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    renewed = renewed + 1
  end
end
return renewed
"""

_RETRY = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
  return 1
end
return 0
"""


def _iso(ms: float | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


class StreamStore:
    def __init__(
        self,
        url: str,
        policy: Policy,
        clock: Clock = time.time,
        *,
        prefix: str = "exthost:queue",
        recover_every_ms: int = RECOVER_EVERY_MS,
    ) -> None:
        self.redis: Redis = Redis.from_url(url, decode_responses=True)
        self.policy = policy
        self.clock = clock
        self.prefix = prefix
        self.stream, self.delayed = f"{prefix}:stream", f"{prefix}:delayed"
        self.keys, self.failed = f"{prefix}:keys", f"{prefix}:failed"
        self.recover_every_ms = recover_every_ms
        self._next_recovery = 0
        self._group_ready = False
        self._entries: dict[str, str] = {}
        """Job id -> stream entry id, for the jobs this process has claimed."""

    async def _call(self, *args: Any, **options: Any) -> Any:
        """One command; redis-py parses the reply (`options` reach its parser)."""
        return await self.redis.execute_command(*args, **options)  # type: ignore[no-untyped-call]

    async def _script(self, source: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self._call("EVAL", source, len(keys), *keys, *args)

    async def _ready(self) -> None:
        if self._group_ready:
            return
        try:
            await self._call("XGROUP", "CREATE", self.stream, GROUP, "0", "MKSTREAM")
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _now(self) -> int:
        return int(self.clock() * 1000)

    # -- queueing -------------------------------------------------------------

    async def put(self, new: Sequence[NewJob]) -> int:
        if not new:
            return 0
        await self._ready()
        now = self._now()
        args: list[Any] = [self.policy.max_pending, now, len(new)]
        for job in new:
            job_id = str(uuid.uuid4())
            key = job.key or f"{job.kind}:{job_id}"
            stored = {"id": job_id, "kind": job.kind, "key": key, "payload": job.payload, "attempts": 0,
                      "created_at": now, "last_error": None}
            args += [key, job_id, dump_json(stored), now + max(0, job.delay_ms)]
        added, waiting = await self._script(_PUT, [self.stream, self.keys, self.delayed], args)
        if int(added) < 0:
            raise QueueFull(
                f"The job queue is full: {waiting} jobs are waiting or running and QUEUE_MAX_PENDING "
                f"is {self.policy.max_pending}; nothing was queued, try again later"
            )
        return int(added)

    # -- running --------------------------------------------------------------

    async def claim(self, worker: str, limit: int) -> list[Job]:
        await self._ready()
        now = self._now()
        await self._script(_PROMOTE, [self.delayed, self.stream], [now, PROMOTE_BATCH])
        claimed: list[Job] = []
        if now >= self._next_recovery:
            self._next_recovery = now + self.recover_every_ms
            claimed += await self._recover(worker, limit)
        if len(claimed) < limit:
            reply = await self._call(
                "XREADGROUP", "GROUP", GROUP, worker, "COUNT", limit - len(claimed), "STREAMS", self.stream, ">"
            )
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    stored = json.loads(fields["job"])
                    claimed.append(self._claimed(entry_id, stored, int(stored["attempts"]) + 1))
        return claimed

    async def _recover(self, worker: str, limit: int) -> list[Job]:
        """Take over the entries whose lease expired (`XAUTOCLAIM`): run again, or failed."""
        entries: list[Any] = []
        cursor = "0-0"
        for _ in range(RECOVER_SCANS):  # XAUTOCLAIM looks at a few entries per call: follow its cursor
            reply = await self._call(
                "XAUTOCLAIM", self.stream, GROUP, worker, self.policy.lease_ms, cursor, "COUNT", limit - len(entries)
            )
            entries += reply[1] if reply else []
            cursor = str(reply[0]) if reply else "0-0"
            if cursor == "0-0" or len(entries) >= limit:
                break
        jobs: list[Job] = []
        for entry_id, fields in entries:
            if not fields:
                continue  # deleted meanwhile
            stored = json.loads(fields["job"])
            pending = await self._call("XPENDING", self.stream, GROUP, entry_id, entry_id, 1, parse_detail=True)
            delivered = int(pending[0]["times_delivered"]) if pending else 1
            attempt = int(stored["attempts"]) + delivered
            stored["last_error"] = f"attempt {attempt - 1} did not finish: the lease of its process expired"
            if attempt > self.policy.max_attempts:
                stored["attempts"] = attempt - 1
                await self._to_failed(entry_id, stored, str(stored["last_error"]))
                continue
            jobs.append(self._claimed(entry_id, stored, attempt))
        return jobs

    def _claimed(self, entry_id: str, stored: dict[str, Any], attempt: int) -> Job:
        job = Job(id=stored["id"], kind=stored["kind"], key=stored["key"], payload=stored["payload"], attempt=attempt)
        self._entries[job.id] = entry_id
        return job

    async def renew(self, worker: str) -> None:
        if self._entries:
            await self._script(_RENEW, [self.stream], [GROUP, worker, *self._entries.values()])

    async def done(self, finished: Sequence[Job], worker: str) -> None:
        entries = [self._entries.pop(job.id) for job in finished if job.id in self._entries]
        if not entries:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.execute_command("XACK", self.stream, GROUP, *entries)
            pipe.execute_command("XDEL", self.stream, *entries)
            pipe.execute_command("HDEL", self.keys, *(job.key for job in finished))
            await pipe.execute()

    async def fail(self, job: Job, worker: str, error: str, *, final: bool = False) -> Outcome:
        entry_id = self._entries.pop(job.id, None)
        stored = self._stored(job, error[:ERROR_CHARS])
        if final or job.attempt >= self.policy.max_attempts:
            if entry_id is not None:
                await self._to_failed(entry_id, stored, stored["last_error"])
            return Outcome(failed=True)
        outcome = Outcome(failed=False, retry_in_ms=self.policy.retry_delay(job.attempt))
        async with self.redis.pipeline(transaction=True) as pipe:
            if entry_id is not None:
                pipe.execute_command("XACK", self.stream, GROUP, entry_id)
                pipe.execute_command("XDEL", self.stream, entry_id)
            pipe.execute_command("ZADD", self.delayed, self._now() + outcome.retry_in_ms, dump_json(stored))
            await pipe.execute()
        return outcome

    def _stored(self, job: Job, error: str | None) -> dict[str, Any]:
        return {"id": job.id, "kind": job.kind, "key": job.key, "payload": job.payload, "attempts": job.attempt,
                "created_at": self._now(), "last_error": error}

    async def _to_failed(self, entry_id: str, stored: dict[str, Any], error: str) -> None:
        now = self._now()
        row = self._row(stored, "failed", int(stored["attempts"]), None, None, None)
        row.update(last_error=error, updated_at=_iso(now))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.execute_command("XACK", self.stream, GROUP, entry_id)
            pipe.execute_command("XDEL", self.stream, entry_id)
            pipe.execute_command("HSET", self.failed, stored["id"], dump_json(row))
            await pipe.execute()

    async def release(self, claimed: Sequence[Job], worker: str) -> None:
        for job in claimed:
            entry_id = self._entries.pop(job.id, None)
            if entry_id is None:
                continue
            stored = self._stored(job, f"attempt did not finish: {worker} stopped")
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.execute_command("XACK", self.stream, GROUP, entry_id)
                pipe.execute_command("XDEL", self.stream, entry_id)
                pipe.execute_command("XADD", self.stream, "*", "job", dump_json(stored))
                await pipe.execute()

    async def active(self) -> int:
        await self._ready()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.execute_command("XLEN", self.stream)
            pipe.execute_command("ZCARD", self.delayed)
            length, delayed = await pipe.execute()
        return int(length) + int(delayed)

    # -- administration -------------------------------------------------------

    def _row(
        self, stored: dict[str, Any], state: str, attempts: int, run_after: float | None,
        claimed_by: str | None, claimed_until: float | None,
    ) -> dict[str, Any]:
        return {
            "id": stored["id"], "kind": stored["kind"], "key": stored["key"], "state": state, "attempts": attempts,
            "run_after": _iso(run_after), "claimed_by": claimed_by, "claimed_until": _iso(claimed_until),
            "last_error": stored.get("last_error"), "created_at": _iso(stored.get("created_at")),
            "updated_at": _iso(stored.get("created_at")), "payload": stored["payload"],
        }

    async def _all(self) -> list[tuple[dict[str, Any], str | None, str | None]]:
        """Every job as the admin API shows it, with its stream entry (None if not in the
        stream) and the member it is in the delayed set as (None if not delayed)."""
        await self._ready()
        now = self._now()
        rows: list[tuple[dict[str, Any], str | None, str | None]] = []
        for text in (await self._call("HVALS", self.failed)) or []:
            rows.append((json.loads(text), None, None))
        delayed = await self._call("ZRANGE", self.delayed, 0, -1, "WITHSCORES")
        for member, score in delayed or []:
            stored = json.loads(member)
            rows.append((self._row(stored, "pending", int(stored["attempts"]), float(score), None, None), None, member))
        pending = await self._call("XPENDING", self.stream, GROUP, "-", "+", 1_000_000, parse_detail=True)
        owners = {entry["message_id"]: entry for entry in pending or []}
        for entry_id, fields in (await self._call("XRANGE", self.stream, "-", "+")) or []:
            stored = json.loads(fields["job"])
            held = owners.get(entry_id)
            if held is None:
                row = self._row(stored, "pending", int(stored["attempts"]), float(stored["created_at"]), None, None)
            else:
                until = now - int(held["time_since_delivered"]) + self.policy.lease_ms
                attempts = int(stored["attempts"]) + int(held["times_delivered"])
                row = self._row(stored, "running", attempts, None, str(held["consumer"]), until)
            rows.append((row, entry_id, None))
        return rows

    async def listing(self, state: str | None) -> list[dict[str, Any]]:
        rows = [row for row, _, _ in await self._all() if state is None or row["state"] == state]
        return sorted(rows, key=lambda row: str(row["created_at"]), reverse=True)

    async def get(self, job_id: str) -> dict[str, Any] | None:
        return next((row for row, _, _ in await self._all() if row["id"] == job_id), None)

    async def retry(self, job_id: str) -> dict[str, Any] | None:
        text = await self._call("HGET", self.failed, job_id)
        if text is None:
            return None
        row = json.loads(text)
        stored = {"id": row["id"], "kind": row["kind"], "key": row["key"], "payload": row["payload"],
                  "attempts": 0, "created_at": self._now(), "last_error": row["last_error"]}
        if not await self._script(_RETRY, [self.failed, self.stream], [job_id, dump_json(stored)]):
            return None
        return self._row(stored, "pending", 0, self._now(), None, None)

    async def delete(self, job_id: str) -> bool:
        for row, entry_id, member in await self._all():
            if row["id"] != job_id or row["state"] == "running":
                continue
            async with self.redis.pipeline(transaction=True) as pipe:
                if row["state"] == "failed":
                    pipe.execute_command("HDEL", self.failed, job_id)
                elif member is not None:
                    pipe.execute_command("ZREM", self.delayed, member)
                elif entry_id is not None:
                    pipe.execute_command("XDEL", self.stream, entry_id)
                pipe.execute_command("HDEL", self.keys, row["key"])
                removed = await pipe.execute()
            return bool(removed[0])
        return False

    async def close(self) -> None:
        await self.redis.aclose()
