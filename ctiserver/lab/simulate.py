"""Test calls into the hotline: a Local channel "caller" originated through AMI.

Originate creates ``Local/s@lab-caller-XXXX;1`` and ``;2``. ``;2`` plays the
caller's phone in ``[lab-caller]`` (answers, sends the DTMF, hangs up later);
``;1`` enters ``[hotline]`` with the given caller ID, exactly as a trunk call would.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from ctiserver.settings import Settings

_DTMF = re.compile(r"^[0-9*#A-Dw]*$")
_NUMBER = re.compile(r"^\+?[0-9]{1,32}$")


@dataclass(frozen=True)
class LabCall:
    caller: str
    caller_name: str = ""
    dtmf: str = ""
    #: seconds after the hotline answered before the DTMF is sent
    dtmf_delay: float = 1.0
    #: seconds after the DTMF before the caller hangs up (None: wait for the far end)
    hangup_after: float | None = None


def originate_action(settings: Settings, call: LabCall) -> dict[str, str | list[str]]:
    """The AMI Originate that places ``call``; raises ValueError on unsafe input."""
    if not _NUMBER.match(call.caller):
        raise ValueError(f"caller number must be digits (optionally +), not {call.caller!r}")
    if not _DTMF.match(call.dtmf):
        raise ValueError(f"DTMF may hold only 0-9 * # A-D and w (pause), not {call.dtmf!r}")
    name = call.caller_name.replace('"', "").replace("\\", "")
    variables = [f"LAB_DTMF={call.dtmf}", f"LAB_DTMF_DELAY={call.dtmf_delay:g}"]
    if call.hangup_after is not None:
        variables.append(f"LAB_HANGUP_AFTER={call.hangup_after:g}")
    return {
        "Action": "Originate",
        "Channel": "Local/s@lab-caller",
        "Context": "hotline",
        "Exten": settings.hotline.number,
        "Priority": "1",
        "CallerID": f'"{name}" <{call.caller}>' if name else call.caller,
        "Async": "true",
        "Timeout": "30000",
        "ChannelId": f"labcall-{uuid.uuid4().hex[:16]}",
        "Variable": variables,
    }
