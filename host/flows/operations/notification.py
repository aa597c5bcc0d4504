"""`notification`: stores one in-app notification per recipient; returns their ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from host.errors import OperationFailed
from host.flows import tables
from host.flows.chain import to_text
from host.flows.operations._options import as_list, require
from host.flows.operations.registry import OperationContext, OperationType
from host.storage import Database
from host.types import Json


async def notification(options: dict[str, Any], context: OperationContext) -> Json:
    recipients = [to_text(r) for r in as_list(options.get("recipient")) if to_text(r)]
    if not recipients:
        raise OperationFailed("notification: no recipient")
    subject = to_text(options.get("subject"))
    if not subject:
        raise OperationFailed("notification: no subject")
    sender = context.accountability.user if context.accountability else None
    now = datetime.now(UTC)
    rows = [
        {
            "timestamp": now,
            "status": "inbox",
            "recipient": recipient,
            "sender": sender,
            "subject": subject[:255],
            "message": to_text(options.get("message")) or None,
            "collection": to_text(options.get("collection")) or None,
            "item": to_text(options.get("item")) or None,
        }
        for recipient in recipients
    ]

    def work(conn: Connection) -> list[int]:
        ids = []
        for row in rows:
            result = conn.execute(tables.notifications.insert().values(**row))
            key = result.inserted_primary_key
            assert key is not None
            ids.append(int(key[0]))
        return ids

    return list(await context.services.db.run(work))


async def read_notifications(db: Database, recipient: str | None = None) -> list[dict[str, Json]]:
    """Stored notifications, newest last (for tests and admin tooling)."""

    def work(conn: Connection) -> list[dict[str, Json]]:
        query = select(tables.notifications).order_by(tables.notifications.c.id)
        if recipient is not None:
            query = query.where(tables.notifications.c.recipient == recipient)
        return [
            {**dict(row), "timestamp": row["timestamp"].isoformat()} for row in conn.execute(query).mappings()
        ]

    return await db.run(work)


def _check(options: dict[str, Any]) -> None:
    require(options, "recipient")
    require(options, "subject")


OPERATIONS = [OperationType("notification", notification, check=_check, description="store a notification")]
