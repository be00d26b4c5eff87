"""The FastAGI routes of the hotline: run the caller through the flow in force.

``hotline`` runs a call from the flow's start; ``hotline-after`` continues it after
the agent hung up (``after:`` of a queue node, e.g. a survey) on the very flow
version the call started with.

Each time the IVR starts listening for keys, the call's channel sends the AMI user
event ``CtiIvrListening`` (``CallId``: the Linkedid, ``Question``: how many times
this call has been asked), so a process outside the server (``ctiserver simulate
call --dtmf``) can press keys when they will be heard.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ctiserver.ivr.agi_channel import AgiCallChannel
from ctiserver.ivr.channel import CallChannel
from ctiserver.ivr.engine.run import FlowRun
from ctiserver.ivr.engine.runner import FlowEngine
from ctiserver.ivr.loader import Flow
from ctiserver.ivr.registry import FlowRegistry
from ctiserver.ivr.store import IvrRunRepository
from ctiserver.telephony.agi.session import AgiError, AgiSession

log = logging.getLogger(__name__)

#: the AMI user event sent when the IVR starts listening (ctiserver/lab/simulate.py waits for it)
LISTENING_EVENT = "CtiIvrListening"
_SAFE_ID = re.compile(r"[A-Za-z0-9._;-]{1,80}")


@dataclass
class LiveIvr:
    """A call inside the IVR, as far as it has gone."""

    call_id: str
    flow: Flow = field(repr=False)
    flow_version_number: int
    run: FlowRun | None = None
    #: how many times the IVR has asked the caller for keys
    inputs_requested: int = 0
    awaiting_input: bool = False
    started_at: float = field(default_factory=time.time)
    finished: bool = False


class _ObservedChannel:
    """Marks when the IVR is listening for keys, so others can see where a call is."""

    def __init__(
        self, inner: CallChannel, live: LiveIvr, listening: Callable[[int], Awaitable[None]] | None = None
    ) -> None:
        self._inner = inner
        self._live = live
        self._listening = listening

    async def play(self, sound: str) -> None:
        await self._inner.play(sound)

    async def play_and_read(self, sound: str | None, *, timeout: float, max_digits: int, terminator: str) -> str:
        self._live.inputs_requested += 1
        self._live.awaiting_input = True
        try:
            if self._listening is not None:
                await self._listening(self._live.inputs_requested)
            return await self._inner.play_and_read(sound, timeout=timeout, max_digits=max_digits, terminator=terminator)
        finally:
            self._live.awaiting_input = False

    async def record(self, path_without_ext: str, max_seconds: int) -> bool:
        return await self._inner.record(path_without_ext, max_seconds)

    async def set_variable(self, name: str, value: str) -> None:
        await self._inner.set_variable(name, value)

    async def hangup(self) -> None:
        await self._inner.hangup()


class HotlineIvr:
    def __init__(self, registry: FlowRegistry, engine: FlowEngine, runs: IvrRunRepository) -> None:
        self.registry = registry
        self.engine = engine
        self.runs = runs
        #: calls by Linkedid, kept until the call ends (the server forgets them then)
        self.live: dict[str, LiveIvr] = {}

    def forget(self, call_id: str) -> None:
        self.live.pop(call_id, None)

    async def start_call(self, session: AgiSession) -> None:
        call_id = await self._call_id(session)
        entry = session.headers.get("agi_extension", "")
        flow = self.registry.for_entry(entry)
        if flow is None:
            log.error("call %s: no flow serves entry %r; the dialplan's default queue takes it", call_id, entry)
            return
        version = self.registry.active_version(flow.name)
        live = LiveIvr(call_id, flow, version.number if version else 0)
        self.live[call_id] = live
        await self._run(session, live, start_at=None, variables=None)

    async def run_flow(self, session: AgiSession, flow: Flow, variables: dict[str, str]) -> FlowRun | None:
        """Run ``flow`` from its start over a call the server placed (a return visit's
        survey), its variables seeded with ``variables`` (e.g. the language); recorded as
        any run. The run, None if it could not start."""
        call_id = await self._call_id(session)
        version = self.registry.active_version(flow.name)
        live = LiveIvr(call_id, flow, version.number if version else 0)
        self.live[call_id] = live
        await self._run(session, live, start_at=None, variables=variables)
        return live.run

    async def continue_call(self, session: AgiSession) -> None:
        call_id = await self._call_id(session)
        live = self.live.get(call_id)
        node = await session.get_variable("CTI_AFTER")
        if live is None or live.run is None or not node:
            log.warning("call %s: nothing to continue after the agent (node %r)", call_id, node)
            return
        await self._run(session, live, start_at=node, variables=live.run.variables)

    async def _run(
        self, session: AgiSession, live: LiveIvr, *, start_at: str | None, variables: dict[str, str] | None
    ) -> None:
        live.finished = False
        channel = _ObservedChannel(AgiCallChannel(session), live, _announcer(session, live.call_id))
        run = await self.engine.run(
            live.flow, channel, call_id=live.call_id, caller_number=session.caller_number,
            caller_name=session.caller_name, start_at=start_at, variables=variables,
        )
        if live.run is not None and start_at is not None:
            live.run.path.extend(run.path)
            live.run.variables.update(run.variables)
            live.run.ended_by_hangup = run.ended_by_hangup
        else:
            live.run = run
        live.finished = True
        try:
            await self.runs.save(
                run, call_linkedid=live.call_id, uniqueid=session.uniqueid or "",
                flow_version_number=live.flow_version_number,
            )
        except Exception:
            log.exception("call %s: could not record the IVR run", live.call_id)

    @staticmethod
    async def _call_id(session: AgiSession) -> str:
        linkedid = await session.get_variable("CHANNEL(linkedid)")
        return linkedid or session.uniqueid or "unknown"


def _announcer(session: AgiSession, call_id: str) -> Callable[[int], Awaitable[None]] | None:
    """Sends ``CtiIvrListening`` from the call's channel (AGI ``EXEC UserEvent``) just
    before each question; a refused command is logged and the call goes on."""
    if not _SAFE_ID.fullmatch(call_id):
        return None

    async def listening(question: int) -> None:
        try:
            result = await session.exec(
                "UserEvent", LISTENING_EVENT, f"CallId: {call_id}", f"Question: {question}"
            )
        except AgiError as exc:
            log.warning("call %s: could not announce question %d: %s", call_id, question, exc)
            return
        if result.result == "-2":  # no such application: app_userevent is not loaded
            log.warning(
                "call %s: cannot announce questions: no UserEvent in Asterisk (load app_userevent.so)",
                call_id,
            )

    return listening
