"""``GET /api/calls``: the calls going on now (live tracker) or the last ended ones (database)."""

from __future__ import annotations

from aiohttp import web

from ctiserver.calls.store import CallRepository
from ctiserver.web.keys import CALLS_KEY, CLOCK_KEY
from ctiserver.web.responses import json_error, json_ok

CALL_RECORDS_KEY = web.AppKey("call_records", CallRepository)
MAX_ENDED = 1000


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


def register(app: web.Application, records: CallRepository) -> None:
    app[CALL_RECORDS_KEY] = records
    app.router.add_get("/api/calls", list_calls)
