"""Drive a lab caller through the IVR with real DTMF (tests, benchmarks, demos).

Keys are played with AMI ``PlayDTMF`` on the caller's half (``;2``) of the Local
channel: Asterisk carries them to the hotline half, exactly as a phone's keys
would arrive. A key is sent once the IVR is listening (it asks over FastAGI), so
the tests do not depend on how long a prompt takes to say.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ctiserver.ivr.hotline import LiveIvr
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall, originate_action

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], timeout: float, what: str) -> T:
    """Poll ``probe`` until it returns something truthy; TimeoutError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def place_call(lab: Lab, call: LabCall) -> str:
    """Originate a lab caller into the hotline; returns the call id (its Linkedid)."""
    action = originate_action(lab.settings, call)
    await lab.phones.send_action(action)
    return str(action["ChannelId"])

class IvrCaller:
    def __init__(self, lab: Lab, call_id: str) -> None:
        if lab.server is None:
            raise RuntimeError("the lab is not running")
        self.lab = lab
        self.server = lab.server
        self.call_id = call_id
        self._answered_questions = 0

    @classmethod
    async def dial(cls, lab: Lab, number: str, name: str = "") -> IvrCaller:
        call_id = await place_call(lab, LabCall(number, name))
        return cls(lab, call_id)

    async def live(self) -> LiveIvr:
        async def entered() -> LiveIvr | None:
            return self.server.ivr.live.get(self.call_id)

        return await eventually(entered, 10, f"call {self.call_id} to enter the IVR")

    async def press(self, keys: str, *, settle: float = 0.4) -> None:
        """Wait for the IVR's next question, then press ``keys`` on the phone."""
        live = await self.live()
        seen = self._answered_questions

        async def listening() -> bool:
            return live.awaiting_input and live.inputs_requested > seen

        # a question comes after the previous one's prompt, timeout and retry prompt: a long menu
        # (the sample hotline's main menu) takes 20 s on a loaded machine
        await eventually(listening, 40, f"the IVR to ask question {seen + 1} of call {self.call_id}")
        self._answered_questions = live.inputs_requested
        await asyncio.sleep(settle)
        for key in keys:
            await self.lab.phones.send_action(
                {"Action": "PlayDTMF", "Channel": self.caller_channel(), "Digit": key, "Duration": "120"}
            )
            await asyncio.sleep(0.3)

    async def stay_silent(self) -> None:
        """Let one question time out."""
        live = await self.live()
        seen = self._answered_questions

        async def asked() -> bool:
            return live.inputs_requested > seen

        await eventually(asked, 40, "the IVR to ask a question")
        self._answered_questions = live.inputs_requested

    def caller_channel(self) -> str:
        call = self.server.calls.get(self.call_id)
        if call is None:
            raise LookupError(f"call {self.call_id} is not being tracked")
        leg = call.legs.get(f"{self.call_id};2")
        if leg is None:
            raise LookupError(f"no caller half in {list(call.legs)}")
        return leg.channel

    async def hang_up(self) -> None:
        await self.lab.phones.send_action({"Action": "Hangup", "Channel": self.caller_channel()})

    async def queue_entry(self, queue: str) -> dict[str, Any]:
        """The caller's entry in ``queue`` as Asterisk reports it (QueueStatus)."""

        async def waiting() -> dict[str, Any] | None:
            listing = await self.lab.phones.send_list_action({"Action": "QueueStatus", "Queue": queue})
            for message in listing:
                if message.get("Event") == "QueueEntry" and message.get("Uniqueid") == self.call_id:
                    return dict(message)
            return None

        return await eventually(waiting, 20, f"call {self.call_id} to wait in queue {queue}")

    async def finished_ivr(self) -> LiveIvr:
        live = await self.live()

        async def done() -> LiveIvr | None:
            return live if live.finished else None

        return await eventually(done, 30, f"call {self.call_id} to leave the IVR")


async def set_global(lab: Lab, name: str, value: str) -> None:
    """A dialplan global (no Channel): e.g. make the lab agents slow to answer."""
    await lab.phones.send_action({"Action": "Setvar", "Variable": name, "Value": value})
