"""The features' notifiers: which event becomes which websocket message, to whom."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from ctiserver.tickets.notifier import EscalationNotifier
from ctiserver.visits.notifier import VisitNotifier
from ctiserver.visits.views import VisitInfo
from ctiserver.vocabulary import SUPERVISOR_ROLES


class Hub:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, dict[str, Any]]] = []

    def to_user(self, user_id: int, message: dict[str, Any]) -> None:
        self.sent.append((user_id, message))

    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None:
        self.sent.append((frozenset(roles), message))


def test_an_escalation_naming_a_user_goes_to_them_only_and_one_naming_nobody_to_supervisors() -> None:
    hub = Hub()
    notifier = EscalationNotifier(hub)
    notifier.told({"ticket_id": 3, "level": 1, "user_id": "12"})
    notifier.told({"ticket_id": 4, "level": 2, "user_id": None})
    assert hub.sent == [
        (12, {"type": "ticket_escalation", "escalation": {"ticket_id": 3, "level": 1, "user_id": "12"}}),
        (frozenset(SUPERVISOR_ROLES),
         {"type": "ticket_escalation", "escalation": {"ticket_id": 4, "level": 2, "user_id": None}}),
    ]


def test_a_visits_change_goes_to_agents_and_supervisors() -> None:
    hub = Hub()
    visit = VisitInfo(
        id=1, ticket_id=2, ticket_number="T-2", customer_id=None, customer_name=None, number="13800138000",
        language="zh", status="pending", attempts=0, next_at=None, score=None, remarks=None,
        call_linkedid=None, agent=None, complaint_ticket_id=None,
        created_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), finished_at=None,
    )
    VisitNotifier(hub).changed(visit)
    assert hub.sent == [(frozenset({"agent", *SUPERVISOR_ROLES}), {"type": "visit", "visit": visit.to_dict()})]
    assert "staff" not in hub.sent[0][0]
