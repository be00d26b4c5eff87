"""Return visits: every completed ticket owes one (the ``visit-feed`` task follows the
ticket-event feed), agents call from the desk or the ``visit-dialer`` places the automatic survey
calls (``visits.auto_call``); the score closes or reopens the ticket. Post-call surveys
are reported with their call's agent and tickets."""

from __future__ import annotations

import logging

from ctiserver.agents import AgentRepository
from ctiserver.core import Core
from ctiserver.ivr import HotlineIvr
from ctiserver.settings import VisitSettings
from ctiserver.storage.dialler_leases import DiallerLeases
from ctiserver.tickets import FEEDBACK_KEY, SERVING_KEY, EventFeed, TicketRepository
from ctiserver.visits import http
from ctiserver.visits.dialer import VisitDialer
from ctiserver.visits.model import VisitPolicy
from ctiserver.visits.push import VisitPush
from ctiserver.visits.service import VisitService
from ctiserver.visits.store import VisitRepository
from ctiserver.visits.surveys import SurveyReport, TicketFeedback

log = logging.getLogger(__name__)


def policy_from(settings: VisitSettings) -> VisitPolicy:
    return VisitPolicy(
        max_attempts=settings.max_attempts, retry_min=settings.retry_min, retry_max=settings.retry_max,
        close_score=settings.close_score, complaint_score=settings.complaint_score,
    )


def register(
    core: Core, tickets: TicketRepository, feed: EventFeed, hotline: HotlineIvr, agents: AgentRepository
) -> VisitService:
    """``agents``: the agent directory (the agents' own, from the composition root)."""
    settings = core.settings.visits
    store = VisitRepository(
        core.db, policy_from(settings), server=settings.server_id or core.node_name[:64]
    )

    push = VisitPush(core.hub, tickets, core.app.get(SERVING_KEY))
    service = VisitService(core.db, store, tickets, feed, clock=core.clock, changed=push)
    core.long_running("visit-feed", service.follow)
    dialer = None
    if core.settings.hotline.callback_interface:
        dialer = VisitDialer(service, core.ami, core.settings, hotline, clock=core.clock,
                             leases=DiallerLeases(core.db, store.server, settings.lease))
        core.follow(dialer.handle)
        core.ami.on_lost(dialer.link_lost)
        core.ami.on_ready(dialer.link_back)
        core.agi.route("visit-survey", dialer.agi_survey)
        # every node keeps its server's lease and follows what it claimed (an agent's click
        # to call); one node places the automatic calls
        core.long_running("visit-lease", dialer.keep_alive)
        core.long_running("visit-dialer", dialer.run_forever, once=True)
    elif settings.auto_call:
        raise ValueError("visits.auto_call needs hotline.callback_interface (how customers are called)")
    surveys = SurveyReport(core.db)
    http.register(core.app, service, dialer, agents, surveys)
    core.app[FEEDBACK_KEY] = TicketFeedback(surveys, store)
    return service
