"""The tickets' pushes to browsers: an SLA escalation goes to the user it names (the
ticket's assignee), or to supervisors and admins when it names nobody."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from ctiserver.vocabulary import SUPERVISOR_ROLES


class EscalationPush(Protocol):
    def to_user(self, user_id: int, message: dict[str, Any]) -> None: ...

    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None: ...


class EscalationNotifier:
    def __init__(self, hub: EscalationPush) -> None:
        self._hub = hub

    def told(self, event: dict[str, Any]) -> None:
        """The SLA watch's ``told``: one escalation event (see ``TicketEscalationMessage``)."""
        message = {"type": "ticket_escalation", "escalation": event}
        if event.get("user_id") is not None:
            self._hub.to_user(int(event["user_id"]), message)
        else:
            self._hub.to_roles(SUPERVISOR_ROLES, message)
