"""Typed keys for what the application and its requests carry."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from aiohttp import web

from ctiserver.agents.protocols import AgentDesk, UserChannel, Wallboard
from ctiserver.calls.store import CallRepository
from ctiserver.customers.store import CustomerRepository
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.knowledge.store import KnowledgeRepository
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.tickets.store import TicketRepository
from ctiserver.users.store import UserInfo, UserRepository
from ctiserver.web.hub import LiveHub
from ctiserver.web.protocols import AmiStatus, CallSource

SETTINGS_KEY = web.AppKey("settings", Settings)
DB_KEY = web.AppKey("db", Database)
USERS_KEY = web.AppKey("users", UserRepository)
CALL_RECORDS_KEY = web.AppKey("call_records", CallRepository)
CALLS_KEY = web.AppKey("calls", CallSource)
AMI_KEY = web.AppKey("ami", AmiStatus)
CLOCK_KEY = web.AppKey("clock", Callable[[], float])
#: the websocket fan-out; the contact-center services push through its to_user/to_roles
HUB_KEY = web.AppKey("live_hub", LiveHub)
#: every open websocket, closed on shutdown
WEBSOCKETS_KEY = web.AppKey("websockets", weakref.WeakSet[web.WebSocketResponse])
#: the IVR flows in force; only set when the admin flow API is served
FLOWS_KEY = web.AppKey("flows", FlowRegistry)
CUSTOMERS_KEY = web.AppKey("customers", CustomerRepository)
TICKETS_KEY = web.AppKey("tickets", TicketRepository)
KB_KEY = web.AppKey("knowledge", KnowledgeRepository)
#: agent actions; only set (and /api/agent served) when the app is given a desk
DESK_KEY = web.AppKey("desk", AgentDesk)
#: today's figures; only set (and /api/wallboard served) when the app is given a wallboard
WALLBOARD_KEY = web.AppKey("wallboard", Wallboard)
#: what a (re)connecting websocket must get first; optional
USER_CHANNEL_KEY = web.AppKey("user_channel", UserChannel)

#: the logged-in user, set by the auth middleware on protected routes
USER_KEY = web.RequestKey("user", UserInfo)
