"""``GET /api/calls``: the calls going on now (live tracker) or the last ended ones (database)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.calls.schemas import CallList, CallMessage, CallQuery, CallsMessage
from ctiserver.calls.store import CallRepository
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.contract import add_messages, query_of, route
from ctiserver.web.keys import CALLS_KEY, CLOCK_KEY

CALL_RECORDS_KEY = web.AppKey("call_records", CallRepository)


async def list_calls(request: web.Request) -> dict[str, Any]:
    """``?state=active`` (default): the live tracker; ``?state=ended[&limit=N]``: the database."""
    query = query_of(request, CallQuery)
    if query.state == "active":
        now = request.app[CLOCK_KEY]()
        return {"calls": [c.to_dict(now) for c in request.app[CALLS_KEY].active_calls()]}
    return {"calls": await request.app[CALL_RECORDS_KEY].list_ended(query.limit)}


def register(app: web.Application, records: CallRepository) -> None:
    app[CALL_RECORDS_KEY] = records
    add_messages(app, CallsMessage, CallMessage)
    # callers' numbers and names of every call: for supervisors; an agent sees their own
    # calls on their desk (pops, the customer's history)
    route(app, "GET", "/api/calls", list_calls, summary="Live calls, or the last ended ones",
          roles=SUPERVISOR_ROLES, denied="supervisors and admins only", query=CallQuery, answer=CallList)
