"""Storage: one SQLAlchemy 2 engine (SQLite by default, PostgreSQL by `DB_URL`) and versioned migrations."""

from host.storage.database import Database

__all__ = ["Database"]
