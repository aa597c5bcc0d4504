"""The database's plan for a statement, as text lines (EXPLAIN; for tests and the bench)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection


def explain(conn: Connection, stmt: Any) -> list[str]:
    """EXPLAIN (QUERY PLAN) of `stmt`, run with its bound parameters as a read would run it."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    if conn.dialect.name == "sqlite":
        params = tuple(compiled.params[name] for name in compiled.positiontup)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).fetchall()
        return [str(row[-1]) for row in rows]
    rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params).fetchall()
    return [str(row[0]) for row in rows]
