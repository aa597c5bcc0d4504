"""The items service: schemaless JSON items in collections, and the events around them.

Every write runs the filter events first (`items.<verb>` then
`<collection>.items.<verb>`, see `host.events.emitter` for the order), writes in one
transaction, and queues the action events in the durable job queue once it has
committed (before it answers: an answered write's actions survive the process). Reads run the
`items.query` filter on the query and queue the `items.read` action with the results.

A collection exists from its first item on (schemaless: creating an item in a new
collection creates it); reading, updating or deleting in one that does not exist is a
404. Every item has a primary key `id`: a string or an integer given by the client, or
else the collection's next integer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, case, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from host.errors import ExtensionFailed, FailedValidation, InvalidPayload, NotFound, RecordNotUnique
from host.events import Emitter, EventContext
from host.items.reads import Page, read_page
from host.items.tables import collections, items
from host.numbers import INT64_MAX, INT64_MIN
from host.query import Query
from host.query.memory import matches
from host.query.project import shape
from host.storage import Database
from host.types import Accountability, Json

Item = dict[str, Any]
Key = str | int

KEY_FIELD = "id"
_INTEGER_KEY = re.compile(r"-?(?:0|[1-9][0-9]*)")
COLLECTION_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")


def check_collection(name: str) -> str:
    if not COLLECTION_NAME.match(name):
        raise InvalidPayload(
            f'Invalid collection name "{name[:80]}": use 1-64 letters, digits, "_" or "-"'
        )
    return name


def key_of(value: Json) -> str:
    """The stored form of a primary key (`5` and `"5"` are the same key). A key written as an
    integer must be a 64-bit one, as a database's integer key is."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidPayload(f'"{KEY_FIELD}" must be a string or an integer')
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise _out_of_range()
    key = str(value)
    if not 1 <= len(key) <= 255:
        raise InvalidPayload(f'"{KEY_FIELD}" must be 1 to 255 characters long')
    if _INTEGER_KEY.fullmatch(key) and not INT64_MIN <= int(key) <= INT64_MAX:
        raise _out_of_range()
    if "\x00" in key:
        raise InvalidPayload(f'"{KEY_FIELD}" must not hold a NUL character')
    return key


def _out_of_range() -> InvalidPayload:
    return InvalidPayload(f'"{KEY_FIELD}" is out of range: an integer key is from {INT64_MIN} to {INT64_MAX}')


def _as_int(key: str) -> int | None:
    """`key` as an integer if it is one written canonically (so auto ids never collide with it)."""
    if key.isascii() and key.isdigit() and str(int(key)) == key:
        return int(key)
    return None


def _events(collection: str, verb: str) -> tuple[str, str]:
    return (f"items.{verb}", f"{collection}.items.{verb}")


def _object(value: Json, what: str) -> Item:
    if not isinstance(value, dict):
        raise InvalidPayload(f"{what} must be a JSON object")
    return value


class ItemsService:
    def __init__(self, db: Database, emitter: Emitter, max_depth: int = 100) -> None:
        self.db = db
        self.emitter = emitter
        self.max_depth = max_depth

    # -- create ---------------------------------------------------------------

    async def create_one(self, collection: str, data: Json, who: Accountability | None) -> Item:
        return (await self.create_many(collection, [data], who))[0]

    async def create_many(self, collection: str, data: Sequence[Json], who: Accountability | None) -> list[Item]:
        check_collection(collection)
        docs = [_object(item, "An item") for item in data]
        if not docs:
            return []
        for doc in docs:
            _check_given_key(doc)
        events, context, base = _events(collection, "create"), EventContext(who), _meta(collection, who)
        filtered = []
        for doc in docs:
            result = await self.emitter.emit_filter(events, doc, base, context)
            filtered.append(_filtered_object(result, "items.create"))
        try:
            stored = await self.db.run(lambda conn: _insert(conn, collection, filtered))
        except CounterNeeded:
            stored = await self.db.run(lambda conn: insert_reading_counter(conn, collection, filtered))
        await self.emitter.emit_actions(
            events, [{**base, "payload": item, "key": item[KEY_FIELD]} for item in stored], context
        )
        return stored

    # -- read -----------------------------------------------------------------

    async def read_by_query(self, collection: str, query: Json, who: Accountability | None) -> tuple[Page, int]:
        """The page of items `query` selects, and how many items the collection holds."""
        check_collection(collection)
        parsed, context, base = await self._query(collection, query, who, {})
        page, total = await self.db.run(lambda conn: _read(conn, collection, parsed))
        if not parsed.is_aggregate:
            page = Page([shape(doc, parsed, who, self.max_depth) for doc in page.items], page.filter_count)
        await self.emitter.emit_action(
            _events(collection, "read"), {**base, "payload": page.items, "query": parsed.to_json()}, context
        )
        return page, total

    async def read_one(self, collection: str, key: str, query: Json, who: Accountability | None) -> Item:
        check_collection(collection)
        parsed, context, base = await self._query(collection, query, who, {"key": key})
        doc = await self.db.run(lambda conn: _read_one(conn, collection, key))
        if parsed.filter is not None and not matches(parsed.filter, doc):
            raise _item_not_found(collection, key)
        item = shape(doc, parsed, who, self.max_depth)
        await self.emitter.emit_action(
            _events(collection, "read"),
            {**base, "payload": [item], "key": doc[KEY_FIELD], "query": parsed.to_json()},
            context,
        )
        return item

    async def missing(self, collection: str, keys: Sequence[str]) -> list[str]:
        """Those of `keys` that are not stored in `collection` (all of them if it does not
        exist). No event fires: this is a check, not a read (Directus's `emitEvents: false`)."""
        check_collection(collection)
        return await self.db.run(lambda conn: _missing(conn, collection, keys))

    async def _query(
        self, collection: str, query: Json, who: Accountability | None, extra: dict[str, Any]
    ) -> tuple[Query, EventContext, dict[str, Any]]:
        # checked, in one shape (dynamic variables replaced), before any hook sees it
        normalized = Query.from_json(query, who, max_depth=self.max_depth).to_json()
        context, base = EventContext(who), _meta(collection, who)
        result = await self.emitter.emit_filter(_events(collection, "query"), normalized, {**base, **extra}, context)
        return Query.from_json(result, who, max_depth=self.max_depth), context, base

    # -- update ---------------------------------------------------------------

    async def update_one(self, collection: str, key: str, data: Json, who: Accountability | None) -> Item:
        return (await self.update_many(collection, [key], data, who))[0]

    async def update_many(
        self, collection: str, keys: Sequence[str], data: Json, who: Accountability | None
    ) -> list[Item]:
        check_collection(collection)
        patch = _object(data, "The update")
        _check_key_unchanged(patch, keys)
        ids = await self.db.run(lambda conn: _existing(conn, collection, keys))
        events, context, base = _events(collection, "update"), EventContext(who), _meta(collection, who)
        result = await self.emitter.emit_filter(events, patch, {**base, "keys": ids}, context)
        patch = _filtered_object(result, "items.update")
        _check_key_unchanged(patch, keys)
        stored = await self.db.run(lambda conn: _update(conn, collection, keys, patch))
        await self.emitter.emit_action(events, {**base, "payload": patch, "keys": ids}, context)
        return stored

    async def update_batch(
        self, collection: str, changes: Sequence[tuple[str, Json]], who: Accountability | None
    ) -> list[Item]:
        """A change of its own for each key (`PATCH /items/c` with `[{id, ...}, ...]`): every
        filter runs first, then every change is written in one transaction (all or none)."""
        check_collection(collection)
        keys = [key for key, _ in changes]
        patches = [_object(data, f"The update of item {key}") for key, data in changes]
        for key, patch in zip(keys, patches, strict=True):
            _check_key_unchanged(patch, [key])
        ids = await self.db.run(lambda conn: _existing(conn, collection, keys))
        events, context, base = _events(collection, "update"), EventContext(who), _meta(collection, who)
        filtered = []
        for key, item_id, patch in zip(keys, ids, patches, strict=True):
            result = await self.emitter.emit_filter(events, patch, {**base, "keys": [item_id]}, context)
            filtered.append(_filtered_object(result, "items.update"))
            _check_key_unchanged(filtered[-1], [key])
        stored = await self.db.run(lambda conn: _update_each(conn, collection, list(zip(keys, filtered, strict=True))))
        for item_id, patch in zip(ids, filtered, strict=True):
            await self.emitter.emit_action(events, {**base, "payload": patch, "keys": [item_id]}, context)
        return stored

    async def keys_by_query(self, collection: str, query: Json, who: Accountability | None) -> list[str]:
        """The keys of the items `query` selects (`PATCH`/`DELETE /items/c` with `{"query": ...}`),
        read as any query is (Directus's `getKeysByQuery`: the `items.query` and `items.read` events
        fire)."""
        if not isinstance(query, dict):
            raise InvalidPayload('"query" must be an object')
        page, _ = await self.read_by_query(collection, {**query, "fields": [KEY_FIELD]}, who)
        return [key_of(item[KEY_FIELD]) for item in page.items]

    # -- delete ---------------------------------------------------------------

    async def delete_one(self, collection: str, key: str, who: Accountability | None) -> None:
        await self.delete_many(collection, [key], who)

    async def delete_many(self, collection: str, keys: Sequence[str], who: Accountability | None) -> None:
        check_collection(collection)
        ids = await self.db.run(lambda conn: _existing(conn, collection, keys))
        events, context, base = _events(collection, "delete"), EventContext(who), _meta(collection, who)
        result = await self.emitter.emit_filter(events, ids, base, context)
        if not isinstance(result, list):
            raise ExtensionFailed("hooks", f"a filter on items.delete returned {type(result).__name__}, not keys")
        final = [key_of(value) for value in result]
        await self.db.run(lambda conn: _delete(conn, collection, final))
        await self.emitter.emit_action(events, {**base, "payload": result, "keys": result}, context)


def _meta(collection: str, who: Accountability | None) -> dict[str, Any]:
    return {"collection": collection, "accountability": who.model_dump(mode="json") if who else None}


def _filtered_object(value: Json, event: str) -> Item:
    if not isinstance(value, dict):
        raise ExtensionFailed("hooks", f"a filter on {event} returned {type(value).__name__}, not an object")
    return value


def _check_given_key(doc: Item) -> None:
    """The key a client wrote in a new item, if any: Directus's `FAILED_VALIDATION` naming
    `id` when it cannot be one."""
    if doc.get(KEY_FIELD) is not None:
        try:
            key_of(doc[KEY_FIELD])
        except InvalidPayload as exc:
            raise FailedValidation(KEY_FIELD, "regex", exc.message) from None


def _check_key_unchanged(patch: Item, keys: Sequence[str]) -> None:
    if KEY_FIELD in patch and (len(keys) != 1 or key_of(patch[KEY_FIELD]) != keys[0]):
        raise InvalidPayload(f'The primary key "{KEY_FIELD}" of an item cannot be changed')


def _item_not_found(collection: str, key: str) -> NotFound:
    return NotFound(f'Item "{key}" doesn\'t exist in collection "{collection}".')


# --------------------------------------------------------------------------- SQL (on worker threads)


class CounterNeeded(Exception):
    """The automatic ids of a batch depend on the collection's counter before the write (an
    automatic id before a given integer id, or ids at the end of the range): the batch is
    written again by `insert_reading_counter`, in a transaction of its own."""


def _upsert_collection(conn: Connection, name: str, now: datetime) -> None:
    values = {"name": name, "next_id": 1, "created_at": now}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(collections).values(values).on_conflict_do_nothing(index_elements=["name"]))
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(collections).values(values).on_conflict_do_nothing(index_elements=["name"]))
    elif conn.execute(select(collections.c.name).where(collections.c.name == name)).first() is None:
        conn.execute(collections.insert().values(values))


def _dialect_insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _lock_collection(conn: Connection, name: str) -> None:
    """Take the collection's write lock first thing in a read-modify-write transaction.

    A no-op UPDATE: on PostgreSQL it locks the collection's row, on SQLite it starts the
    write transaction before anything is read (pysqlite would otherwise read outside it,
    and two writers could overwrite each other's changes). 404 if there is no collection.
    """
    locked = conn.execute(
        update(collections).where(collections.c.name == name).values(next_id=collections.c.next_id)
    )
    if locked.rowcount == 0:
        raise NotFound(f'Collection "{name}" doesn\'t exist.')


def _require_collection(conn: Connection, name: str) -> None:
    if conn.execute(select(collections.c.name).where(collections.c.name == name)).first() is None:
        raise NotFound(f'Collection "{name}" doesn\'t exist.')


def _unique_keys(docs: Sequence[Item]) -> None:
    seen: set[str] = set()
    for doc in docs:
        key = key_of(doc[KEY_FIELD])
        if key in seen:
            raise RecordNotUnique(f'Value "{key}" for field "{KEY_FIELD}" appears twice in the batch.')
        seen.add(key)


ROWS_PER_INSERT = 1000
"""Items per INSERT (databases bound the number of parameters of one statement)."""


def _insert(conn: Connection, collection: str, docs: list[Item]) -> list[Item]:
    """Write a batch of new items in two statements: the collection's counter moved on (the
    collection created if need be) returning its new value, then the items, a key already
    taken refusing the batch. Raises `CounterNeeded` when the automatic ids cannot be
    derived from the counter's new value alone (see there).

    The counter moves as `insert_reading_counter` moves it, item after item: a given integer
    id `g` takes it to at least `g + 1`, an automatic id takes its value and moves it on by
    one, never past INT64_MAX. With every automatic id after the last given integer id,
    that is `min(max(counter, B) + k, INT64_MAX)` (`B` the largest `g + 1`, `k` automatic
    ids), and the automatic ids are the `k` values below the result (unless it is INT64_MAX).
    """
    if conn.dialect.name not in ("sqlite", "postgresql"):
        raise CounterNeeded
    keyed = [(index, doc[KEY_FIELD]) for index, doc in enumerate(docs) if doc.get(KEY_FIELD) is not None]
    given = [(index, _as_int(key_of(value))) for index, value in keyed]
    given_ints = [(index, number) for index, number in given if number is not None]
    automatic = [index for index, doc in enumerate(docs) if doc.get(KEY_FIELD) is None]
    if given_ints and automatic and automatic[0] < given_ints[-1][0]:
        raise CounterNeeded
    _unique_keys([doc for doc in docs if doc.get(KEY_FIELD) is not None])
    floor = max((min(number + 1, INT64_MAX) for _, number in given_ints), default=None)
    count = len(automatic)
    counter = collections.c.next_id

    def big(value: int) -> Any:
        return literal(value, BigInteger)

    moved: Any = counter if floor is None else case((counter < big(floor), big(floor)), else_=counter)
    if count:
        moved = case((moved >= big(INT64_MAX - count), big(INT64_MAX)), else_=moved + big(count))
    fresh = min(max(1, floor or 1) + count, INT64_MAX)  # the counter of a new collection starts at 1
    now = datetime.now(UTC)
    upsert = (
        _dialect_insert(conn)(collections)
        .values(name=collection, next_id=fresh, created_at=now)
    )
    upsert = upsert.on_conflict_do_update(index_elements=[collections.c.name], set_={"next_id": moved})
    after = int(conn.execute(upsert.returning(collections.c.next_id)).scalar_one())
    if count and after >= INT64_MAX:
        raise CounterNeeded
    stored = list(docs)
    for number, index in enumerate(automatic, start=after - count):
        stored[index] = {KEY_FIELD: number, **{k: v for k, v in docs[index].items() if k != KEY_FIELD}}
    _write_items(conn, collection, stored, now)
    return stored


def _write_items(conn: Connection, collection: str, stored: list[Item], now: datetime) -> None:
    """One INSERT per `ROWS_PER_INSERT` items; a key already taken refuses the batch (named)."""
    rows = [
        {"collection": collection, "key": key_of(doc[KEY_FIELD]), "data": doc, "created_at": now, "updated_at": now}
        for doc in stored
    ]
    if conn.dialect.name not in ("sqlite", "postgresql"):  # any other database: look, then write
        keys = [row["key"] for row in rows]
        taken = conn.execute(
            select(items.c.key).where(items.c.collection == collection, items.c.key.in_(keys)).limit(1)
        ).scalar()
        if taken is not None:
            raise _not_unique(collection, taken)
        conn.execute(items.insert(), rows)
        return
    insert = _dialect_insert(conn)
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start : start + ROWS_PER_INSERT]
        statement = (
            insert(items)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=[items.c.collection, items.c.key])
            .returning(items.c.key)
        )
        written = set(conn.execute(statement).scalars())
        if len(written) < len(chunk):
            raise _not_unique(collection, next(str(row["key"]) for row in chunk if row["key"] not in written))


def insert_reading_counter(conn: Connection, collection: str, docs: list[Item]) -> list[Item]:
    """`_insert` for any batch: the counter read (and locked) first, ids given item after item."""
    now = datetime.now(UTC)
    _upsert_collection(conn, collection, now)
    # Ids are given in order: an automatic id is the counter, a given integer id moves it on.
    counter = int(
        conn.execute(
            select(collections.c.next_id).where(collections.c.name == collection).with_for_update()
        ).scalar_one()
    )
    stored: list[Item] = []
    for doc in docs:
        if doc.get(KEY_FIELD) is None:
            doc = {KEY_FIELD: counter, **{k: v for k, v in doc.items() if k != KEY_FIELD}}
        number = _as_int(key_of(doc[KEY_FIELD]))
        if number is not None and number >= counter:
            counter = min(number + 1, INT64_MAX)  # at the end of the range the next automatic id is taken
        stored.append(doc)
    _unique_keys(stored)
    conn.execute(update(collections).where(collections.c.name == collection).values(next_id=counter))
    try:
        _write_items(conn, collection, stored, now)
    except IntegrityError:  # a concurrent insert took the key (a database without ON CONFLICT)
        raise _not_unique(collection, "?") from None
    return stored


def _not_unique(collection: str, key: str) -> RecordNotUnique:
    return RecordNotUnique(f'Value "{key}" for field "{KEY_FIELD}" in collection "{collection}" has to be unique.')


def _rows(conn: Connection, collection: str, keys: Sequence[str]) -> dict[str, Item]:
    stmt = select(items.c.key, items.c.data).where(items.c.collection == collection, items.c.key.in_(list(keys)))
    return {key: data for key, data in conn.execute(stmt)}


KEYS_PER_LOOKUP = 500
"""Keys per `IN (...)` (databases bound the number of parameters of one statement)."""


def _missing(conn: Connection, collection: str, keys: Sequence[str]) -> list[str]:
    found: set[str] = set()
    for start in range(0, len(keys), KEYS_PER_LOOKUP):
        chunk = list(keys[start : start + KEYS_PER_LOOKUP])
        stmt = select(items.c.key).where(items.c.collection == collection, items.c.key.in_(chunk))
        found.update(conn.execute(stmt).scalars())
    return [key for key in keys if key not in found]


def _existing(conn: Connection, collection: str, keys: Sequence[str]) -> list[Key]:
    """The ids (as stored: integer or string) of `keys`; 404 for the first one missing."""
    _require_collection(conn, collection)
    found = _rows(conn, collection, keys)
    for key in keys:
        if key not in found:
            raise _item_not_found(collection, key)
    return [found[key][KEY_FIELD] for key in keys]


def _update(conn: Connection, collection: str, keys: Sequence[str], patch: Item) -> list[Item]:
    return _update_each(conn, collection, [(key, patch) for key in keys])


def _update_each(conn: Connection, collection: str, changes: Sequence[tuple[str, Item]]) -> list[Item]:
    now = datetime.now(UTC)
    _lock_collection(conn, collection)
    found = _rows(conn, collection, [key for key, _ in changes])
    stored = []
    for key, patch in changes:
        if key not in found:
            raise _item_not_found(collection, key)
        merged = {**found[key], **patch, KEY_FIELD: found[key][KEY_FIELD]}
        found[key] = merged
        conn.execute(
            update(items)
            .where(items.c.collection == collection, items.c.key == key)
            .values(data=merged, updated_at=now)
        )
        stored.append(merged)
    return stored


def _delete(conn: Connection, collection: str, keys: Sequence[str]) -> None:
    if keys:
        conn.execute(items.delete().where(items.c.collection == collection, items.c.key.in_(list(keys))))


def _read(conn: Connection, collection: str, query: Query) -> tuple[Page, int]:
    _require_collection(conn, collection)
    return read_page(conn, collection, query)


def _read_one(conn: Connection, collection: str, key: str) -> Item:
    _require_collection(conn, collection)
    doc = conn.execute(
        select(items.c.data).where(items.c.collection == collection, items.c.key == key)
    ).scalar()
    if doc is None:
        raise _item_not_found(collection, key)
    result: Item = doc
    return result
