"""The durable job queue, for the administrator: `GET /jobs` (Directus's query parameters:
`filter[state][_eq]=failed`, `sort`, `limit`, `offset`, `fields`, `meta`), `GET /jobs/{id}`,
`POST /jobs/{id}/retry` (a failed job queued again, its attempts reset) and
`DELETE /jobs/{id}` (a failed or pending job forgotten)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from host.api.flows import query_of
from host.auth import require_admin
from host.errors import NotFound
from host.query import Query
from host.query.lists import run_list
from host.query.model import Sort
from host.queue import JobQueue
from host.queue.jobs import STATES

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Depends(require_admin)])


def queue_of(request: Request) -> JobQueue:
    queue: JobQueue = request.app.state.queue
    return queue


def _query(request: Request) -> Query:
    query = query_of(request)  # the flows API's reading of Directus query parameters
    if not query.sort:
        query = dataclasses.replace(query, sort=(Sort(("created_at",), True),))
    return query


def _one_state(query: Query) -> str | None:
    """The state `filter[state][_eq]` names, read in the database rather than filtered after."""
    rule = (query.filter_json or {}).get("state")
    wanted = rule.get("_eq") if isinstance(rule, dict) else None
    return wanted if isinstance(wanted, str) and wanted in STATES else None


@router.get("")
async def list_jobs(request: Request) -> dict[str, Any]:
    query = _query(request)
    rows = await queue_of(request).store.listing(_one_state(query))
    page, meta = run_list(rows, query)
    return {"data": page, **({"meta": meta} if meta else {})}


@router.get("/{job_id}")
async def read_job(job_id: str, request: Request) -> dict[str, Any]:
    row = await queue_of(request).store.get(job_id)
    if row is None:
        raise NotFound(f'No job "{job_id[:80]}"')
    return {"data": row}


@router.post("/{job_id}/retry")
async def retry_job(job_id: str, request: Request) -> dict[str, Any]:
    queue = queue_of(request)
    row = await queue.store.retry(job_id)
    if row is None:
        raise NotFound(f'No failed job "{job_id[:80]}" to retry')
    queue.wake()
    return {"data": row}


@router.delete("/{job_id}", status_code=204)
async def delete_job(job_id: str, request: Request) -> Response:
    if not await queue_of(request).store.delete(job_id):
        raise NotFound(f'No failed or pending job "{job_id[:80]}" (a running job is not deleted)')
    return Response(status_code=204)
