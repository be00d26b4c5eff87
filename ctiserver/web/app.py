"""The aiohttp application's infrastructure: sessions and login, health, the websocket feed, pages.

The features add their own routes with their ``http.register(app, ...)``; the composition
root (``ctiserver.server``) decides which.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from aiohttp import web

from ctiserver.resources import pages_dir
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.web import auth, infrastructure, metrics, pages, ws
from ctiserver.web.hub import LiveHub
from ctiserver.web.keys import (
    AMI_KEY,
    CALLS_KEY,
    CLOCK_KEY,
    DB_KEY,
    HUB_KEY,
    OPEN_SOCKETS_KEY,
    ORIGIN_KEY,
    SETTINGS_KEY,
    SOCKET_SESSIONS_KEY,
    THROTTLE_KEY,
    USERS_KEY,
    WEBSOCKETS_KEY,
)
from ctiserver.web.origin import OriginCheck
from ctiserver.web.protocols import AmiStatus, CallSource, SessionStore, UserDirectory
from ctiserver.web.remotes import TrustedProxies
from ctiserver.web.throttle import FailureCounts, LoginThrottle

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
    users: UserDirectory,
    sessions: SessionStore,
    login_failures: FailureCounts,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """The web application without any feature's routes; ``db``, ``calls`` and ``ami`` belong
    to the caller, who closes them; ``users``, ``sessions``, ``login_failures``: who may sign in,
    their sessions and failed logins (the users feature's, handed in by the composition root:
    ``ctiserver.users.web_parts``).

    ``clock`` gives the epoch seconds that live calls' durations are measured against.
    The contact-center services push to websockets through ``app[HUB_KEY]``.
    """
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[DB_KEY] = db
    app[USERS_KEY] = users
    app[CALLS_KEY] = calls
    app[AMI_KEY] = ami
    app[CLOCK_KEY] = clock
    app[HUB_KEY] = LiveHub(clock)
    app[WEBSOCKETS_KEY] = weakref.WeakSet()
    app[OPEN_SOCKETS_KEY] = {}
    app[SOCKET_SESSIONS_KEY] = {}
    app[THROTTLE_KEY] = LoginThrottle(login_failures)
    metrics.check_access_setting(settings.web)
    app[metrics.METRICS_KEY] = node_metrics = metrics.ServerMetrics()
    node_metrics.reading("ctiserver_websocket_clients", "Websockets open on this node",
                         lambda: len(app[WEBSOCKETS_KEY]))

    # order matters: the client's address from a trusted proxy's headers first; then writes
    # from another origin refused before anything else; the session middleware must run
    # before the auth middleware reads it
    if settings.web.trusted_proxies:
        app.middlewares.append(TrustedProxies(settings.web.trusted_proxies).middleware)
    origins = OriginCheck(settings.web.origins)
    app[ORIGIN_KEY] = origins
    app.middlewares.append(origins.middleware)
    auth.setup_sessions(app, settings.web, sessions)
    app.middlewares.append(auth.auth_middleware)

    app.router.add_get("/", pages.index)
    infrastructure.register(app)
    app.router.add_get("/ws", ws.websocket)
    app.router.add_static("/ui/", pages_dir())

    app.cleanup_ctx.append(ws.live_feed)
    app.cleanup_ctx.append(ws.session_watch)
    app.on_shutdown.append(ws.close_websockets)
    app.on_response_prepare.append(_security_headers)
    return app
