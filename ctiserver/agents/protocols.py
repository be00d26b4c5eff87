"""What the web layer needs from the contact-center services (see docs/agent-desktop.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol


class DeskError(Exception):
    """A refused agent action: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AgentDesk(Protocol):
    """Agent actions for a logged-in user; every method returns the AGENT dict."""

    async def agent(self, user_id: int) -> dict[str, Any] | None: ...

    async def login(self, user_id: int, queues: list[str] | None = None) -> dict[str, Any]: ...

    async def logout(self, user_id: int) -> dict[str, Any]: ...

    async def pause(self, user_id: int, reason: str) -> dict[str, Any]: ...

    async def ready(self, user_id: int) -> dict[str, Any]: ...


class Wallboard(Protocol):
    def snapshot(self) -> dict[str, Any]: ...

    def today(self) -> date: ...

    async def daily_report(self, day: date) -> dict[str, Any]: ...


class UserChannel(Protocol):
    """Per-user messages for the websocket: what a (re)connecting user must get first."""

    def greeting_for(self, user_id: int) -> list[dict[str, Any]]: ...


PAUSE_REASONS = ("lunch", "training", "after_call_work", "meeting", "other")
