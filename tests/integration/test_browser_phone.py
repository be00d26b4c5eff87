"""Issue 21 acceptance: the phone in the desk (WebRTC over wss) against the real lab Asterisk.

One lab and one Chromium for the module: agent 1001 alone is in the queue and takes calls
in the browser (fake microphone: a WAV spoken by espeak-ng), the lab caller plays a tone.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from panoramisk.message import Message

from ctiserver.lab.caller import eventually as wait_for
from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium
from tests.conftest import require
from tests.integration.conftest import WebClient, asterisk_available, eventually, lab_settings

pytestmark = pytest.mark.integration

CALLER = "13800138000"  # 张伟, a demo customer
PASSWORD = "lab"

#: inbound and outbound audio of the browser's call, from RTCPeerConnection.getStats()
STATS_JS = """async () => {
  const pc = window.deskPhone && window.deskPhone.connection;
  if (!pc) return null;
  const out = {inPackets: 0, inEnergy: 0, outPackets: 0};
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.inPackets += s.packetsReceived || 0; out.inEnergy += s.totalAudioEnergy || 0;
    }
    if (s.type === "outbound-rtp" && s.kind === "audio") out.outPackets += s.packetsSent || 0;
  });
  return out;
}"""


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The browser's microphone: a phrase synthesised by espeak-ng."""
    espeak = shutil.which("espeak-ng")
    require(espeak is not None, "no espeak-ng (apt-get install espeak-ng)")
    wav = tmp_path_factory.mktemp("voice") / "agent.wav"
    subprocess.run([str(espeak), "-v", "en", "-w", str(wav),  # noqa: S603  (fixed arguments)
                    "Hello, this is the after sales hotline, how can I help you today?"], check=True)
    return wav


@pytest.fixture
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    """Agents start logged out: 1001 alone joins the queue, so every call rings the browser."""
    settings = lab_settings(tmp_path_factory.mktemp("lab"), lab={"login_agents": False})
    asterisk_available(settings)
    lab = Lab(settings, allow_provision=False)
    try:
        await lab.start()
        assert lab.server is not None
        user = await UserRepository(lab.server.db).authenticate("agent1001", PASSWORD)
        assert user is not None
        await lab.server.desk.login(user.id, ["support"])
        yield lab
    finally:
        await lab.stop()
        if lab.asterisk is not None:
            shutil.rmtree(lab.asterisk.install.host_path(lab.asterisk.layout.base), ignore_errors=True)


@pytest.fixture
async def chromium(voice: Path) -> AsyncIterator[Any]:
    args = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={voice}", "--autoplay-policy=no-user-gesture-required",
            "--ignore-certificate-errors")
    async with launched_chromium(args) as browser:
        yield browser


async def desk_page(chromium: Any, lab: Lab) -> Any:
    assert lab.server is not None
    context = await chromium.new_context(base_url=f"http://127.0.0.1:{lab.server.web_port}",
                                         locale="zh-CN", ignore_https_errors=True, permissions=["microphone"])
    response = await context.request.post("/login", data={"username": "agent1001", "password": PASSWORD})
    assert response.ok, await response.text()
    page = await context.new_page()
    await page.goto("/ui/agent.html")
    return page


async def phone_state(page: Any, state: str, timeout: float = 20_000) -> None:
    await page.locator(f'[data-testid="phone-state"][data-state="{state}"]').wait_for(timeout=timeout)


async def ring_and_answer(lab: Lab, page: Any) -> str:
    """A real queue call: the browser rings together with the pop; the desk answers."""
    assert lab.server is not None
    call_id = await place_call(lab, LabCall(CALLER, "张伟"))
    await phone_state(page, "ringing")
    await page.get_by_test_id("pop").wait_for(state="visible", timeout=10_000)
    assert await page.get_by_test_id("pop-caller-number").inner_text() == CALLER
    await page.get_by_test_id("phone-answer").click()
    await phone_state(page, "in_call")

    async def answered() -> bool:
        call = lab.server.calls.get(call_id) if lab.server else None
        return call is not None and call.answered_at is not None

    await eventually(answered, 10, "the queue call answered in the browser")
    return call_id


async def audio_both_ways(page: Any) -> dict[str, float]:
    seen: list[Any] = []

    async def flowing() -> dict[str, float] | None:
        stats = await page.evaluate(STATS_JS)
        seen[:] = [stats]
        if stats and stats["inPackets"] > 25 and stats["inEnergy"] > 0 and stats["outPackets"] > 25:
            return stats
        return None

    try:
        return await wait_for(flowing, 15, "audio both ways")
    except TimeoutError:
        pytest.fail(f"no audio both ways (getStats: inbound packets and energy, outbound packets): {seen}")


async def ended(lab: Lab, call_id: str) -> None:
    assert lab.server is not None

    async def gone() -> bool:
        return lab.server is not None and lab.server.calls.get(call_id) is None

    await eventually(gone, 10, "the call to end in Asterisk and in the call record")
    channels = await lab.asterisk.cli("core show channels concise") if lab.asterisk else ""
    assert "web1001" not in channels, channels


async def test_the_desk_takes_a_queue_call_in_the_browser(lab: Lab, chromium: Any) -> None:
    assert lab.server is not None
    dtmf: list[str] = []

    def on_dtmf(message: Message) -> None:
        if message.get("Event") == "DTMFEnd" and "web1001" in str(message.get("Channel", "")):
            dtmf.append(str(message.get("Digit")))

    lab.server.ami.on_event(on_dtmf)
    page = await desk_page(chromium, lab)
    await phone_state(page, "registered")
    html = await page.content()
    assert "password" not in html.lower() or "type=\"password\"" in html  # the login form only

    call_id = await ring_and_answer(lab, page)
    stats = await audio_both_ways(page)
    assert stats["inEnergy"] > 0

    await page.get_by_test_id("phone-dtmf-input").fill("15#")
    await page.get_by_test_id("phone-dtmf-send").click()
    await eventually(lambda: asyncio.sleep(0, "".join(dtmf) == "15#" or None), 10,
                     f"the desk's keys reaching Asterisk (seen {dtmf})")

    await page.get_by_test_id("phone-hangup").click()
    await ended(lab, call_id)
    await phone_state(page, "registered")
    supervisor = WebClient(lab)
    try:
        assert (await supervisor.login("supervisor", PASSWORD)).status == 200

        async def recorded() -> dict[str, Any] | None:
            body = await supervisor.get_json(f"/api/recordings?caller={CALLER}")
            return next((r for r in body["recordings"] if r["call_id"] == call_id), None)

        recording = await eventually(recorded, 30, "the browser call's recording")
        assert recording["flag"] is None and recording["playable"] is True, recording
        assert recording["agent"] == "1001"
    finally:
        await supervisor.close()

    # a reloaded tab registers again (replacing its old contact) and takes the next call
    await page.reload()
    await phone_state(page, "registered")
    contacts = await lab.asterisk.cli("pjsip show contacts") if lab.asterisk else ""
    assert contacts.count("web1001/") == 1, contacts
    call_id = await ring_and_answer(lab, page)
    await audio_both_ways(page)
    # the desk's own hang-up button (the pop's) ends the browser's call too
    await page.get_by_test_id("pop-hangup").click()
    await ended(lab, call_id)
