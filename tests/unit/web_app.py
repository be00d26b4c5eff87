"""The web application as the server composes it, with fakes where a test gives them.

Features whose services the test does not give (desk, wallboard, flows) are left out,
as a server without them would be. Every JSON answer is checked against its declaration.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from ctiserver.agents import http as agents_http
from ctiserver.agents.protocols import AgentDesk
from ctiserver.audit import http as audit_http
from ctiserver.audit.store import AuditRepository
from ctiserver.callbacks import http as callbacks_http
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.calls import http as calls_http
from ctiserver.calls.store import CallRepository
from ctiserver.customers.store import CustomerRepository
from ctiserver.dispatch import http as dispatch_http
from ctiserver.dispatch.store import DispatchRepository
from ctiserver.ivr import http as ivr_http
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.knowledge import http as knowledge_http
from ctiserver.knowledge.store import KnowledgeRepository
from ctiserver.live import http as live_http
from ctiserver.live.http import Wallboard
from ctiserver.meta import http as meta_http
from ctiserver.phone import http as phone_http
from ctiserver.pops import http as pops_http
from ctiserver.pops.cards import CustomerCards
from ctiserver.pops.search import CustomerSearch
from ctiserver.settings import Settings
from ctiserver.storage.base import from_epoch
from ctiserver.storage.database import Database
from ctiserver.tickets import http as tickets_http
from ctiserver.tickets.store import TicketRepository
from ctiserver.users import http as users_http
from ctiserver.users import web_parts
from ctiserver.users.store import UserRepository
from ctiserver.web.app import create_app
from ctiserver.web.contract import CHECK_ANSWERS_KEY
from ctiserver.web.keys import AUDIT_KEY, USER_CHANNEL_KEY, USERS_KEY
from ctiserver.web.protocols import AmiStatus, AuditSink, CallSource, UserChannel


def build_app(
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
    audit: AuditSink | None = None,
) -> web.Application:
    """``audit``, when given, is where mutating requests are recorded (a fake, or an
    ``AuditTrail``); ``GET /api/audit`` reads the database either way."""
    app = create_app(settings, db=db, calls=calls, ami=ami, clock=clock, **web_parts(db, settings, users))
    # an answer that breaks its declaration (*/schemas.py) is a 500, failing the test
    app[CHECK_ANSWERS_KEY] = True
    calls_http.register(app, CallRepository(db))
    customers = CustomerRepository(db)
    pops_http.register(app, customers, CustomerCards(db), CustomerSearch(db))
    dispatch = DispatchRepository(db)
    dispatch_http.register(app, dispatch)
    users_http.register(app, app[USERS_KEY], dispatch)
    tickets = TicketRepository(db, timezone=settings.hotline.timezone, clock=lambda: from_epoch(clock()))
    tickets_http.register(app, tickets, customers, dispatch, users or UserRepository(db))
    knowledge_http.register(app, KnowledgeRepository(db))
    meta_http.register(app)
    audit_http.register(app, AuditRepository(db))
    queues = frozenset(queue.name for queue in settings.hotline.queues)
    callbacks_http.register(app, CallbackRepository(db), queues=queues, clock=clock)
    if audit is not None:
        app[AUDIT_KEY] = audit
    if flows is not None:
        ivr_http.register(app, flows)
    if desk is not None:
        agents_http.register(app, desk)
        phone_http.register(app, settings)
    if wallboard is not None:
        live_http.register(app, wallboard)
    if user_channel is not None:
        app[USER_CHANNEL_KEY] = user_channel
    return app
