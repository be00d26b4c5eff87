"""The callbacks' pushes to browsers: every change of a task to supervisors and admins, and
the dialer's offers to the desk of the agent whose phone it rings."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from ctiserver.callbacks.store import CallbackInfo
from ctiserver.vocabulary import SUPERVISOR_ROLES


class PushToRoles(Protocol):
    def to_roles(self, roles: Collection[str], message: dict[str, Any]) -> None: ...


class DeskPush(Protocol):
    """The agents' seats (``Agents.seats``): one push to an agent's desk, shared with pops."""

    def to_desk(self, interface: str, message: dict[str, Any]) -> None: ...


class CallbackNotifier:
    def __init__(self, hub: PushToRoles, desks: DeskPush) -> None:
        self._hub = hub
        self._desks = desks

    def changed(self, task: CallbackInfo) -> None:
        self._hub.to_roles(SUPERVISOR_ROLES, {"type": "callback", "callback": task.to_dict()})

    def offer(self, interface: str, body: dict[str, Any]) -> None:
        """In order, even when the first needs a look at the agent directory."""
        self._desks.to_desk(interface, {"type": "callback_offer", **body})
