"""Consent and reloads: what an administrator granted each extension, and a generation
counter every process compares with the version it has loaded.

- `granted_scopes`: the granted `requestedScopes` object as JSON text; NULL when no one
  ever decided (an extension that was in `EXTENSIONS_PATH` before consent existed, or a
  folder copied there by hand): at its first load it is granted what it requests, and
  that grant is recorded (host/extensions/consent.py).
- `generation`: bumped by a reload (`POST /extensions/reload`, a watched file change, an
  install): every process reloads the extension from disk when it differs from its own.
- `source`: what it was installed from (`exthost install SPEC`), NULL for a folder copied
  by hand.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION = 8


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE exthost_extension_state ADD COLUMN granted_scopes TEXT"))
    conn.execute(text("ALTER TABLE exthost_extension_state ADD COLUMN generation INTEGER NOT NULL DEFAULT 0"))
    conn.execute(text("ALTER TABLE exthost_extension_state ADD COLUMN source TEXT"))
