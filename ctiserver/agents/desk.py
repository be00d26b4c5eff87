"""Agents at their desks: log in to queues, pause with a reason, get ready, log out,
hand the call over to another agent (blind transfer).

Handler (web) -> this manager (checks the preconditions) -> an AMI action (the
side effect). The agent's state is not set here: Asterisk answers the action
with QueueMember* events, the AgentBoard follows them, and the answer returned
to the caller is the board's state once Asterisk has confirmed (or what it is
when confirmation takes too long).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from typing import Any

from ctiserver.agents.model import Agent, AgentBoard, AgentState, AgentUpdate
from ctiserver.agents.protocols import DeskError
from ctiserver.agents.store import AgentRecord, AgentRepository
from ctiserver.telephony.ami.link import AmiActionFailed, AmiError, AmiLink
from ctiserver.vocabulary import PAUSE_REASONS, is_extension

#: how long an action waits for Asterisk's confirming events before answering anyway
CONFIRM_SECONDS = 3.0
#: the dialplan context where an agent's extension rings that agent (dialplans/extensions.conf.j2)
TRANSFER_CONTEXT = "agent-phones"


class AgentDeskService:
    def __init__(
        self,
        agents: AgentRepository,
        ami: AmiLink,
        board: AgentBoard,
        *,
        queues: Collection[str],
        interface_pattern: str,
        state_interface_pattern: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._agents = agents
        self._ami = ami
        self._board = board
        self._queues = tuple(queues)
        self._pattern = interface_pattern
        self._state_pattern = state_interface_pattern
        self._clock = clock
        #: interface -> the supervisor who paused that agent, and whether the board has shown
        #: the pause yet (a pause seen then gone ends it; the agent's own pause replaces it)
        self._paused_by: dict[str, tuple[str, bool]] = {}

    def interface_of(self, record: AgentRecord) -> str:
        return self._pattern.format(extension=record.extension)

    def _state_interface(self, record: AgentRecord) -> dict[str, str]:
        """The member's StateInterface (hotline.agent_state_interface), if set."""
        pattern = self._state_pattern
        return {"StateInterface": pattern.format(extension=record.extension)} if pattern else {}

    async def agent(self, user_id: int) -> dict[str, Any] | None:
        record = await self._agents.for_user(user_id)
        return None if record is None else self._describe(record)

    async def login(self, user_id: int, queues: list[str] | None = None) -> dict[str, Any]:
        record = await self._record(user_id)
        wanted = list(queues) if queues else list(record.skills or self._queues)
        unknown = sorted(set(wanted) - set(self._queues))
        if unknown:
            raise DeskError(400, f"no such queue: {', '.join(unknown)}")
        interface = self.interface_of(record)
        for queue in wanted:
            await self._act(
                {"Action": "QueueAdd", "Queue": queue, "Interface": interface, "MemberName": record.name,
                 "Paused": "false", **self._state_interface(record)},
                tolerate="Already there",
            )
        await self._until(interface, lambda a: set(wanted) <= a.queues)
        return self._describe(record)

    async def logout(self, user_id: int) -> dict[str, Any]:
        return await self._logout(await self._record(user_id))

    async def pause(self, user_id: int, reason: str) -> dict[str, Any]:
        return await self._pause(await self._record(user_id), reason, "log in to your queues first")

    async def ready(self, user_id: int) -> dict[str, Any]:
        return await self._ready(await self._record(user_id), "log in to your queues first")

    async def supervise(
        self, extension: str, action: str, reason: str | None = None, by: str | None = None,
    ) -> dict[str, Any]:
        """A supervisor (named ``by``) acts on the agent at ``extension``: ``pause`` (with
        ``reason``), ``ready`` or ``logout``, as the agent would from their desk. The agent's
        desk is told who paused them (``paused_by``)."""
        record = await self._agents.by_extension(extension)
        if record is None:
            raise DeskError(404, f"no agent at extension {extension}")
        not_in = "that agent is not logged in to any queue"
        if action == "pause":
            return await self._pause(record, reason or "other", not_in, by=by)
        if action == "ready":
            return await self._ready(record, not_in)
        if action == "logout":
            return await self._logout(record)
        raise DeskError(400, f"unknown action {action!r}")

    async def _logout(self, record: AgentRecord) -> dict[str, Any]:
        interface = self.interface_of(record)
        agent = self._board.get(interface)
        if agent is not None and agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise DeskError(409, "finish the call before logging out")
        for queue in sorted(agent.queues if agent is not None else self._queues):
            await self._act({"Action": "QueueRemove", "Queue": queue, "Interface": interface}, tolerate="Not there")
        await self._until(interface, lambda a: not a.queues)
        return self._describe(record)

    async def _pause(
        self, record: AgentRecord, reason: str, not_logged_in: str, by: str | None = None,
    ) -> dict[str, Any]:
        if reason not in PAUSE_REASONS:
            raise DeskError(400, f"unknown pause reason {reason!r}; one of {', '.join(PAUSE_REASONS)}")
        interface = self._logged_in(record, not_logged_in)
        # known before Asterisk confirms: the push of the paused agent says who did it
        if by:
            self._paused_by[interface] = (by, False)
        else:
            self._paused_by.pop(interface, None)
        try:
            await self._act({"Action": "QueuePause", "Interface": interface, "Paused": "true", "Reason": reason})
        except DeskError:
            self._paused_by.pop(interface, None)
            raise
        await self._until(interface, lambda a: a.paused)
        return self._describe(record)

    async def _ready(self, record: AgentRecord, not_logged_in: str) -> dict[str, Any]:
        interface = self._logged_in(record, not_logged_in)
        await self._act({"Action": "QueuePause", "Interface": interface, "Paused": "false"})
        await self._until(interface, lambda a: not a.paused)
        return self._describe(record)

    async def transfer(self, user_id: int, extension: str, attended: bool = False) -> dict[str, Any]:
        """Hand the caller over to the agent at ``extension``, as the phone's transfer key would.

        Blind: Asterisk moves the caller to that extension of TRANSFER_CONTEXT (which rings
        the agent the way the queues do); the first agent's part of the call ends there.
        Attended (``Atxfer``): the caller waits on hold while the agent talks to the other
        one; the agent hanging up completes the transfer, :meth:`cancel_transfer` takes the
        caller back. The pop follows the call to the new agent (ScreenPopService).
        """
        record = await self._record(user_id)
        if not is_extension(extension):
            raise DeskError(400, "extension must be digits")
        if extension == record.extension:
            raise DeskError(400, "that is your own extension")
        target = await self._agents.by_extension(extension)
        if target is None:
            raise DeskError(404, f"no agent at extension {extension}")
        agent = self._board.get(self.interface_of(record))
        if agent is None or agent.state != AgentState.ON_CALL or agent.channel is None:
            raise DeskError(409, "you have no call to transfer")
        action = "Atxfer" if attended else "BlindTransfer"
        await self._act({"Action": action, "Channel": agent.channel, "Context": TRANSFER_CONTEXT,
                         "Exten": extension})
        return self._describe(record)

    async def cancel_transfer(self, user_id: int) -> dict[str, Any]:
        """Back to the caller from an attended transfer's consultation (AMI ``CancelAtxfer``)."""
        record = await self._record(user_id)
        agent = self._board.get(self.interface_of(record))
        if agent is None or agent.state != AgentState.ON_CALL or agent.channel is None:
            raise DeskError(409, "you have no call to transfer")
        await self._act({"Action": "CancelAtxfer", "Channel": agent.channel})
        return self._describe(record)

    async def hangup(self, user_id: int) -> dict[str, Any]:
        """End the agent's own call (AMI ``Hangup`` of their channel), for desk phones and
        browsers alike; only ever the channel the board follows for this agent."""
        record = await self._record(user_id)
        agent = self._board.get(self.interface_of(record))
        if agent is None or agent.state != AgentState.ON_CALL or agent.channel is None:
            raise DeskError(409, "you have no call to hang up")
        await self._act({"Action": "Hangup", "Channel": agent.channel}, tolerate="No such channel")
        return self._describe(record)

    async def _record(self, user_id: int) -> AgentRecord:
        record = await self._agents.for_user(user_id)
        if record is None:
            raise DeskError(404, "no agent for this user")
        return record

    def _logged_in(self, record: AgentRecord, refusal: str) -> str:
        """The agent's interface, if they are in some queue; else 409 with ``refusal``."""
        interface = self.interface_of(record)
        agent = self._board.get(interface)
        if agent is None or not agent.queues:
            raise DeskError(409, refusal)
        return interface

    async def _act(self, action: dict[str, str], tolerate: str | None = None) -> None:
        try:
            await self._ami.send_action(action)
        except AmiActionFailed as exc:
            message = str(exc.response.get("Message", "")) if exc.response is not None else str(exc)
            if tolerate is None or tolerate.lower() not in message.lower():
                raise DeskError(502, f"Asterisk refused {action['Action']}: {message}") from exc
        except AmiError as exc:
            raise DeskError(503, f"Asterisk is not reachable: {exc}") from exc

    async def _until(self, interface: str, done: Callable[[Agent], bool]) -> None:
        """Wait for the board to show what Asterisk confirmed; the events come on the AMI link."""
        current = self._board.get(interface)
        if current is not None and done(current):
            return
        confirmed = asyncio.get_running_loop().create_future()

        def check(update: AgentUpdate) -> None:
            if update.agent.interface == interface and done(update.agent) and not confirmed.done():
                confirmed.set_result(None)

        unsubscribe = self._board.subscribe(check)
        try:
            await asyncio.wait_for(confirmed, CONFIRM_SECONDS)
        except TimeoutError:
            pass
        finally:
            unsubscribe()

    def _describe(self, record: AgentRecord) -> dict[str, Any]:
        """The AGENT shape of docs/agent-desktop.md."""
        interface = self.interface_of(record)
        agent = self._board.get(interface)
        if agent is None:
            return {
                "extension": record.extension, "name": record.name, "interface": interface,
                "state": AgentState.LOGGED_OUT.value, "since": None, "reason": None, "paused_by": None,
                "queues": [], "call_id": None,
            }
        return self.describe(agent, record.extension, record.name)

    def describe(self, agent: Agent, extension: str, name: str | None) -> dict[str, Any]:
        """AGENT of the board's ``agent`` (whose extension and directory name are given): what
        the desk answers and what is pushed to the agent's websocket when it changes."""
        described = agent.to_dict(self._clock())
        paused = agent.state == AgentState.PAUSED
        by = self._paused_by.get(agent.interface)
        if by is not None and paused != by[1]:
            if paused:
                self._paused_by[agent.interface] = by = (by[0], True)
            else:  # the supervisor's pause is over
                del self._paused_by[agent.interface]
                by = None
        return {
            "extension": extension,
            "name": name or agent.name or "",
            "interface": agent.interface,
            "state": described["state"],
            "since": described["state_since"],
            "reason": described["pause_reason"],
            "paused_by": by[0] if by is not None and paused else None,
            "queues": described["queues"],
            "call_id": described["call"],
        }
