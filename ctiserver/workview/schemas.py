"""The shapes of the work view: its context (``GET /api/workview``) and its websocket messages."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from ctiserver import vocabulary
from ctiserver.dispatch import BranchView
from ctiserver.tickets import TicketStatus, TicketView
from ctiserver.web.schemas import Moment, OneOf, QueryString, RowId, Shape


class WorkViewQuery(QueryString):
    """Supervisors and admins choose a department (and a branch); staff always get their own."""

    department: str | None = Field(None, max_length=32)
    branch_id: RowId | None = None


class EngineerView(Shape):
    id: int
    username: str
    display_name: str | None
    #: null: every branch of the department
    branch_id: int | None


class WorkViewAnswer(Shape):
    """The view's department and branch (null: all), whether the user may choose them, the
    names of departments and branches, and the engineers a visit may be scheduled with."""

    department: str | None
    branch_id: int | None
    #: staff: the view is their department's (or, without one, their own tickets'), fixed
    fixed: bool
    departments: dict[str, str]
    branches: list[BranchView]
    engineers: list[EngineerView]


class TicketChangeView(Shape):
    """The latest event of the change pushed."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: int
    kind: Annotated[str, OneOf(vocabulary.TICKET_EVENT_KINDS)]
    #: the ticket's status before and after the event
    from_: TicketStatus | None = Field(alias="from")
    to: TicketStatus | None
    who: str | None
    at: Moment


class TicketChangedMessage(Shape):
    """Websocket, to clients watching ``tickets`` (``/ws?watch=tickets``): a ticket the user sees
    changed or was opened; supervisors and admins get every ticket's."""

    type: Literal["ticket"]
    ticket: TicketView
    event: TicketChangeView


class TicketGoneMessage(Shape):
    """Websocket, to staff watching ``tickets``: a ticket they saw is no longer theirs (dispatched
    to another department or branch, another engineer)."""

    type: Literal["ticket_gone"]
    ticket_id: int
    number: str
