"""Issue 2 acceptance: real Asterisk, real calls, the server tracking them."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.telephony.ami.link import AmiLink
from tests.integration.conftest import WebClient, eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def web(lab: Lab) -> AsyncIterator[WebClient]:
    """Logged in as the lab's admin: /healthz tells anyone else only up or down."""
    client = WebClient(lab)
    response = await client.login("admin", lab.settings.lab.demo_password)
    assert response.status == 200, await response.text()
    yield client
    await client.close()


async def test_call_is_active_while_it_lasts_then_ended_with_duration(lab: Lab, web: WebClient) -> None:
    call_id = await place_call(lab, LabCall("13800138000", "张伟", hangup_after=4))

    async def active() -> dict | None:
        return (await web.calls("active")).get(call_id)

    call = await eventually(active, 10, "the call in /api/calls?state=active")
    assert call["state"] == "active"
    assert call["caller_number"] == "13800138000"
    assert call["caller_name"] == "张伟"

    async def ended() -> dict | None:
        return (await web.calls("ended")).get(call_id)

    record = await eventually(ended, 20, "the call in /api/calls?state=ended")
    assert call_id not in await web.calls("active")
    assert record["state"] == "ended"
    assert record["caller_number"] == "13800138000"
    assert record["caller_name"] == "张伟"
    # answer delay 1 s + DTMF delay 1 s + 4 s on the line, give or take scheduling
    assert 4.0 <= record["duration"] <= 12.0
    assert record["queue"] == "support"
    assert record["agent"], "a lab agent answered"
    assert record["answered_at"] and record["ended_at"]


async def test_server_reconnects_after_asterisk_restart_and_tracks_new_calls(lab: Lab, web: WebClient) -> None:
    assert lab.asterisk is not None
    health = await web.get_json("/healthz")
    assert health["ami"]["connected"] is True

    await lab.asterisk.stop()

    async def disconnected() -> bool:
        return (await web.get_json("/healthz"))["ami"]["connected"] is False

    await eventually(disconnected, 5, "/healthz to report AMI disconnected")

    await lab.asterisk.start()
    await lab.asterisk.wait_fully_booted()
    booted = time.monotonic()

    async def connected() -> bool:
        return (await web.get_json("/healthz"))["ami"]["connected"] is True

    await eventually(connected, 5, "the server to reconnect to the restarted Asterisk")
    assert time.monotonic() - booted <= 5.0

    call_id = await place_call(lab, LabCall("13900139000", hangup_after=2))

    async def ended() -> dict | None:
        return (await web.calls("ended")).get(call_id)

    record = await eventually(ended, 20, "a call placed after the restart to be tracked to its end")
    assert record["caller_number"] == "13900139000"


async def test_call_reaches_an_agent_when_the_ivr_server_is_down(lab: Lab, web: WebClient) -> None:
    assert lab.server is not None
    await lab.server.agi.stop()
    call_id = await place_call(lab, LabCall("13700137000", hangup_after=2))

    async def answered() -> dict | None:
        call = (await web.calls("active")).get(call_id)
        return call if call and call["agent"] else None

    call = await eventually(answered, 15, "a lab agent to answer the call that bypassed the IVR")
    assert call["queue"] == lab.settings.hotline.default_queue
    assert call_id not in lab.server.ivr.live, "the IVR was down; the call must not have entered it"


async def test_calls_go_through_the_ivr_while_broken_agi_clients_hang_around(lab: Lab, web: WebClient) -> None:
    assert lab.server is not None
    port = lab.server.agi.port
    stalled = []
    for _ in range(5):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network: yes\nagi_netw")  # headers never finished
        stalled.append(writer)
    for payload in (b"", b"\xff\xfe\x00garbage\n\n", b"no colon here\n\n"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        writer.close()

    call_id = await place_call(lab, LabCall("13600136000", hangup_after=2))

    async def entered_ivr() -> bool:
        return call_id in lab.server.ivr.live

    await eventually(entered_ivr, 10, "the call to run the hotline FastAGI route")
    health = await web.get_json("/healthz")
    assert health["status"] == "ok"

    async def answered() -> dict | None:
        call = (await web.calls("active")).get(call_id) or (await web.calls("ended")).get(call_id)
        return call if call and call["agent"] else None

    await eventually(answered, 15, "the call to be queued and answered after the IVR")
    for writer in stalled:
        writer.close()


async def test_silent_ami_link_is_detected_and_reopened(lab: Lab, web: WebClient) -> None:
    """Asterisk frozen with SIGSTOP keeps the TCP link open but answers nothing."""
    assert lab.asterisk is not None and lab.asterisk._process is not None
    pid = lab.asterisk._process.pid
    os.kill(pid, signal.SIGSTOP)
    frozen = time.monotonic()
    try:
        async def disconnected() -> bool:
            return (await web.get_json("/healthz"))["ami"]["connected"] is False

        await eventually(disconnected, 15, "the silent AMI link to be detected")
        assert time.monotonic() - frozen <= 15.0
    finally:
        os.kill(pid, signal.SIGCONT)

    async def connected() -> bool:
        return (await web.get_json("/healthz"))["ami"]["connected"] is True

    await eventually(connected, 10, "the AMI link to be reopened once Asterisk answers again")


async def test_wrong_ami_secret_and_unreachable_asterisk_are_logged_not_fatal(
    lab: Lab, web: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wrong = AmiLink(lab.settings.ami.__class__(**{**lab.settings.ami.__dict__, "secret": "not-the-secret"}))
    nowhere = AmiLink(lab.settings.ami.__class__(**{**lab.settings.ami.__dict__, "port": 9}))
    await wrong.start()
    await nowhere.start()
    try:
        await asyncio.sleep(2.5)
        assert not wrong.connected and not nowhere.connected
    finally:
        await wrong.stop()
        await nowhere.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert any("authentication" in m.lower() and "not-the-secret" not in m for m in messages), messages
    assert any(":9" in m for m in messages), messages
    health = await web.get_json("/healthz")
    assert health["ami"]["connected"] is True, "the server's own link is unaffected"


async def test_web_rejects_wrong_password_and_requests_without_session(lab: Lab) -> None:
    client = WebClient(lab)
    try:
        response = await client.login("supervisor", "wrong")
        assert response.status == 401
        async with client.session.get(client.base + "/api/calls?state=active") as response:
            assert response.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.session.ws_connect(client.base.replace("http", "ws") + "/ws")
        assert refused.value.status == 401
    finally:
        await client.close()
