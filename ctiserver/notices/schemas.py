"""JSON shapes of SMS notices: a ticket's notices, a customer's opt-out, an engineer's
mobile number, the inbound callback's answer."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from ctiserver.notices.model import STATES
from ctiserver.web.schemas import Moment, OneOf, RequestBody, Shape

NoticeState = Annotated[str, OneOf(STATES)]


class NoticeView(Shape):
    id: int
    #: ``event_id:recipient:notice``: one notice per ticket event, recipient and template
    key: str
    ticket_id: int
    event_id: int
    #: customer_accepted, customer_completed, customer_survey, engineer_task
    notice: str
    #: customer or engineer
    recipient: str
    language: str
    phone: str | None
    text: str
    state: NoticeState
    #: failed sends so far
    attempts: int
    due_at: Moment
    #: held for quiet hours until then
    held_until: Moment | None
    created_at: Moment
    sent_at: Moment | None
    provider: str | None
    #: the provider's id of the accepted message
    provider_id: str | None
    error: str | None


class NoticeList(Shape):
    """``GET /api/tickets/{id}/notices``: the ticket's SMS notices, oldest first."""

    notices: list[NoticeView]


class OptOutView(Shape):
    customer_id: int
    opted_out: bool


class OptOutChange(RequestBody):
    """``PUT /api/customers/{id}/sms-opt-out``: the customer asks for no SMS (or again)."""

    opted_out: bool


class EngineerPhone(RequestBody):
    """``PUT /api/sms/engineers/{id}``: where the engineer's task notices go (null: nowhere)."""

    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)] | None


class EngineerPhoneView(Shape):
    user_id: int
    phone: str | None


class InboundAnswer(Shape):
    """What the provider's push is answered (Aliyun's shape: 0 is taken)."""

    code: int
    msg: str
