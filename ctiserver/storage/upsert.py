"""INSERT ... ON CONFLICT for the two dialects the server runs on (SQLite, PostgreSQL).

Both spell it the same (``on_conflict_do_update``, ``on_conflict_do_nothing``,
``excluded``); this picks the dialect's ``insert`` for a database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from ctiserver.storage.database import Database


def dialect_insert(db: Database, table: Any) -> postgresql.Insert | sqlite.Insert:
    """``insert(table)`` of the database's dialect, which has ON CONFLICT clauses."""
    name = db.engine.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {name} dialect")
