"""Queue and agent figures for supervisors and admins: today live, and any day's report."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from aiohttp import web

from ctiserver.live.schemas import DailyReport, ReportQuery, WallboardMessage, WallboardView
from ctiserver.vocabulary import SUPERVISOR_ROLES
from ctiserver.web.contract import add_messages, query_of, route


class Wallboard(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def today(self) -> dt.date: ...

    async def daily_report(self, day: dt.date) -> dict[str, Any]: ...


WALLBOARD_KEY = web.AppKey("wallboard", Wallboard)
DENIED = "supervisors and admins only"


async def get_wallboard(request: web.Request) -> dict[str, Any]:
    return request.app[WALLBOARD_KEY].snapshot()


async def daily_report(request: web.Request) -> dict[str, Any]:
    """From the stored records; the day runs from midnight to midnight in the hotline's
    time zone."""
    board = request.app[WALLBOARD_KEY]
    day = query_of(request, ReportQuery).date or board.today()
    return await board.daily_report(day)


def register(app: web.Application, wallboard: Wallboard) -> None:
    app[WALLBOARD_KEY] = wallboard
    add_messages(app, WallboardMessage)
    route(app, "GET", "/api/wallboard", get_wallboard, summary="Today's live view",
          roles=SUPERVISOR_ROLES, denied=DENIED, answer=WallboardView)
    route(app, "GET", "/api/reports/daily", daily_report, summary="A day's report",
          roles=SUPERVISOR_ROLES, denied=DENIED, query=ReportQuery, answer=DailyReport)
