"""Typed keys of what the web infrastructure carries; each feature declares its own beside its routes."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from aiohttp import web

from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.web.hub import LiveHub
from ctiserver.web.origin import OriginCheck
from ctiserver.web.protocols import (
    AgentLookup,
    AmiStatus,
    AuditSink,
    CallSource,
    PartsHealth,
    SessionStore,
    SignedInUser,
    UserChannel,
    UserDirectory,
)
from ctiserver.web.throttle import LoginThrottle

SETTINGS_KEY = web.AppKey("settings", Settings)
DB_KEY = web.AppKey("db", Database)
USERS_KEY = web.AppKey("users", UserDirectory)
CALLS_KEY = web.AppKey("calls", CallSource)
AMI_KEY = web.AppKey("ami", AmiStatus)
#: epoch seconds now (a function, so tests can stop the clock)
CLOCK_KEY: web.AppKey[Callable[[], float]] = web.AppKey("clock")
#: the websocket fan-out; the contact-center services push through its to_user/to_roles
HUB_KEY = web.AppKey("live_hub", LiveHub)
#: every open websocket, closed on shutdown
WEBSOCKETS_KEY = web.AppKey("websockets", weakref.WeakSet[web.WebSocketResponse])
#: how many websockets each user (by id) holds open
OPEN_SOCKETS_KEY: web.AppKey[dict[int, int]] = web.AppKey("open_sockets")
#: the session (its cookie's token) each open websocket was opened in: closed when it ends
SOCKET_SESSIONS_KEY: web.AppKey[dict[web.WebSocketResponse, str]] = web.AppKey("socket_sessions")
#: the user's agent for the websocket's hello; set by the agents feature
AGENT_LOOKUP_KEY = web.AppKey("agent_lookup", AgentLookup)
#: what a (re)connecting websocket must get first; set by the screen pops
USER_CHANNEL_KEY = web.AppKey("user_channel", UserChannel)

#: the audit log every mutating API request is recorded in (``ctiserver.web.auditing``); set by
#: the audit feature, absent in a server without it
AUDIT_KEY = web.AppKey("audit", AuditSink)

#: the server's long-lived parts, for /healthz; set by the composition root
PARTS_KEY = web.AppKey("parts", PartsHealth)

#: the open sessions (in the database)
SESSIONS_KEY = web.AppKey("sessions", SessionStore)

#: failed logins by user and address, slowing password guessing
THROTTLE_KEY = web.AppKey("login_throttle", LoginThrottle)

#: the server's own origins: writes (and websockets) from others are refused
ORIGIN_KEY = web.AppKey("origins", OriginCheck)

#: the logged-in user, set by the auth middleware on protected routes
USER_KEY = web.RequestKey("user", SignedInUser)
