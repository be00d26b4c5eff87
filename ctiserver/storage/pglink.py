"""A dedicated asyncpg connection beside SQLAlchemy's pool, for what must live on one session:
``LISTEN`` (``ctiserver.storage.notify``) and session-level advisory locks
(``ctiserver.storage.leases``). A pooled connection would be handed back between uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import make_url


def is_postgres(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def connect_arguments(url: str) -> dict[str, Any]:
    """asyncpg.connect's arguments for the SQLAlchemy URL ``url`` (postgresql+asyncpg://...)."""
    parsed = make_url(url)
    arguments: dict[str, Any] = {
        "host": parsed.host, "port": parsed.port, "user": parsed.username,
        "password": parsed.password, "database": parsed.database,
    }
    for key, value in parsed.query.items():
        if key in ("ssl", "sslmode"):
            arguments["ssl"] = value if isinstance(value, str) else value[0]
    return {key: value for key, value in arguments.items() if value is not None}


async def connect(url: str, timeout: float = 5.0) -> Any:
    """A new asyncpg connection to ``url``'s database (the caller closes it)."""
    import asyncpg  # type: ignore[import-untyped]  # only with PostgreSQL (the ``postgres`` extra)

    return await asyncpg.connect(timeout=timeout, **connect_arguments(url))
