"""Collections and fields as Directus's `/collections` and `/fields` APIs show them, on the
schemaless store: a declared field records its `type`, `meta` and `schema` but does not
constrain items; `schema.is_indexed: true` adds expression indexes on its JSON path
(`host.items.indexes`), which filtered reads on the field use. Every function runs in the
caller's transaction (on a worker thread)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from host.errors import InvalidPayload, NotFound
from host.items.indexes import create_indexes, drop_indexes
from host.items.tables import collections, fields, items
from host.query.filter import check_key
from host.types import Json

Row = dict[str, Any]

FIELD_TYPES = frozenset({
    "alias", "bigInteger", "binary", "boolean", "csv", "date", "dateTime", "decimal", "float", "geometry",
    "geometry.Point", "geometry.LineString", "geometry.Polygon", "geometry.MultiPoint", "geometry.MultiLineString",
    "geometry.MultiPolygon", "hash", "integer", "json", "string", "text", "time", "timestamp", "unknown", "uuid",
})
COLLECTION_META = {"icon": None, "note": None, "hidden": False, "singleton": False, "sort": None, "group": None,
                   "accountability": "all", "archive_field": None, "sort_field": None}
FIELD_SCHEMA = {"default_value": None, "is_nullable": True, "is_unique": False, "is_primary_key": False,
                "has_auto_increment": False, "is_indexed": False}


def _collection_json(name: str, meta: Json) -> Row:
    return {"collection": name, "meta": meta, "schema": {"name": name}}


def _object(value: Json, what: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidPayload(f'Invalid payload. "{what}" must be an object or null')
    return value


def _require(conn: Connection, name: str) -> Json:
    row = conn.execute(select(collections.c.meta).where(collections.c.name == name)).first()
    if row is None:
        raise NotFound(f'Collection "{name[:80]}" doesn\'t exist.')
    return row[0]


def list_collections(conn: Connection) -> list[Row]:
    rows = conn.execute(select(collections.c.name, collections.c.meta).order_by(collections.c.name))
    return [_collection_json(name, meta) for name, meta in rows]


def read_collection(conn: Connection, name: str) -> Row:
    return _collection_json(name, _require(conn, name))


def create_collection(conn: Connection, body: Json, check_name: Any) -> Row:
    if not isinstance(body, dict) or not isinstance(body.get("collection"), str):
        raise InvalidPayload('Invalid payload. "collection" is required: {"collection": "<name>", ...}')
    name = check_name(body["collection"])
    meta = _object(body.get("meta"), "meta")
    _object(body.get("schema"), "schema")
    declared = body.get("fields") or []
    if not isinstance(declared, list):
        raise InvalidPayload('Invalid payload. "fields" must be an array of fields')
    if conn.execute(select(collections.c.name).where(collections.c.name == name)).first() is not None:
        raise InvalidPayload(f'Invalid payload. Collection "{name}" already exists.')
    full_meta = {"collection": name, **COLLECTION_META, **meta} if meta is not None else None
    conn.execute(insert(collections).values(name=name, next_id=1, created_at=datetime.now(UTC), meta=full_meta))
    for index, field in enumerate(declared):
        create_field(conn, name, field, where=f"fields[{index}].")
    return _collection_json(name, full_meta)


def delete_collection(conn: Connection, name: str) -> None:
    _require(conn, name)
    for row in list_fields(conn, name):
        if row["schema"] and row["schema"].get("is_indexed"):
            drop_indexes(conn, name, row["field"])
    conn.execute(delete(fields).where(fields.c.collection == name))
    conn.execute(delete(items).where(items.c.collection == name))
    conn.execute(delete(collections).where(collections.c.name == name))


# --------------------------------------------------------------------------- fields


def _field_json(collection: str, field: str, type_: str | None, meta: Json, schema: Json) -> Row:
    full_schema = {"name": field, "table": collection, **FIELD_SCHEMA, **schema} if isinstance(schema, dict) else None
    full_meta = {"collection": collection, "field": field, **meta} if isinstance(meta, dict) else None
    return {"collection": collection, "field": field, "type": type_, "meta": full_meta, "schema": full_schema}


def _indexed(schema: Json) -> bool:
    return isinstance(schema, dict) and schema.get("is_indexed") is True


def _checked_schema(schema: Json, where: str) -> dict[str, Any] | None:
    checked = _object(schema, f"{where}schema")
    if checked is not None and not isinstance(checked.get("is_indexed", False), bool):
        raise InvalidPayload(f'Invalid payload. "{where}schema.is_indexed" must be true or false')
    return checked


def _checked_type(value: Json, where: str) -> str:
    if not isinstance(value, str) or value not in FIELD_TYPES:
        raise InvalidPayload(f'Invalid payload. "{where}type" must be one of {", ".join(sorted(FIELD_TYPES))}')
    return value


def list_fields(conn: Connection, collection: str) -> list[Row]:
    _require(conn, collection)
    rows = conn.execute(
        select(fields.c.field, fields.c.type, fields.c.meta, fields.c.schema)
        .where(fields.c.collection == collection)
        .order_by(fields.c.field)
    )
    return [_field_json(collection, *row) for row in rows]


def all_fields(conn: Connection) -> list[Row]:
    rows = conn.execute(
        select(fields.c.collection, fields.c.field, fields.c.type, fields.c.meta, fields.c.schema).order_by(
            fields.c.collection, fields.c.field
        )
    )
    return [_field_json(*row) for row in rows]


def _stored(conn: Connection, collection: str, field: str) -> tuple[str | None, Json, Json]:
    _require(conn, collection)
    row = conn.execute(
        select(fields.c.type, fields.c.meta, fields.c.schema).where(
            fields.c.collection == collection, fields.c.field == field
        )
    ).first()
    if row is None:
        raise NotFound(f'Field "{field[:80]}" doesn\'t exist in collection "{collection}".')
    return row[0], row[1], row[2]


def read_field(conn: Connection, collection: str, field: str) -> Row:
    return _field_json(collection, field, *_stored(conn, collection, field))


def create_field(conn: Connection, collection: str, body: Json, where: str = "") -> Row:
    _require(conn, collection)
    if not isinstance(body, dict) or not isinstance(body.get("field"), str):
        raise InvalidPayload(f'Invalid payload. "{where}field" is required')
    try:
        name = check_key(body["field"], "field")
    except Exception:
        raise InvalidPayload(f'Invalid payload. "{where}field" is not a valid field name') from None
    if "." in name or name.startswith("_"):
        raise InvalidPayload(f'Invalid payload. "{where}field" may not hold "." nor start with "_"')
    type_ = _checked_type(body.get("type", "unknown"), where)
    meta = _object(body.get("meta"), f"{where}meta")
    schema = _checked_schema(body.get("schema"), where)
    taken = conn.execute(
        select(fields.c.field).where(fields.c.collection == collection, fields.c.field == name)
    ).first()
    if taken is not None:
        raise InvalidPayload(f'Invalid payload. Field "{name}" already exists in collection "{collection}".')
    conn.execute(insert(fields).values(collection=collection, field=name, type=type_, meta=meta, schema=schema))
    if _indexed(schema):
        create_indexes(conn, collection, name)
    return _field_json(collection, name, type_, meta, schema)


def update_field(conn: Connection, collection: str, field: str, body: Json) -> Row:
    type_, meta, schema = _stored(conn, collection, field)
    if not isinstance(body, dict):
        raise InvalidPayload("Invalid payload. Expected a JSON object")
    if "field" in body and body["field"] != field:
        raise InvalidPayload('Invalid payload. "field" cannot be changed')
    new_type = _checked_type(body["type"], "") if "type" in body else type_
    new_meta = meta
    if "meta" in body:
        patch = _object(body["meta"], "meta")
        new_meta = None if patch is None else {**(meta if isinstance(meta, dict) else {}), **patch}
    new_schema = schema
    if "schema" in body:
        patch = _checked_schema(body["schema"], "")
        new_schema = None if patch is None else {**(schema if isinstance(schema, dict) else {}), **patch}
    conn.execute(
        update(fields)
        .where(fields.c.collection == collection, fields.c.field == field)
        .values(type=new_type, meta=new_meta, schema=new_schema)
    )
    if _indexed(new_schema) and not _indexed(schema):
        create_indexes(conn, collection, field)
    elif _indexed(schema) and not _indexed(new_schema):
        drop_indexes(conn, collection, field)
    return _field_json(collection, field, new_type, new_meta, new_schema)


def delete_field(conn: Connection, collection: str, field: str) -> None:
    _, _, schema = _stored(conn, collection, field)
    if _indexed(schema):
        drop_indexes(conn, collection, field)
    conn.execute(delete(fields).where(fields.c.collection == collection, fields.c.field == field))
