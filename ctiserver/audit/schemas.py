"""JSON shapes of the audit log (``GET /api/audit``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from ctiserver.web.schemas import Moment, QueryString, Shape


class AuditQuery(QueryString):
    """Times are ISO-8601 with their offset (``2026-11-22T08:00:00Z``); every filter is optional."""

    start: Moment | None = Field(None, alias="from", description="events at or after this time")
    end: Moment | None = Field(None, alias="to", description="events before this time")
    user: str | None = Field(None, description="the actor's username (cli, system for non-web actors)")
    action: str | None = Field(
        None, description="exactly (POST /api/tickets), or a prefix ending in * (POST /api/flows*)"
    )
    target_kind: str | None = None
    target_id: str | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class AuditEventView(Shape):
    id: int
    at: Moment
    #: None for an actor that is not a web user
    user_id: int | None
    username: str
    action: str
    target_kind: str | None
    target_id: str | None
    #: the HTTP status answered, None where there is none
    status: int | None
    #: the path parameters and the body's fields (without secrets), or what a non-web actor noted
    details: dict[str, Any] | None
    #: the client's address
    client: str | None


class AuditList(Shape):
    """``GET /api/audit``: newest first."""

    events: list[AuditEventView]
