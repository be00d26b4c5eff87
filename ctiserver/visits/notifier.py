"""The return visits' pushes to browsers: every change of a visit to agents (who make them
from the desk), supervisors and admins."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from ctiserver.visits.views import VisitInfo
from ctiserver.vocabulary import SUPERVISOR_ROLES

#: who is told of a visit's changes
VISIT_WATCHERS = frozenset({"agent", *SUPERVISOR_ROLES})


class VisitPush(Protocol):
    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None: ...


class VisitNotifier:
    def __init__(self, hub: VisitPush) -> None:
        self._hub = hub

    def changed(self, visit: VisitInfo) -> None:
        self._hub.to_roles(VISIT_WATCHERS, {"type": "visit", "visit": visit.to_dict()})
