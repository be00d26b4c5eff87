"""Health and call listing endpoints."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from sqlalchemy import text

from ctiserver.storage.database import Database
from ctiserver.web.keys import AMI_KEY, CALL_RECORDS_KEY, CALLS_KEY, CLOCK_KEY, DB_KEY
from ctiserver.web.responses import json_error, json_ok

log = logging.getLogger(__name__)

DB_CHECK_TIMEOUT = 2.0
MAX_ENDED = 1000


async def _database_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(DB_CHECK_TIMEOUT):
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is what the health check is there to report
        log.warning("database health check failed: %s", exc)
        return False
    return True


async def healthz(request: web.Request) -> web.Response:
    """Always 200: it reports; the monitoring decides what "degraded" means."""
    ami_connected = bool(request.app[AMI_KEY].connected)
    database_ok = await _database_ok(request.app[DB_KEY])
    return json_ok(
        {
            "status": "ok" if ami_connected and database_ok else "degraded",
            "ami": {"connected": ami_connected},
            "database": {"ok": database_ok},
        }
    )


async def list_calls(request: web.Request) -> web.Response:
    """``?state=active`` (default): the live tracker; ``?state=ended[&limit=N]``: the database."""
    state = request.query.get("state", "active")
    if state == "active":
        now = request.app[CLOCK_KEY]()
        return json_ok({"calls": [c.to_dict(now) for c in request.app[CALLS_KEY].active_calls()]})
    if state != "ended":
        return json_error(400, "state must be 'active' or 'ended'")
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return json_error(400, "limit must be an integer")
    if not 1 <= limit <= MAX_ENDED:
        return json_error(400, f"limit must be between 1 and {MAX_ENDED}")
    return json_ok({"calls": await request.app[CALL_RECORDS_KEY].list_ended(limit)})
