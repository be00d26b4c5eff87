"""``GET /api/meta``: the contact center's words for the pages, so that none keeps a copy.

Roles, customer levels, ticket kinds (with the department each goes to, and each kind's
fields: ``ctiserver.tickets.model.kinds``), statuses and the moves between them,
pause reasons, knowledge-base languages, the queues, the hotline's number and time zone.
The pages translate the words (screenpop/i18n.js); the server decides which exist.

A feature of its own (not the web layer's): it speaks for the tickets' kinds and workflow,
and the web infrastructure imports no feature.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver import vocabulary
from ctiserver.meta.schemas import MetaView
from ctiserver.settings import Settings
from ctiserver.tickets.model.kinds import kinds_meta
from ctiserver.tickets.model.workflow import TRANSITIONS
from ctiserver.vocabulary import USER_ROLES
from ctiserver.web.contract import route
from ctiserver.web.keys import SETTINGS_KEY


async def meta(request: web.Request) -> dict[str, Any]:
    """Any logged-in user (the auth middleware guards /api)."""
    return meta_body(request.app[SETTINGS_KEY])


def meta_body(settings: Settings) -> dict[str, Any]:
    hotline = settings.hotline
    return {
        "roles": list(vocabulary.USER_ROLES),
        "supervisor_roles": sorted(vocabulary.SUPERVISOR_ROLES),
        "customer_levels": list(vocabulary.CUSTOMER_LEVELS),
        "ticket_types": list(vocabulary.TICKET_TYPES),
        "ticket_statuses": list(vocabulary.TICKET_STATUSES),
        "ticket_urgencies": list(vocabulary.TICKET_URGENCIES),
        "ticket_event_kinds": list(vocabulary.TICKET_EVENT_KINDS),
        "ticket_fields": kinds_meta(),
        "ticket_transitions": {status: sorted(to) for status, to in TRANSITIONS.items()},
        "departments": dict(vocabulary.DEPARTMENT_BY_TYPE),
        "pause_reasons": list(vocabulary.PAUSE_REASONS),
        "kb_languages": list(vocabulary.KB_LANGUAGES),
        "queues": [queue.name for queue in hotline.queues],
        "hotline": {"number": hotline.number, "timezone": hotline.timezone},
    }


def register(app: web.Application) -> None:
    route(app, "GET", "/api/meta", meta, summary="The contact center's words for the pages",
          roles=USER_ROLES, answer=MetaView)
