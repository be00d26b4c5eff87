"""Test calls into the hotline: a Local channel "caller" originated through AMI.

Originate creates ``Local/s@lab-caller-XXXX;1`` and ``;2``. ``;2`` plays the
caller's phone in ``[lab-caller]`` (answers, hangs up later); ``;1`` enters
``[hotline]`` with the given caller ID, exactly as a trunk call would. With
``LabCall.over_sip`` the phone is a PJSIP channel that calls the hotline through the
lab's trunk endpoint instead (SIP and RTP, as a trunk's caller). Either speaks A-law.

:func:`simulate_call` (``ctiserver simulate call --dtmf 1,0``) presses the keys
the way a person would: each answer once the IVR asks for it. The IVR sends the
AMI user event ``CtiIvrListening`` (``CallId``: the call's Linkedid, ``Question``:
how many times it has asked) each time it starts listening for keys; the command
waits for it, then plays the keys with ``PlayDTMF`` on the caller's half (``;2``),
which Asterisk carries to the IVR as a phone's keys would arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from panoramisk.message import Message

from ctiserver.ivr.hotline import LISTENING_EVENT
from ctiserver.settings import Settings
from ctiserver.telephony.ami.actions import AmiActionFailed, AmiError

log = logging.getLogger(__name__)

_DTMF = re.compile(r"^[0-9*#A-Dw]*$")
_NUMBER = re.compile(r"^\+?[0-9]{1,32}$")


@dataclass(frozen=True)
class LabCall:
    caller: str
    caller_name: str = ""
    #: keys the dialplan sends on a timer, blind to the IVR (keys sent while a prompt
    #: plays are lost): :func:`simulate_call` presses keys when the IVR listens instead
    dtmf: str = ""
    #: seconds after the hotline answered before the DTMF is sent
    dtmf_delay: float = 1.0
    #: seconds after the DTMF (after the last key, with simulate_call) before the caller
    #: hangs up (None: wait for the far end)
    hangup_after: float | None = None
    #: the caller's phone calls the hotline over SIP (the lab's ``lab-trunk`` endpoint:
    #: SIP and RTP through Asterisk's own UDP transport), as a trunk's caller does; the
    #: hotline's call id is then not the Originate's (see :func:`originate_action`)
    over_sip: bool = False


#: Lab callers speak G.711 A-law (PCMA), as the hotline's trunks do and as the agents'
#: phones prefer (the browsers' endpoints allow alaw first): a lab call reaches an agent's
#: phone untranscoded, as a real caller's does. A Local channel left to its default (slin)
#: made Asterisk transcode on the agent's leg, and Debian's Asterisk (its translator
#: carries a packet-loss-concealment patch) drops every frame a translation path takes
#: for a late one: after an attended transfer the path that carried the consultation's
#: RTP (sequence numbers in the thousands) took the lab caller's frames (a file's, all
#: numbered 0) for late ones, and the new agent heard nothing (docs/deploy.md, section 8).
LAB_CALLER_CODECS = "alaw"
#: the lab's SIP trunk endpoint for callers that call over SIP (asterisk-conf/pjsip.conf.j2)
LAB_TRUNK = "lab-trunk"


def originate_action(settings: Settings, call: LabCall) -> dict[str, str | list[str]]:
    """The AMI Originate that places ``call``; raises ValueError on unsafe input.

    Its ``ChannelId`` names the caller's phone; as a Local channel that is also the
    hotline's call id (the Local channel's ``;1`` enters the hotline). Over SIP the
    hotline's leg is another channel (its own Linkedid): find that call by its number."""
    if not _NUMBER.match(call.caller):
        raise ValueError(f"caller number must be digits (optionally +), not {call.caller!r}")
    if not _DTMF.match(call.dtmf):
        raise ValueError(f"DTMF may hold only 0-9 * # A-D and w (pause), not {call.dtmf!r}")
    variables = [f"LAB_DTMF={call.dtmf}", f"LAB_DTMF_DELAY={call.dtmf_delay:g}"]
    if call.hangup_after is not None:
        variables.append(f"LAB_HANGUP_AFTER={call.hangup_after:g}")
    if call.over_sip:
        # the caller's leg dials the hotline over SIP and, answered, speaks in [lab-caller]
        route = {"Channel": f"PJSIP/{settings.hotline.number}@{LAB_TRUNK}", "Context": "lab-caller", "Exten": "s"}
    else:
        route = {"Channel": "Local/s@lab-caller", "Context": "hotline", "Exten": settings.hotline.number}
    return {
        "Action": "Originate",
        **route,
        "Priority": "1",
        "Codecs": LAB_CALLER_CODECS,
        "CallerID": caller_id(call.caller_name, call.caller)[0],
        "Async": "true",
        "Timeout": "30000",
        "ChannelId": f"labcall-{uuid.uuid4().hex[:16]}",
        "Variable": variables,
    }


#: Asterisk keeps this many bytes of an Originate's CallerID (``"name" <number>``):
#: beyond them the number is cut off and the call arrives without it
CALLER_ID_BYTES = 255


def caller_id(name: str, number: str) -> tuple[str, bool]:
    """``"name" <number>`` for an Originate, and whether the name had to be shortened.

    The name is text from outside: double quotes and backslashes (which would end
    the quoted name) and control characters (CR and LF would add AMI headers) are
    dropped. A name too long for :data:`CALLER_ID_BYTES` is cut on a character
    boundary (never inside a UTF-8 sequence), so that the number always survives.
    """
    clean = "".join(
        ch for ch in name if ch not in '"\\' and not unicodedata.category(ch).startswith("C")
    ).strip()
    if not clean:
        return number, False
    room = CALLER_ID_BYTES - len(f'"" <{number}>'.encode())
    encoded = clean.encode("utf-8")
    if len(encoded) <= room:
        return f'"{clean}" <{number}>', False
    cut = encoded[: max(room, 0)].decode("utf-8", errors="ignore").strip()
    return (f'"{cut}" <{number}>' if cut else number), True


# -- pressing keys when the IVR listens -----------------------------------------------

_KEYS = re.compile(r"^[0-9*#]*$")


class SimulationError(RuntimeError):
    """The simulated call could not go as asked (the IVR did not ask, the call ended)."""


class AmiActions(Protocol):
    """What :func:`simulate_call` needs of an AMI session (an AmiLink)."""

    def on_event(self, handler: Callable[[Message], Awaitable[None] | None]) -> None: ...

    async def send_action(self, fields: Mapping[str, str | Sequence[str]]) -> Message: ...


def parse_presses(dtmf: str) -> list[str]:
    """``"1,0"`` -> ``["1", "0"]``: the keys answering each question the IVR asks, in
    order; an empty answer (``"1,,2"``) lets that question time out."""
    if not dtmf:
        return []
    presses = [group.strip() for group in dtmf.split(",")]
    for group in presses:
        if not _KEYS.match(group):
            raise ValueError(
                f"each answer may hold only 0-9 * #, not {group!r} (answers are comma separated)"
            )
    return presses


async def simulate_call(
    ami: AmiActions,
    settings: Settings,
    call: LabCall,
    presses: Sequence[str],
    *,
    wait: float = 30.0,
    settle: float = 0.4,
    key_gap: float = 0.3,
    report: Callable[[str], None] = lambda line: None,
) -> str:
    """Place ``call`` and answer each question of the IVR with the next of ``presses``,
    pressing the keys only once the IVR listens; then hang up after
    ``call.hangup_after`` seconds if given. Returns the call id (its Linkedid).

    ``call.dtmf`` must be empty (keys on a timer are what this replaces); raises
    SimulationError if the IVR does not ask within ``wait`` seconds, or the call ends.
    """
    if call.dtmf:
        raise ValueError("simulate_call presses the keys itself: leave LabCall.dtmf empty")
    hangup_after = call.hangup_after
    action = originate_action(settings, LabCall(call.caller, call.caller_name) if presses else call)
    call_id = str(action["ChannelId"])
    events: asyncio.Queue[tuple[int, str] | None] = asyncio.Queue()
    ended = asyncio.Event()

    def follow(message: Message) -> None:
        if message.get("Event") == "UserEvent" and message.get("UserEvent") == LISTENING_EVENT:
            if message.get("CallId") == call_id and str(message.get("Question", "")).isdigit():
                events.put_nowait((int(message["Question"]), str(message.get("Channel", ""))))
        elif message.get("Event") == "Hangup" and message.get("Uniqueid") == call_id:
            ended.set()
            events.put_nowait(None)

    ami.on_event(follow)
    await ami.send_action(action)
    report(f"call placed: id {call_id} from {call.caller} to {settings.hotline.number}")
    if not presses:
        return call_id
    asked = 0
    phone = ""
    for number, keys in enumerate(presses, 1):
        asked, ivr_channel = await _next_question(events, asked, wait, call_id, number)
        phone = _caller_half(ivr_channel)
        if not keys:
            report(f"question {asked}: no key (it times out)")
            continue
        await asyncio.sleep(settle)
        for key in keys:
            await ami.send_action({"Action": "PlayDTMF", "Channel": phone, "Digit": key, "Duration": "120"})
            await asyncio.sleep(key_gap)
        report(f"question {asked}: pressed {keys}")
    if hangup_after is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended.wait(), hangup_after)
        if ended.is_set():
            # the other side (the IVR, the agent) ended it first: that is the call's end
            report("the call ended before the hang-up")
            return call_id
        try:
            await ami.send_action({"Action": "Hangup", "Channel": phone})
        except AmiActionFailed:
            # gone between the wait and the action (Asterisk: "No such channel")
            report("the call ended before the hang-up")
            return call_id
        report(f"hung up after {hangup_after:g} s")
    return call_id


async def _next_question(
    events: asyncio.Queue[tuple[int, str] | None], asked: int, wait: float, call_id: str, number: int
) -> tuple[int, str]:
    """The next question the IVR asks after question ``asked``: (its number, the IVR's channel)."""
    try:
        async with asyncio.timeout(wait):
            while True:
                event = await events.get()
                if event is None:
                    raise SimulationError(f"call {call_id} ended before the IVR asked question {number}")
                if event[0] > asked:
                    return event
    except TimeoutError:
        raise SimulationError(
            f"the IVR did not ask for keys within {wait:g} s (answer {number} of call {call_id}): "
            "is the server running, and does the flow ask that many questions?"
        ) from None


def _caller_half(ivr_channel: str) -> str:
    """``Local/s@lab-caller-0000002a;1`` (the IVR's half) -> ``...;2`` (the caller's phone)."""
    if not ivr_channel.endswith(";1"):
        raise SimulationError(f"the IVR's channel {ivr_channel!r} is not the hotline half of a lab caller")
    return ivr_channel[:-1] + "2"


# -- talking, then hanging up ---------------------------------------------------------

#: ``simulate call --talk``'s default: long enough to answer in the desk and say a few words
DEFAULT_TALK = 60.0
#: how long a caller waits for an agent before giving up (the queue may be unstaffed)
DEFAULT_REACH = 600.0


class CallWatch:
    """Follows, from before the call is placed, when an agent answers it (``AgentConnect``,
    the queue's event, by the call's Linkedid) and when it ends (its first channel's
    ``Hangup``)."""

    def __init__(self, ami: AmiActions) -> None:
        self.answered: set[str] = set()
        self.ended: set[str] = set()
        self._changed = asyncio.Event()
        ami.on_event(self._follow)

    def _follow(self, message: Message) -> None:
        if message.get("Event") == "AgentConnect":
            self.answered.add(str(message.get("Linkedid", "")))
        elif message.get("Event") == "Hangup":
            self.ended.add(str(message.get("Uniqueid", "")))
        else:
            return
        self._changed.set()

    async def until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Whether ``done`` held within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True


async def talk_then_hang_up(ami: AmiActions, watch: CallWatch, call_id: str, talk: float, *,
                            reach: float = DEFAULT_REACH,
                            report: Callable[[str], None] = lambda line: None) -> str:
    """Keep the call until it has talked ``talk`` seconds with an agent (from the agent's
    answer), then hang it up; hang it up too if no agent answers within ``reach`` seconds
    or if this is interrupted (Ctrl-C cancels the command's task). Returns how it ended:
    "talked", "unanswered" or "ended" (the far end hung up first)."""
    try:
        if not await watch.until(lambda: call_id in watch.answered or call_id in watch.ended, reach):
            outcome = "unanswered"
        elif call_id in watch.ended:
            return "ended"
        else:
            report(f"an agent answered: talking {talk:g} s")
            outcome = "talked"
            if await watch.until(lambda: call_id in watch.ended, talk):
                return "ended"
    except asyncio.CancelledError:
        await asyncio.shield(_hang_up(ami, call_id))
        report("interrupted: hung up")
        raise
    await _hang_up(ami, call_id)
    report("hung up" + (f" after talking {talk:g} s" if outcome == "talked" else f": no agent within {reach:g} s"))
    return outcome


async def _hang_up(ami: AmiActions, call_id: str) -> None:
    """Hang up the call's first channel (Asterisk finds a channel by its uniqueid too)."""
    try:
        await ami.send_action({"Action": "Hangup", "Channel": call_id})
    except AmiError as exc:  # an ended call has no channel left to hang up
        log.debug("hanging up %s: %s", call_id, exc)
