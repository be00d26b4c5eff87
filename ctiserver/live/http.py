"""Queue and agent figures for supervisors and admins: today live, and any day's report."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from aiohttp import web

from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.handling import ApiError, api
from ctiserver.web.responses import json_ok


class Wallboard(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def today(self) -> dt.date: ...

    async def daily_report(self, day: dt.date) -> dict[str, Any]: ...


WALLBOARD_KEY = web.AppKey("wallboard", Wallboard)


@api(SUPERVISOR_ROLES, denied="supervisors and admins only")
async def get_wallboard(request: web.Request) -> web.Response:
    return json_ok(request.app[WALLBOARD_KEY].snapshot())


@api(SUPERVISOR_ROLES, denied="supervisors and admins only")
async def daily_report(request: web.Request) -> web.Response:
    """``GET /api/reports/daily?date=YYYY-MM-DD`` (default today), from the stored records."""
    board = request.app[WALLBOARD_KEY]
    text = request.query.get("date")
    try:
        day = dt.date.fromisoformat(text) if text else board.today()
    except ValueError as exc:
        raise ApiError(400, "date must be YYYY-MM-DD") from exc
    return json_ok(await board.daily_report(day))


def register(app: web.Application, wallboard: Wallboard) -> None:
    app[WALLBOARD_KEY] = wallboard
    app.router.add_get("/api/wallboard", get_wallboard)
    app.router.add_get("/api/reports/daily", daily_report)
