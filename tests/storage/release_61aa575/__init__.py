"""Versioned migrations. Each module `mNNNN_<what>.py` defines `VERSION = NNNN` and
`upgrade(conn)`; they run in order, once, each in its own transaction, and the
applied version is recorded in `exthost_migrations`. A migration is never
edited once released: changes go in a new one, so an upgrade never loses data."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, select
from sqlalchemy.engine import Connection

log = logging.getLogger("exthost.storage")

_bookkeeping = MetaData()
applied_table = Table(
    "exthost_migrations",
    _bookkeeping,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[Connection], None]


def discover() -> list[Migration]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("m"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.append(Migration(int(module.VERSION), info.name, module.upgrade))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {sorted(versions)}")
    return sorted(found, key=lambda m: m.version)


def migrate(engine: Engine) -> list[int]:
    """Apply every migration not applied yet; returns the versions applied now."""
    _bookkeeping.create_all(engine)
    with engine.connect() as conn:
        done = set(conn.execute(select(applied_table.c.version)).scalars())
    applied = []
    for migration in discover():
        if migration.version in done:
            continue
        with engine.begin() as conn:
            migration.upgrade(conn)
            conn.execute(
                applied_table.insert().values(
                    version=migration.version, name=migration.name, applied_at=datetime.now(UTC)
                )
            )
        log.info("applied migration %s", migration.name)
        applied.append(migration.version)
    return applied
