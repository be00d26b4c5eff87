"""The aiohttp application: JSON API, live websocket feed, login page."""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from aiohttp import web

from ctiserver.agents import http as desk_api
from ctiserver.agents.protocols import AgentDesk, UserChannel, Wallboard
from ctiserver.calls import http as api
from ctiserver.calls.store import CallRepository
from ctiserver.customers import http as customers_api
from ctiserver.customers.store import CustomerRepository
from ctiserver.ivr import http as flows_api
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.knowledge import http as kb_api
from ctiserver.knowledge.store import KnowledgeRepository
from ctiserver.live import http as wallboard_api
from ctiserver.settings import Settings, project_root
from ctiserver.storage.database import Database
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserRepository
from ctiserver.web import auth, pages, ws
from ctiserver.web.hub import LiveHub
from ctiserver.web.keys import (
    AMI_KEY,
    CALL_RECORDS_KEY,
    CALLS_KEY,
    CLOCK_KEY,
    CUSTOMERS_KEY,
    DB_KEY,
    DESK_KEY,
    FLOWS_KEY,
    HUB_KEY,
    KB_KEY,
    SETTINGS_KEY,
    TICKETS_KEY,
    USER_CHANNEL_KEY,
    USERS_KEY,
    WALLBOARD_KEY,
    WEBSOCKETS_KEY,
)
from ctiserver.web.protocols import AmiStatus, CallSource

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def create_app(
    settings: Settings,
    *,
    db: Database,
    calls: CallSource,
    ami: AmiStatus,
    users: UserRepository | None = None,
    clock: Callable[[], float] = time.time,
    flows: FlowRegistry | None = None,
    desk: AgentDesk | None = None,
    wallboard: Wallboard | None = None,
    user_channel: UserChannel | None = None,
) -> web.Application:
    """The web application; ``db``, ``calls`` and ``ami`` belong to the caller, who closes them.

    ``clock`` gives the epoch seconds that live calls' durations are measured against.
    With ``flows``, admins can check, publish and roll back IVR flows under /api/flows.
    With ``desk``, users act on their agent under /api/agent; with ``wallboard``,
    supervisors get /api/wallboard; ``user_channel`` greets (re)connecting websockets.
    Customers, tickets and the knowledge base are always served (database only).
    The contact-center services push to websockets through ``app[HUB_KEY]``.
    """
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[DB_KEY] = db
    app[USERS_KEY] = users or UserRepository(db)
    app[CALL_RECORDS_KEY] = CallRepository(db)
    app[CALLS_KEY] = calls
    app[AMI_KEY] = ami
    app[CLOCK_KEY] = clock
    app[HUB_KEY] = LiveHub(clock)
    app[WEBSOCKETS_KEY] = weakref.WeakSet()
    app[CUSTOMERS_KEY] = CustomerRepository(db)
    app[TICKETS_KEY] = TicketRepository(db)
    app[KB_KEY] = KnowledgeRepository(db)
    if user_channel is not None:
        app[USER_CHANNEL_KEY] = user_channel

    # order matters: the session middleware must run before the auth middleware reads it
    auth.setup_sessions(app, settings.web)
    app.middlewares.append(auth.auth_middleware)

    app.router.add_get("/", pages.index)
    app.router.add_get("/healthz", api.healthz)
    app.router.add_post("/login", auth.login)
    app.router.add_post("/logout", auth.logout)
    app.router.add_get("/api/me", auth.me)
    app.router.add_get("/api/calls", api.list_calls)
    app.router.add_get("/ws", ws.websocket)
    if flows is not None:
        app[FLOWS_KEY] = flows
        flows_api.add_routes(app)
    customers_api.add_routes(app)
    kb_api.add_routes(app)
    if desk is not None:
        app[DESK_KEY] = desk
        desk_api.add_routes(app)
    if wallboard is not None:
        app[WALLBOARD_KEY] = wallboard
        wallboard_api.add_routes(app)
    screenpop = project_root() / "screenpop"
    if screenpop.is_dir():
        app.router.add_static("/ui/", screenpop)

    app.cleanup_ctx.append(ws.live_feed)
    app.on_shutdown.append(ws.close_websockets)
    app.on_response_prepare.append(_security_headers)
    return app
