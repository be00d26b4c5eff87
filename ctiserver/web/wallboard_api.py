"""``GET /api/wallboard``: today's queue and agent figures, for supervisors and admins."""

from __future__ import annotations

from aiohttp import web

from ctiserver.web.handling import api
from ctiserver.web.keys import WALLBOARD_KEY
from ctiserver.web.live import SUPERVISOR_ROLES
from ctiserver.web.responses import json_ok


@api(SUPERVISOR_ROLES, denied="supervisors and admins only")
async def wallboard(request: web.Request) -> web.Response:
    return json_ok(request.app[WALLBOARD_KEY].snapshot())


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/wallboard", wallboard)
