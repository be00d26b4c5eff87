"""The audit log: a durable background writer, the trail mutating web requests are recorded
in (``app[AUDIT_KEY]``), ``GET /api/audit``."""

from __future__ import annotations

from ctiserver.audit import http
from ctiserver.audit.model import AuditEvent
from ctiserver.audit.store import AuditRepository
from ctiserver.audit.trail import AuditTrail
from ctiserver.core import Core
from ctiserver.web.keys import AUDIT_KEY


def register(core: Core) -> AuditTrail:
    """Register it first: its writer then stops last, after every feature that records to it."""
    events = AuditRepository(core.db)
    # inserted once by key: journaled while the database is away, replayed at start
    writer = core.durable_writer(
        events.append, "audit events", name="audit", encode=AuditEvent.to_dict, decode=AuditEvent.from_dict
    )
    trail = AuditTrail(writer.put, core.clock)
    core.app[AUDIT_KEY] = trail
    http.register(core.app, events)
    return trail
