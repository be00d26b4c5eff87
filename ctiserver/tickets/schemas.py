"""The shapes of the ticket routes: TICKET of docs/agent-desktop.md and what opens one."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from ctiserver import vocabulary
from ctiserver.web.schemas import Moment, OneOf, QueryString, RequestBody, Shape

MAX_SUMMARY = 500
MAX_CALL_ID = 64

TicketKind = Annotated[str, OneOf(vocabulary.TICKET_TYPES)]
TicketStatus = Annotated[str, OneOf(vocabulary.TICKET_STATUSES)]
Department = Annotated[str, OneOf(dict.fromkeys(vocabulary.DEPARTMENT_BY_TYPE.values()))]
TicketSource = Annotated[str, OneOf(vocabulary.TICKET_SOURCES)]


class TicketView(Shape):
    """TICKET: the department is the code the kind goes to (``GET /api/meta`` departments)."""

    id: int
    #: e.g. R20261122-0001: the kind's letter, the local day, the day's sequence
    number: str
    type: TicketKind
    status: TicketStatus
    department: Department
    summary: str
    customer_id: int | None
    product_id: int | None
    call_linkedid: str | None
    source: TicketSource
    created_at: Moment


class TicketAnswer(Shape):
    ticket: TicketView


class TicketList(Shape):
    tickets: list[TicketView]


class TicketOpen(RequestBody):
    """``POST /api/tickets``; with only a product, the ticket's customer is its owner."""

    type: TicketKind
    summary: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUMMARY)
    ]
    customer_id: int | None = None
    product_id: int | None = None
    #: the Linkedid of the call it is opened from
    call_id: Annotated[str, StringConstraints(max_length=MAX_CALL_ID)] | None = None
    #: the kind's own fields (e.g. a repair's symptom)
    fields: dict[str, Any] = Field(default_factory=dict)

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


class TicketQuery(QueryString):
    """``?customer_id=ID`` (newest first) or ``?call_id=LINKEDID`` (in the order opened)."""

    customer_id: int | None = None
    call_id: str | None = None

    @model_validator(mode="after")
    def _one_given(self) -> TicketQuery:
        if self.customer_id is None and self.call_id is None:
            raise ValueError("customer_id or call_id is required")
        return self
