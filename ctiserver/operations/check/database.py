"""The check of the database: reachable, and its schema at the newest migration."""

from __future__ import annotations

from pathlib import Path

from ctiserver.operations.check.results import Result, ok, problem


async def database_result(url: str) -> Result:
    """Reachable, and its schema at the newest migration (alembic current == head)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import make_url
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import create_async_engine

    from ctiserver.storage.database import alembic_config

    name = "database"
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if _missing_sqlite_file(parsed.get_backend_name(), parsed.database):
        return problem(name, f"{shown}: no such database file", "run `ctiserver db upgrade` (it creates it)")
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())

    def current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            revisions = await connection.run_sync(current)
    except Exception as exc:  # noqa: BLE001 (any driver error is the answer: unreachable)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return problem(
            name, f"cannot connect to {shown}: {reason}",
            "check [database] url; is the server running, do the role and database exist (docs/deploy.md)?",
        )
    finally:
        await engine.dispose()
    if revisions != heads:
        return problem(
            name,
            f"{shown} is at {', '.join(sorted(revisions)) or 'no migration'}, "
            f"the code needs {', '.join(sorted(heads))}",
            "run `ctiserver db upgrade`",
        )
    return ok(name, f"{shown} reachable, schema at {', '.join(sorted(heads))} (head)")


def _missing_sqlite_file(backend: str, database: str | None) -> bool:
    in_file = backend == "sqlite" and bool(database) and database != ":memory:"
    return in_file and not Path(str(database)).is_file()
