"""The audit trail every feature records to: synchronous, never waits, never raises."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from ctiserver.audit.model import AuditEvent

log = logging.getLogger(__name__)


class AuditTrail:
    """Hands each event to ``put`` (the background writer's, in the server): the caller's
    work never waits for the database nor fails because of the log.

    Satisfies ``ctiserver.web.protocols.AuditSink``; web requests are recorded by the route
    contract, other features call :meth:`record` with a short verb (``ticket.transition``).
    """

    def __init__(self, put: Callable[[AuditEvent], None], clock: Callable[[], float] = time.time) -> None:
        self._put = put
        self._clock = clock

    def record(
        self,
        action: str,
        *,
        user_id: int | None,
        username: str,
        target_kind: str | None = None,
        target_id: str | None = None,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
        client: str | None = None,
    ) -> None:
        try:
            self._put(AuditEvent.new(
                self._clock(), action, user_id=user_id, username=username, target_kind=target_kind,
                target_id=target_id, status=status, details=details, client=client,
            ))
        except Exception:  # the audited operation goes on; the log says what was lost
            log.exception("audit event lost: %s by %s on %s %s", action, username, target_kind, target_id)
