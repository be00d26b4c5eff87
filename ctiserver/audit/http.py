"""``GET /api/audit``: the audit log, for admins."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ctiserver.audit.schemas import AuditList, AuditQuery
from ctiserver.audit.store import AuditFilter, AuditRepository
from ctiserver.audit.tables import AuditEventRow
from ctiserver.web.contract import query_of, route

AUDIT_LOG_KEY = web.AppKey("audit_log", AuditRepository)


def event_dict(row: AuditEventRow) -> dict[str, Any]:
    return {
        "id": row.id, "at": row.at.isoformat(timespec="milliseconds"), "user_id": row.user_id,
        "username": row.username, "action": row.action, "target_kind": row.target_kind,
        "target_id": row.target_id, "status": row.status, "details": row.details,
        "client": row.client,
    }


async def list_events(request: web.Request) -> dict[str, Any]:
    """Newest first; only what has been written (the log is written within a second or so,
    later while the database is away)."""
    query = query_of(request, AuditQuery)
    rows = await request.app[AUDIT_LOG_KEY].find(AuditFilter(
        start=query.start, end=query.end, username=query.user, action=query.action,
        target_kind=query.target_kind, target_id=query.target_id, limit=query.limit,
    ))
    return {"events": [event_dict(row) for row in rows]}


def register(app: web.Application, log: AuditRepository) -> None:
    app[AUDIT_LOG_KEY] = log
    route(app, "GET", "/api/audit", list_events, summary="The audit log: who changed what and when",
          roles={"admin"}, denied="admins only", query=AuditQuery, answer=AuditList)
