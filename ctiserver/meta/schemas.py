"""The shape of ``GET /api/meta``."""

from __future__ import annotations

from typing import Literal

from ctiserver.web.schemas import Role, Shape


class HotlineView(Shape):
    number: str
    timezone: str


class TicketFieldSpecView(Shape):
    """A field of a ticket kind: text, choice, integer, number, datetime, user (a user's id) or
    list (of texts)."""

    key: str
    type: Literal["text", "choice", "integer", "number", "datetime", "user", "list"]
    choices: list[str]
    max_length: int | None
    minimum: float | None
    maximum: float | None
    #: the agent fills it when opening the ticket (false: the department's, e.g. the appointment)
    desk: bool


class MetaView(Shape):
    """``GET /api/meta``: the contact center's words (``ctiserver.vocabulary``)."""

    roles: list[Role]
    supervisor_roles: list[Role]
    customer_levels: list[str]
    ticket_types: list[str]
    ticket_statuses: list[str]
    ticket_urgencies: list[str]
    ticket_event_kinds: list[str]
    #: ticket kind -> its fields, in the order a form shows them
    ticket_fields: dict[str, list[TicketFieldSpecView]]
    #: status -> the statuses it may move to
    ticket_transitions: dict[str, list[str]]
    #: ticket kind -> the department it goes to when no dispatch rule says otherwise
    departments: dict[str, str]
    pause_reasons: list[str]
    kb_languages: list[str]
    queues: list[str]
    hotline: HotlineView
