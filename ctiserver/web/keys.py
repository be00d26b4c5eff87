"""Typed keys for what the application and its requests carry."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from aiohttp import web

from ctiserver.ivr.registry import FlowRegistry
from ctiserver.settings import Settings
from ctiserver.storage.calls import CallRepository
from ctiserver.storage.database import Database
from ctiserver.storage.users import UserInfo, UserRepository
from ctiserver.web.live import LiveHub
from ctiserver.web.protocols import AmiStatus, CallSource

SETTINGS_KEY = web.AppKey("settings", Settings)
DB_KEY = web.AppKey("db", Database)
USERS_KEY = web.AppKey("users", UserRepository)
CALL_RECORDS_KEY = web.AppKey("call_records", CallRepository)
CALLS_KEY = web.AppKey("calls", CallSource)
AMI_KEY = web.AppKey("ami", AmiStatus)
CLOCK_KEY = web.AppKey("clock", Callable[[], float])
HUB_KEY = web.AppKey("live_hub", LiveHub)
#: every open websocket, closed on shutdown
WEBSOCKETS_KEY = web.AppKey("websockets", weakref.WeakSet[web.WebSocketResponse])
#: the IVR flows in force; only set when the admin flow API is served
FLOWS_KEY = web.AppKey("flows", FlowRegistry)

#: the logged-in user, set by the auth middleware on protected routes
USER_KEY = web.RequestKey("user", UserInfo)
