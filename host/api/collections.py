"""Directus's `/collections` and `/fields` APIs (admin only), minimal, on the schemaless store
(`host.items.schema`): enough for `createCollection` of @directus/sdk, and for declaring the
fields to index (`schema.is_indexed`). Answers are `{"data": ...}`; `DELETE` answers 204."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from host.api.body import read_json
from host.auth import require_admin
from host.items import schema
from host.items.service import check_collection
from host.storage import Database

collections_router = APIRouter(prefix="/collections", tags=["collections"], dependencies=[Depends(require_admin)])
fields_router = APIRouter(prefix="/fields", tags=["fields"], dependencies=[Depends(require_admin)])


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


@collections_router.get("")
async def list_collections(request: Request) -> dict[str, Any]:
    return {"data": await _db(request).run(schema.list_collections)}


@collections_router.post("")
async def create_collection(request: Request) -> dict[str, Any]:
    body = await read_json(request)
    return {"data": await _db(request).run(lambda conn: schema.create_collection(conn, body, check_collection))}


@collections_router.get("/{collection}")
async def read_collection(collection: str, request: Request) -> dict[str, Any]:
    return {"data": await _db(request).run(lambda conn: schema.read_collection(conn, collection))}


@collections_router.delete("/{collection}", status_code=204)
async def delete_collection(collection: str, request: Request) -> Response:
    await _db(request).run(lambda conn: schema.delete_collection(conn, collection))
    return Response(status_code=204)


@fields_router.get("")
async def list_all_fields(request: Request) -> dict[str, Any]:
    return {"data": await _db(request).run(schema.all_fields)}


@fields_router.get("/{collection}")
async def list_fields(collection: str, request: Request) -> dict[str, Any]:
    return {"data": await _db(request).run(lambda conn: schema.list_fields(conn, collection))}


@fields_router.post("/{collection}")
async def create_field(collection: str, request: Request) -> dict[str, Any]:
    body = await read_json(request)
    return {"data": await _db(request).run(lambda conn: schema.create_field(conn, collection, body))}


@fields_router.get("/{collection}/{field}")
async def read_field(collection: str, field: str, request: Request) -> dict[str, Any]:
    return {"data": await _db(request).run(lambda conn: schema.read_field(conn, collection, field))}


@fields_router.patch("/{collection}/{field}")
async def update_field(collection: str, field: str, request: Request) -> dict[str, Any]:
    body = await read_json(request)
    return {"data": await _db(request).run(lambda conn: schema.update_field(conn, collection, field, body))}


@fields_router.delete("/{collection}/{field}", status_code=204)
async def delete_field(collection: str, field: str, request: Request) -> Response:
    await _db(request).run(lambda conn: schema.delete_field(conn, collection, field))
    return Response(status_code=204)
