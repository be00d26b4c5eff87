"""The agent desk as the web sees it (see docs/agent-desktop.md), and its refusals."""

from __future__ import annotations

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

    async def transfer(self, user_id: int, extension: str, attended: bool = False) -> dict[str, Any]: ...

    async def cancel_transfer(self, user_id: int) -> dict[str, Any]: ...

    async def hangup(self, user_id: int) -> dict[str, Any]: ...

    async def supervise(
        self, extension: str, action: str, reason: str | None = None, by: str | None = None,
    ) -> dict[str, Any]:
        """A supervisor (named ``by``) pauses, readies or logs out the agent at ``extension``."""
        ...
