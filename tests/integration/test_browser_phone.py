"""Issue 21 acceptance: the phone in the desk (WebRTC over wss) against the real lab Asterisk.

One lab and one Chromium for the module (its tests run in order; after each, a failed one
too, its pages are closed and its calls hung up): agent 1001 alone is in the queue and
takes calls in the browser (fake microphone: a WAV spoken by espeak-ng); agents 1002 and
1003 open their desks (browsers registered, out of the queues) to take transfers; the
supervisor listens from the browser. The lab
caller speaks its own espeak-ng phrase, in A-law as a trunk's caller (a Local channel, or
over SIP through the lab's trunk endpoint).
"""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import subprocess
import uuid
import wave
from array import array
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from panoramisk.message import Message

from ctiserver.lab.caller import eventually as wait_for
from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.recordings.model import pcm_rms
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium
from tests.conftest import require
from tests.integration.conftest import WebClient, eventually, lab_settings
from tests.integration.shared_lab import SharedBrowser, module_lab, quiet, short_wrapup

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

log = logging.getLogger(__name__)

CALLER = "13800138000"  # 张伟, a demo customer
PASSWORD = "lab"
#: the module's Asterisk log (messages.log), once its lab runs
ASTERISK_LOG: list[Path] = []

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
    if (s.type === "transport") { out.dtls = s.dtlsState; out.ice = s.iceState; }
  });
  out.connection = pc.connectionState;  // what a failure names, with the call's SIP state
  out.session = window.deskPhone.session ? window.deskPhone.session.status : null;
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


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Lab]:
    """Agents start logged out: 1001 alone joins the queue, so every call rings the browser."""
    settings = lab_settings(tmp_path_factory.mktemp("lab"), lab={"login_agents": False},
                            webrtc={"qualify_frequency": 4})  # a lost browser found out quickly
    async with module_lab(short_wrapup(settings)) as lab:
        assert lab.server is not None and lab.asterisk is not None
        ASTERISK_LOG[:] = [lab.asterisk.log_file.with_name("messages.log")]
        user = await UserRepository(lab.server.db).authenticate("agent1001", PASSWORD)
        assert user is not None
        await lab.server.desk.login(user.id, ["support"])
        yield lab


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_chromium(voice: Path) -> AsyncIterator[SharedBrowser]:
    args = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={voice}", "--autoplay-policy=no-user-gesture-required",
            "--ignore-certificate-errors")
    async with launched_chromium(args) as browser:
        yield SharedBrowser(browser)


@pytest_asyncio.fixture(loop_scope="module")
async def lab(shared_lab: Lab) -> AsyncIterator[Lab]:
    """The module's lab; what a test leaves (a failed one too) is hung up after it, so that
    the next test's call rings a free agent 1001 (who stays in the queue)."""
    yield shared_lab
    await quiet(shared_lab, log_out=False)


@pytest_asyncio.fixture(loop_scope="module")
async def chromium(shared_chromium: SharedBrowser, lab: Lab) -> AsyncIterator[Any]:
    """The module's Chromium; the pages a test opened are closed after it (before its calls
    are hung up: no page of an earlier test stays registered)."""
    yield shared_chromium.enter()
    await shared_chromium.leave()


async def desk_page(chromium: Any, lab: Lab, user: str = "agent1001", path: str = "/ui/agent.html") -> Any:
    assert lab.server is not None
    context = await chromium.new_context(base_url=f"http://127.0.0.1:{lab.server.web_port}",
                                         locale="zh-CN", ignore_https_errors=True, permissions=["microphone"])
    response = await context.request.post("/login", data={"username": user, "password": PASSWORD})
    assert response.ok, await response.text()
    page = await context.new_page()
    await page.goto(path)
    return page


async def phone_state(page: Any, state: str, timeout: float = 20_000) -> None:
    await page.locator(f'[data-testid="phone-state"][data-state="{state}"]').wait_for(timeout=timeout)


async def ring_and_answer(lab: Lab, page: Any, *, over_sip: bool = False) -> str:
    """A real queue call: the browser rings together with the pop; the desk answers.
    ``over_sip``: the caller calls over SIP (the lab's trunk) rather than as a Local channel."""
    assert lab.server is not None
    call_id = await place_call(lab, LabCall(CALLER, "张伟", over_sip=over_sip))
    if over_sip:  # the hotline's leg is the trunk's incoming channel, a call of its own
        phone_id = call_id

        async def hotline_call() -> str | None:
            calls = lab.server.calls.active_calls() if lab.server else []
            return next((c.linkedid for c in calls if c.caller_number == CALLER and c.linkedid != phone_id), None)

        call_id = await eventually(hotline_call, 15, "the SIP caller's call in the hotline")
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


async def audio_both_ways(page: Any, *, outbound: bool = True, after: dict[str, float] | None = None,
                          ) -> dict[str, float]:
    """Inbound packets with audio energy (and outbound packets) on the page's call; with
    ``after``, more of them than then (the call's audio still flowing)."""
    seen: list[Any] = []
    before = after or {"inPackets": 0, "inEnergy": 0, "outPackets": 0}

    async def flowing() -> dict[str, float] | None:
        stats = await page.evaluate(STATS_JS)
        seen[:] = [stats]
        if stats and stats.get("connection") == "failed":
            raise IceFailed(f"the browser's connection failed (no media path): {stats}\n"
                            f"Asterisk's last warnings and the browsers' channels:\n{asterisk_said()}")
        if (stats and stats["inPackets"] > before["inPackets"] + 25 and stats["inEnergy"] > before["inEnergy"]
                and (not outbound or stats["outPackets"] > before["outPackets"] + 25)):
            return stats
        return None

    try:
        return await wait_for(flowing, 30, "audio both ways")
    except TimeoutError:
        pytest.fail(f"no audio (getStats: inbound packets and energy, outbound packets, after {before}): {seen}"
                    f"\nAsterisk's last warnings and the browsers' channels:\n{asterisk_said()}")


class IceFailed(AssertionError):
    """The browser's call found no media path to Asterisk (ICE failed): its audio never comes."""


def asterisk_said(lines: int = 40) -> str:
    """The module's Asterisk log, its warnings and the lines about the browsers' channels
    (what a failure in CI, whose lab is gone afterwards, can still tell)."""
    if not ASTERISK_LOG or not ASTERISK_LOG[0].exists():
        return "(no log)"
    wanted = ("WARNING", "ERROR", "PJSIP/web", "websup", "DTLS", "ICE")
    text = ASTERISK_LOG[0].read_text(errors="replace").splitlines()
    return "\n".join([line for line in text if any(w in line for w in wanted)][-lines:])


async def ended(lab: Lab, call_id: str) -> None:
    assert lab.server is not None

    async def gone() -> bool:
        return lab.server is not None and lab.server.calls.get(call_id) is None

    await eventually(gone, 10, "the call to end in the call record")
    seen: list[str] = []

    async def no_browser_channel() -> bool:
        # the call record may end (the caller's leg gone) a moment before Asterisk has
        # destroyed the browser's channel: wait for it rather than race it
        seen[:] = [await lab.asterisk.cli("core show channels concise") if lab.asterisk else ""]
        return "PJSIP/web" not in seen[0]

    try:
        await wait_for(no_browser_channel, 10, "the browser's channel to end in Asterisk")
    except TimeoutError:
        pytest.fail(f"a browser's channel outlived the call: {seen}")


async def caller_hears(lab: Lab, seconds: float = 1.5) -> float:
    """RMS (16-bit) of what the lab caller's phone receives for ``seconds``: a MixMonitor
    (through the CLI: the AMI user may not start one) records its receive side alone."""
    assert lab.asterisk is not None
    asterisk = lab.asterisk
    listing = await lab.phones.send_list_action({"Action": "CoreShowChannels"})
    phone = next((str(c["Channel"]) for c in listing
                  if c.get("Event") == "CoreShowChannel" and c.get("Context") == "lab-caller"), None)
    assert phone is not None, f"no lab caller's phone among {listing}"
    inside = f"{asterisk.layout.spool}/hears-{uuid.uuid4().hex}"
    received = asterisk.install.host_path(f"{inside}-r.wav")
    wanted = 44 + int(2 * 8000 * seconds)

    async def recorded() -> bool:
        return received.exists() and received.stat().st_size >= wanted

    await asterisk.cli(f"mixmonitor start {phone} {inside}.wav,r({inside}-r.wav)")
    try:
        await wait_for(recorded, 15, f"{seconds} s of what the caller's phone {phone} receives")
    except TimeoutError:
        pytest.fail(f"the caller hears nothing: {phone} received no audio for 15 s")
    finally:
        await asterisk.cli(f"mixmonitor stop {phone}")
    data = received.read_bytes()[44:wanted]
    samples = array("h", data[: len(data) // 2 * 2])
    return math.sqrt(sum(v * v for v in samples) / max(len(samples), 1))


async def bridged(lab: Lab, call_id: str, extension: str) -> str | None:
    """The caller's hotline leg (the call's first channel) in one bridge with the agent's
    (Asterisk's own view)."""
    listing = await lab.phones.send_list_action({"Action": "CoreShowChannels"})
    channels = [c for c in listing if c.get("Event") == "CoreShowChannel"]
    caller = next((str(c.get("BridgeId", "")) for c in channels if c.get("Uniqueid") == call_id), "")
    agent = [c for c in channels if str(c.get("Channel", "")).startswith(f"Local/{extension}@")]
    return caller if caller and any(c.get("BridgeId") == caller for c in agent) else None


async def attended_transfer(lab: Lab, call_id: str, transferer: Any, target: Any, extension: str) -> None:
    """``transferer`` consults ``target`` (at ``extension``) from the desk's transfer field
    and hangs up to complete: the caller and the target then hear each other."""
    await transferer.get_by_test_id("transfer-extension").fill(extension)
    await transferer.get_by_test_id("transfer-attended").click()
    await phone_state(target, "ringing")  # the consultation rings the target; the caller waits
    await target.get_by_test_id("phone-answer").click()
    await phone_state(target, "in_call")
    consulted = await audio_both_ways(target)  # the consultation: the two agents hear each other
    await transferer.get_by_test_id("transfer-complete").click()
    await phone_state(transferer, "registered")
    await eventually(lambda: bridged(lab, call_id, extension), 10,
                     f"the caller bridged with {extension} once the transferer hung up")
    await phone_state(target, "in_call")
    # the caller's voice reaches the target's browser (more inbound packets, with energy,
    # than the consultation brought), the target's goes out, and the caller hears it
    await audio_both_ways(target, after=consulted)
    assert await caller_hears(lab) > 100, "the caller hears silence from the new agent"


async def mute_and_listen(page: Any) -> None:
    """The new agent mutes once the transfer is complete and listens to the caller for 4 s
    (200 more inbound packets): the end of that agent's recording is then the caller's voice
    alone (the lab caller pauses 1.5 s between its phrases)."""
    before = await page.evaluate(STATS_JS)
    await page.get_by_test_id("phone-mute").click()

    async def listened() -> bool:
        stats = await page.evaluate(STATS_JS)
        return bool(stats and stats["inPackets"] > before["inPackets"] + 200)

    await wait_for(listened, 15, "4 s of the caller heard by the muted agent")


def wav_of(directory: Path, recording_id: str) -> tuple[int, bytes]:
    [path] = directory.glob(f"*/*/*/{recording_id}.wav")
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.readframes(wav.getnframes())


async def caller_in_recording(lab: Lab, call_id: str, extension: str) -> float:
    """The loudest half second of the last 3.5 s (before its last 0.3 s) of the newest
    recording of ``extension``'s leg in the call (after ``mute_and_listen``: what the caller
    said after the transfer); the recording is not flagged silent."""
    supervisor = WebClient(lab)
    try:
        assert (await supervisor.login("supervisor", PASSWORD)).status == 200

        async def recorded() -> dict[str, Any] | None:
            # the call's recordings are all indexed once none is under way: asked before the
            # list is read (a list read first may miss the one indexed meanwhile)
            if lab.server is None or lab.server.recordings.under_way(call_id):
                return None
            body = await supervisor.get_json(f"/api/recordings?call_id={call_id}")
            rows = [r for r in body["recordings"] if r["agent"] == extension]
            return max(rows, key=lambda r: str(r["started_at"])) if rows else None

        recording = await eventually(recorded, 30, f"the recording of {extension}'s leg")
    finally:
        await supervisor.close()
    assert recording["flag"] is None and recording["playable"] is True, recording
    rate, frames = await asyncio.to_thread(wav_of, Path(lab.settings.recordings.dir), recording["id"])
    assert len(frames) // 2 >= 4 * rate, f"the newest recording of {extension} is shorter than 4 s: {recording}"
    end = len(frames) // 2 - int(0.3 * rate)
    start = max(end - int(3.5 * rate), 0)
    step = rate // 2
    return max((pcm_rms(frames[i * 2:(i + step) * 2]) for i in range(start, end - step + 1, step // 2)),
               default=0.0)


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
    await page.context.close()


async def test_a_blind_then_an_attended_transfer_between_browser_agents(lab: Lab, chromium: Any) -> None:
    """1001 hands the caller to 1002 blind (the desk's transfer field); 1002 consults 1001
    first (attended) and hangs up to complete: the caller ends up talking to 1001 again."""
    assert lab.server is not None
    first, second = await desk_page(chromium, lab), await desk_page(chromium, lab, "agent1002")
    await phone_state(first, "registered")
    await phone_state(second, "registered")
    call_id = await ring_and_answer(lab, first)
    await audio_both_ways(first)

    await first.get_by_test_id("transfer-extension").fill("1002")
    await first.get_by_test_id("transfer-submit").click()
    await phone_state(second, "ringing")
    await second.get_by_test_id("pop").wait_for(state="visible", timeout=10_000)
    assert await second.get_by_test_id("pop-caller-number").inner_text() == CALLER
    await phone_state(first, "registered")  # the first agent's part ended with the transfer
    await second.get_by_test_id("phone-answer").click()
    await phone_state(second, "in_call")
    await audio_both_ways(second)  # the caller's phrase reaches 1002, 1002's voice goes out

    await attended_transfer(lab, call_id, second, first, "1001")
    assert lab.server.calls.get(call_id) is not None, "the caller stayed on the line"
    await mute_and_listen(first)
    await first.get_by_test_id("phone-hangup").click()
    await ended(lab, call_id)
    # 1001's recording after the transfer holds the caller's voice (a caller whose frames
    # are numbered from 0: the translator of a recording that carried the consultation
    # would take them all for late ones)
    assert await caller_in_recording(lab, call_id, "1001") > 100, "the caller is silent in the recording"
    await first.context.close()
    await second.context.close()


async def test_an_attended_transfer_of_a_caller_over_sip(lab: Lab, chromium: Any) -> None:
    """A caller over SIP (the lab's trunk: SIP and RTP as a trunk's caller's, not a Local
    channel) takes the same way: 1001 answers the queue call, consults 1002 and hangs up;
    the caller and 1002 hear each other."""
    assert lab.server is not None
    first, second = await desk_page(chromium, lab), await desk_page(chromium, lab, "agent1002")
    await phone_state(first, "registered")
    await phone_state(second, "registered")
    call_id = await ring_and_answer(lab, first, over_sip=True)
    await audio_both_ways(first)
    await attended_transfer(lab, call_id, first, second, "1002")
    await mute_and_listen(second)
    await second.get_by_test_id("phone-hangup").click()
    await ended(lab, call_id)
    assert await caller_in_recording(lab, call_id, "1002") > 100, "the caller is silent in the recording"
    await first.context.close()
    await second.context.close()


async def test_two_attended_transfers_in_a_row_keep_the_caller_in_the_last_agents_recording(
    lab: Lab, chromium: Any,
) -> None:
    """1001 consults 1002 and hands the caller over; 1002 consults 1003 and does the same: the
    caller and 1003 hear each other, and 1003's recording (continued on the caller's leg, which
    already carries 1002's) holds the caller's voice."""
    assert lab.server is not None
    first, second, third = (await desk_page(chromium, lab), await desk_page(chromium, lab, "agent1002"),
                            await desk_page(chromium, lab, "agent1003"))
    for page in (first, second, third):
        await phone_state(page, "registered")
    call_id = await ring_and_answer(lab, first)
    await audio_both_ways(first)
    await attended_transfer(lab, call_id, first, second, "1002")
    await attended_transfer(lab, call_id, second, third, "1003")
    await mute_and_listen(third)
    await third.get_by_test_id("phone-hangup").click()
    await ended(lab, call_id)
    assert await caller_in_recording(lab, call_id, "1003") > 100, "the caller is silent in the last recording"
    assert await caller_in_recording(lab, call_id, "1002") > 100, "the caller is silent in 1002's recording"


async def test_a_supervisor_listens_from_the_browser(lab: Lab, chromium: Any) -> None:
    """Live monitoring with no desk phone given rings the supervisor's own WebRTC endpoint;
    their page answers it and hears the call (inbound audio with energy)."""
    assert lab.server is not None
    desk = await desk_page(chromium, lab)
    await phone_state(desk, "registered")
    supervisor = await desk_page(chromium, lab, "supervisor", "/ui/supervisor.html")
    await supervisor.get_by_test_id("tab-recordings").click()
    await phone_state(supervisor, "registered")
    call_id = await ring_and_answer(lab, desk)
    try:
        await audio_both_ways(desk)
    except IceFailed:
        # Twice in about a dozen whole-suite runs, in this test alone, one browser call's ICE
        # failed (cause not found; see the closing note of that session): a second call tells
        # a lost call from a broken path, and fails the test if it fails too
        log.warning("the desk's call found no media path; hung up and placed again", exc_info=True)
        await desk.get_by_test_id("phone-hangup").click()
        await ended(lab, call_id)
        call_id = await ring_and_answer(lab, desk)
        await audio_both_ways(desk)

    async def listen() -> None:
        await supervisor.get_by_test_id("mon-refresh").click()
        row = supervisor.locator(f'[data-testid=mon-call][data-call-id="{call_id}"]')
        await row.wait_for(timeout=10_000)
        await row.get_by_test_id("mon-listen").click()
        await supervisor.locator("[data-testid=mon-status][data-state=ringing]").wait_for(timeout=5_000)
        await phone_state(supervisor, "in_call")  # answered by itself: the supervisor asked for it
        await audio_both_ways(supervisor, outbound=False)

    try:
        await listen()
    except IceFailed:  # as for the desk's call above: once more, then the test fails
        log.warning("the supervisor's monitoring call found no media path; listening again", exc_info=True)
        await supervisor.get_by_test_id("phone-hangup").click()
        await phone_state(supervisor, "registered")
        await listen()
    channels = await lab.asterisk.cli("core show channels concise") if lab.asterisk else ""
    assert "ChanSpy" in channels and "PJSIP/websup" in channels, channels

    await desk.get_by_test_id("phone-hangup").click()
    await ended(lab, call_id)
    await phone_state(supervisor, "registered")  # the spy ends with the spied call (ChanSpy E)
    await desk.context.close()
    await supervisor.context.close()


async def test_a_desk_that_loses_its_network_says_so_and_is_no_longer_rung(lab: Lab, chromium: Any) -> None:
    """The network goes while a call rings in the browser: the desk says so; the browser
    cannot tell Asterisk any more (its answers are lost), so Asterisk finds out itself
    (OPTIONS unanswered: the contact is unavailable) and rings that seat no longer: the
    caller is not lost (the lab's agent answers by itself once no browser is there). Back
    online, the desk registers again at once."""
    assert lab.server is not None and lab.asterisk is not None
    asterisk = lab.asterisk
    page = await desk_page(chromium, lab)
    await phone_state(page, "registered")
    call_id = await place_call(lab, LabCall(CALLER, "张伟"))
    await phone_state(page, "ringing")
    await page.context.set_offline(True)
    await phone_state(page, "offline", 10_000)
    seen: list[str] = []

    async def forgotten() -> bool:
        seen[:] = [await asterisk.cli("pjsip show contacts"), await asterisk.cli("core show channels concise")]
        contact = next((line for line in seen[0].splitlines() if "web1001/" in line), "")
        return (not contact or "Unavail" in contact) and "PJSIP/web1001" not in seen[1]

    try:  # qualify_frequency (4 s here) + qualify_timeout 3 s, or the queue's ring timeout (15 s)
        await wait_for(forgotten, 30, "Asterisk to find the offline browser unreachable and stop ringing it")
    except TimeoutError:
        pytest.fail(f"the offline browser is still registered or rung: {seen}")

    async def answered() -> bool:
        call = lab.server.calls.get(call_id) if lab.server else None
        return call is not None and call.answered_at is not None

    await eventually(answered, 20, "the caller answered elsewhere (the lab's agent), not lost")
    await page.context.set_offline(False)
    await phone_state(page, "registered", 10_000)

    async def registered_again() -> bool:
        contacts = await asterisk.cli("pjsip show contacts")
        return any("web1001/" in line and "Avail" in line and "Unavail" not in line for line in contacts.splitlines())

    # registered at once; reachable again at Asterisk's next OPTIONS (qualify_frequency)
    await eventually(registered_again, 15, "the desk reachable again once back online")
    await lab.phones.send_action({"Action": "Hangup", "Channel": call_id})
    await ended(lab, call_id)
    await page.context.close()
