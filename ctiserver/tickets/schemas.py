"""The shapes of the ticket routes: TICKET of docs/agent-desktop.md, its detail (SLA, history),
what opens one and what changes one. A kind's ``fields`` are its model in
``ctiserver.tickets.model.kinds`` (one per kind in the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, model_validator

from ctiserver import vocabulary
from ctiserver.tickets.feedback import SurveyView, VisitView
from ctiserver.tickets.model.kinds import FIELD_MODELS, FieldsInvalid, validate_fields
from ctiserver.web.schemas import Count, Moment, OneOf, QueryString, RequestBody, RowId, Shape

MAX_SUMMARY = 500
MAX_CALL_ID = 64
MAX_NOTE = 2000

TicketKind = Annotated[str, OneOf(vocabulary.TICKET_TYPES)]
TicketStatus = Annotated[str, OneOf(vocabulary.TICKET_STATUSES)]
TicketEventKind = Annotated[str, OneOf(vocabulary.TICKET_EVENT_KINDS)]
TicketSource = Annotated[str, OneOf(vocabulary.TICKET_SOURCES)]
Urgency = Annotated[str, OneOf(vocabulary.TICKET_URGENCIES)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE)]
#: a kind's fields (which kind: the ticket's ``type``)
Fields = Annotated[
    dict[str, Any],
    WithJsonSchema({"anyOf": [model.model_json_schema() for model in FIELD_MODELS.values()]}),
]


class TicketView(Shape):
    """TICKET: the department is a code of ``GET /api/dispatch``; ``version`` goes with a change."""

    id: int
    #: e.g. R20261122-0001: the kind's letter, the local day, the day's sequence
    number: str
    type: TicketKind
    status: TicketStatus
    version: int
    department: str
    branch_id: int | None
    engineer_id: int | None
    urgency: Urgency
    summary: str
    fields: dict[str, Any]
    customer_id: int | None
    product_id: int | None
    call_linkedid: str | None
    source: TicketSource
    created_at: Moment
    #: the SLA's next due time (null: done or paused)
    due_at: Moment | None
    escalation_level: int


class TicketAnswer(Shape):
    ticket: TicketView


class TicketList(Shape):
    tickets: list[TicketView]


class BranchRef(Shape):
    id: int
    name: str
    province: str
    city: str | None
    manager_user_id: int | None


class UserRef(Shape):
    id: int
    username: str
    display_name: str | None


class SlaView(Shape):
    """The SLA clock, from the history: targets in business seconds, due times, the pause."""

    response_target: float
    resolution_target: float
    response_due: Moment | None
    #: while paused: when it would fall due if worked on again now
    resolution_due: Moment | None
    responded_at: Moment | None
    completed_at: Moment | None
    #: business seconds counted so far
    response_used: float
    resolution_used: float
    paused: bool
    paused_seconds: float
    breached: bool
    breached_at: Moment | None
    escalation_level: int


class TicketEventView(Shape):
    """One line of the history: what, from which status to which, who (null user: the system)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: int
    ticket_id: int
    kind: TicketEventKind
    from_: TicketStatus | None = Field(alias="from")
    to: TicketStatus | None
    user_id: int | None
    who: str | None
    note: str | None
    at: Moment
    payload: dict[str, Any]


class TicketPhoneView(Shape):
    number: str
    #: e.g. mobile, home, or null
    label: str | None


class TicketAddressView(Shape):
    province: str | None
    city: str | None
    district: str | None
    street: str | None
    detail: str | None


class TicketCustomerView(Shape):
    """Who the ticket is for, so that the engineer can call and visit them."""

    id: int
    name: str
    level: str
    phones: list[TicketPhoneView]
    address: TicketAddressView


class ProductTicketView(Shape):
    """Another ticket of the same product (only those the user may see)."""

    id: int
    number: str
    type: TicketKind
    status: TicketStatus
    summary: str
    created_at: Moment
    completed_at: Moment | None
    #: a repair's result field (fixed, parts_replaced...), if recorded
    result: str | None


class TicketProductView(Shape):
    id: int
    category: str
    model: str
    serial: str | None
    installed_on: dt.date | None
    #: its other tickets, newest first: its history of repairs
    tickets: list[ProductTicketView]


class TicketDetail(TicketView):
    #: null for a ticket without a customer
    customer: TicketCustomerView | None
    #: null for a ticket without a product
    product: TicketProductView | None
    department_name: str | None
    branch: BranchRef | None
    engineer: UserRef | None
    appointment_start: Moment | None
    appointment_end: Moment | None
    sla: SlaView
    history: list[TicketEventView]
    #: post-call surveys of the call that opened it (added by ``ctiserver.visits``: feedback.py)
    surveys: list[SurveyView]
    #: its return visits, newest first
    visits: list[VisitView]


class TicketDetailAnswer(Shape):
    ticket: TicketDetail


class TicketOpen(RequestBody):
    """``POST /api/tickets``; with only a product, the ticket's customer is its owner."""

    type: TicketKind
    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUMMARY)
    ]
    customer_id: RowId | None = None
    product_id: RowId | None = None
    #: the Linkedid of the call it is opened from
    call_id: Annotated[str, StringConstraints(max_length=MAX_CALL_ID)] | None = None
    urgency: Urgency = "normal"
    #: the kind's own fields (``GET /api/meta`` ticket_fields), e.g. a repair's fault_symptom
    fields: Fields = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_none(cls, data: Any) -> Any:
        """``"call_id": ""`` and ``"fields": null`` read as not given (the pages send them)."""
        if isinstance(data, dict):
            data = dict(data)
            if data.get("call_id") == "":
                data["call_id"] = None
            if data.get("fields") is None:
                data.pop("fields", None)
        return data

    @model_validator(mode="after")
    def _kind_fields(self) -> TicketOpen:
        try:
            object.__setattr__(self, "fields", validate_fields(self.type, self.fields))
        except FieldsInvalid as exc:
            raise ValueError(str(exc)) from exc
        return self


class TicketQuery(QueryString):
    """Filters, all optional; ordered escalated and urgent unfinished first, then nearest due."""

    status: TicketStatus | None = None
    department: str | None = Field(None, max_length=32)
    branch_id: RowId | None = None
    kind: TicketKind | None = None
    customer_id: RowId | None = None
    call_id: str | None = Field(None, max_length=MAX_CALL_ID)
    engineer_id: RowId | None = None
    limit: int = Field(200, ge=1, le=1000)


class TicketMove(RequestBody):
    """``POST /api/tickets/{id}/status``: ``version`` (as read) refuses a stale change (409)."""

    status: TicketStatus
    note: Note | None = None
    version: Count | None = None


class TicketDispatch(RequestBody):
    department: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    branch_id: RowId | None = None
    note: Note | None = None
    version: Count | None = None


def _iso_moment(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("must be an ISO-8601 time with its offset") from exc
    return value


#: an ISO-8601 time with its offset, in a request body
MomentIn = Annotated[
    dt.datetime, BeforeValidator(_iso_moment), WithJsonSchema({"type": "string", "format": "date-time"})
]


class TicketSchedule(RequestBody):
    """The appointment window (it must end after it starts) and the engineer (a staff user)."""

    start: MomentIn
    end: MomentIn
    engineer_id: RowId | None = None
    note: Note | None = None
    version: Count | None = None

    @model_validator(mode="after")
    def _aware(self) -> TicketSchedule:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need their offset (e.g. +08:00)")
        return self


class TicketFieldsChange(RequestBody):
    """``PATCH /api/tickets/{id}``: some of the kind's fields (null clears one)."""

    fields: Fields
    note: Note | None = None
    version: Count | None = None


class TicketNote(RequestBody):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NOTE)]


class TicketEscalationView(Shape):
    """An ``escalated`` (``level``, ``notify``, ``user_id``) or ``breached`` event of a ticket."""

    model_config = ConfigDict(extra="allow", frozen=True)

    ticket_id: int
    number: str
    kind: Annotated[str, OneOf(("escalated", "breached"))]


class TicketEscalationMessage(Shape):
    """Websocket, to the branch's manager (level 1) or the supervisors: a ticket nears or passed
    its SLA target."""

    type: Literal["ticket_escalation"]
    escalation: TicketEscalationView
