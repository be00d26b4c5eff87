"""Caller names as callers sent them: Asterisk C-escapes quotes, question marks and tabs in
the caller ids of its AMI events; the server unescapes them once, where they enter, so
the live view, the pop and the stored call record show ``O'Brien``, not ``O\\'Brien``."""

from __future__ import annotations

import asyncio

import pytest

from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from tests.integration.conftest import WebClient, eventually

pytestmark = pytest.mark.integration

#: what the lab's Originate carries in a caller id (it drops double quotes, backslashes and
#: control characters; the unit tests of the translation cover those escapes)
NAMES = ["O'Brien", "what?", "王'小明'?", "50% off? 'yes'"]


async def test_hostile_caller_names_arrive_as_sent(lab: Lab, web: WebClient) -> None:
    numbers = [f"1380013800{n}" for n in range(len(NAMES))]
    call_ids = await asyncio.gather(
        *(place_call(lab, LabCall(number, name, hangup_after=3)) for number, name in zip(numbers, NAMES))
    )
    sent = dict(zip(call_ids, NAMES))

    async def all_active() -> dict | None:
        active = await web.calls("active")
        return active if all(call_id in active for call_id in call_ids) else None

    active = await eventually(all_active, 15, "the four calls in the live view")
    assert {call_id: active[call_id]["caller_name"] for call_id in call_ids} == sent

    async def all_ended() -> dict | None:
        ended = await web.calls("ended")
        return ended if all(call_id in ended for call_id in call_ids) else None

    ended = await eventually(all_ended, 30, "the calls stored")
    assert {call_id: ended[call_id]["caller_name"] for call_id in call_ids} == sent
