"""What the web layer needs from the rest of the server, as structural types.

``ctiserver.calls.model.CallTracker`` satisfies :class:`CallSource`,
``ctiserver.users.UserRepository`` :class:`UserDirectory` (the composition root hands them
in: the web layer imports no feature); tests pass fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol


class AmiStatus(Protocol):
    @property
    def connected(self) -> bool: ...


class LiveCall(Protocol):
    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON-safe; "id" is the Linkedid, "state" is "active" or "ended"."""
        ...


class LiveCallUpdate(Protocol):
    @property
    def kind(self) -> str:
        """"started", "updated" or "ended"."""
        ...

    @property
    def call(self) -> LiveCall: ...


class CallSource(Protocol):
    def active_calls(self) -> Sequence[LiveCall]: ...

    def subscribe(self, listener: Callable[[LiveCallUpdate], None]) -> Callable[[], None]:
        """Call ``listener`` on every update until the returned function is called."""
        ...


class UserChannel(Protocol):
    """Per-user messages for the websocket: what a (re)connecting user must get first."""

    def greeting_for(self, user_id: int) -> list[dict[str, Any]]: ...


class PartsHealth(Protocol):
    def parts(self) -> dict[str, dict[str, Any]]:
        """Each long-lived part of the server by name: ``{"state": "ok" | ..., ...}``."""
        ...


class AgentLookup(Protocol):
    """The user's agent (the AGENT dict of docs/agent-desktop.md), for the websocket's hello."""

    async def agent(self, user_id: int) -> dict[str, Any] | None: ...


class AuditSink(Protocol):
    """The audit log (``ctiserver.audit``): who did what to what, and how it ended.

    ``record`` never waits and never raises into the caller.
    """

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
    ) -> None: ...


class SignedInUser(Protocol):
    """A user as the web layer knows them (``ctiserver.users.UserInfo``)."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def display_name(self) -> str | None: ...

    def to_dict(self) -> dict[str, object]: ...


class UserDirectory(Protocol):
    """Who may sign in (``ctiserver.users.UserRepository``)."""

    async def authenticate(self, username: str, password: str) -> SignedInUser | None:
        """The user if the password is right, else None."""
        ...

    async def active(self, user_id: int) -> SignedInUser | None:
        """The user if they still may log in, else None."""
        ...


class FoundSession(Protocol):
    @property
    def user_id(self) -> int: ...

    @property
    def data(self) -> dict[str, Any]: ...

    @property
    def created(self) -> float: ...


class SessionStore(Protocol):
    """The sessions in the database (``ctiserver.users.SessionRepository``)."""

    @property
    def lifetime(self) -> float: ...

    async def open(
        self, user_id: int, data: dict[str, Any], *, client: str | None = None, user_agent: str | None = None
    ) -> str: ...

    async def find(self, token: str) -> FoundSession | None: ...

    async def save(self, token: str, data: dict[str, Any]) -> None: ...

    async def revoke(self, token: str) -> bool: ...

    async def still_open(self, tokens: Collection[str]) -> set[str]:
        """Those of ``tokens`` whose session has not ended."""
        ...

    def on_ended(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever sessions end in this process; returns the unsubscribe."""
        ...
