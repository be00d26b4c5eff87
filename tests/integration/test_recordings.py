"""Issue 10 acceptance: calls recorded by real Asterisk, indexed, found, served with Range,
kept from the wrong ears; a transfer's recordings linked to the one call."""

from __future__ import annotations

import asyncio
import hashlib
import wave
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

from ctiserver.agents.model import AgentState
from ctiserver.customers.store import CustomerRepository
from ctiserver.lab.caller import place_call
from ctiserver.lab.runner import Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.recordings.commands import reconcile
from ctiserver.recordings.model import pcm_rms
from ctiserver.users.store import UserRepository
from tests.integration.browser import logged_in_page
from tests.integration.conftest import LabFactory, WebClient, eventually, lab_settings

pytestmark = pytest.mark.integration

VIP = "13800138000"  # 张伟, a demo customer
PASSWORD = "lab"


async def recordings_of(web: WebClient, query: str, count: int) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        body = await web.get_json(f"/api/recordings?{query}")
        return body["recordings"] if len(body["recordings"]) >= count else None

    return await eventually(found, 30, f"{count} recording(s) for {query}")


async def logged_in(lab: Lab, username: str) -> WebClient:
    client = WebClient(lab)
    response = await client.login(username, PASSWORD)
    assert response.status == 200, await response.text()
    return client


async def agent_1001_at_the_desk(
    make_lab: LabFactory, tmp_path: Path, browser: Any
) -> tuple[Lab, Any, Callable[[], Awaitable[bool]]]:
    """A lab whose agent 1001 logged in from the desk page and is ready: the lab, the page,
    and the probe of that readiness (for waiting again after a wrap-up)."""
    lab = await make_lab(lab_settings(tmp_path, lab={"login_agents": False}))
    assert lab.server is not None
    server = lab.server
    page = await logged_in_page(browser, f"http://127.0.0.1:{server.web_port}", "agent1001", PASSWORD,
                                "/ui/agent.html")
    await page.get_by_test_id("login-button").click()

    async def ready() -> bool:
        agent = server.board.get("Local/1001@lab-agents/n")
        return agent is not None and agent.state is AgentState.READY

    await eventually(ready, 10, "agent 1001 ready")
    return lab, page, ready


def loudness(path: Path) -> tuple[float, float]:
    """(seconds, RMS) of a WAV file."""
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
        return wav.getnframes() / wav.getframerate(), pcm_rms(frames)


async def test_an_answered_call_is_recorded_indexed_and_served_to_the_right_ears(
    make_lab: LabFactory, tmp_path: Path
) -> None:
    # with the "this call is recorded" notice on: Asterisk plays it to the caller before they queue
    lab = await make_lab(lab_settings(tmp_path, recordings={"announce": True}))
    assert lab.server is not None
    notices: list[dict[str, str]] = []
    lab.server.ami.on_event(lambda m: notices.append(dict(m)) if m.get("UserEvent") == "CtiRecordingNotice" else None)
    call_id = await place_call(lab, LabCall(VIP, "张伟", hangup_after=6))
    supervisor = await logged_in(lab, "supervisor")
    try:
        [recording] = await recordings_of(supervisor, f"caller={VIP}", 1)
        assert recording["call_id"] == call_id
        [notice] = notices
        assert (notice.get("Queue"), notice.get("Prompt"), notice.get("Linkedid")) == (
            "support", "conf-now-recording", call_id), notice
        assert "lab-agents" not in notice.get("Channel", "lab-agents"), "played to the caller, not to the agent"
        assert recording["caller_number"] == VIP and recording["caller_name"] == "张伟"
        assert recording["playable"] is True and recording["flag"] is None
        [customer] = await CustomerRepository(lab.server.db).find_by_phone(VIP)
        assert recording["customer_id"] == customer.id

        ended = (await supervisor.calls("ended"))[call_id]
        agent = lab.server.board.get(f"Local/{recording['agent']}@lab-agents/n")
        assert agent is not None and ended["agent"] in (agent.name, agent.interface), (ended["agent"], agent)
        assert recording["queue"] == "support"
        talk = (datetime.fromisoformat(ended["ended_at"]) - datetime.fromisoformat(ended["answered_at"])).total_seconds()
        assert abs(recording["duration"] - talk) < 1.0, (recording["duration"], talk)

        # the file: in the date tree, named by our id, holding sound (both parties' tones)
        directory = Path(lab.settings.recordings.dir)
        files = list(directory.glob(f"*/*/*/{recording['id']}.wav"))
        assert len(files) == 1, files
        seconds, rms = loudness(files[0])
        assert rms > 100, f"the recording is silence (RMS {rms})"
        assert abs(seconds - recording["duration"]) < 0.01
        content = files[0].read_bytes()
        assert len(content) == recording["size"]

        # the whole file, then a Range: 206 with exactly the bytes asked
        url = supervisor.base + recording["audio_url"]
        async with supervisor.session.get(url) as whole:
            assert whole.status == 200
            assert hashlib.sha256(await whole.read()).hexdigest() == hashlib.sha256(content).hexdigest()
        async with supervisor.session.get(url, headers={"Range": "bytes=1000-4999"}) as part:
            assert part.status == 206
            assert part.headers["Content-Range"] == f"bytes 1000-4999/{len(content)}"
            assert await part.read() == content[1000:5000]

        # ids and paths that are not ours: 404, nothing outside the directory read
        for raw in (
            "/api/recordings/..%2F..%2F..%2Fetc%2Fpasswd/audio",
            "/api/recordings/%2Fetc%2Fpasswd/audio",
            "/api/recordings/%252e%252e%252fetc%252fpasswd/audio",
            "/api/recordings/..%5C..%5Cetc%5Cpasswd/audio",
            "/api/recordings/" + "0" * 32 + "/audio",
        ):
            async with supervisor.session.get(URL(supervisor.base + raw, encoded=True)) as response:
                assert response.status == 404, raw
                assert b"root:" not in await response.read()
        async with supervisor.session.get(
            URL(supervisor.base + "/api/recordings/../../../etc/passwd/audio", encoded=True)
        ) as response:
            assert response.status == 404
            assert b"root:" not in await response.read()

        # the agent who took the call hears it; another agent gets 403 and an empty search
        owner = await logged_in(lab, f"agent{recording['agent']}")
        other_extension = next(e for e in lab.settings.lab.agents if e != recording["agent"])
        other = await logged_in(lab, f"agent{other_extension}")
        try:
            async with owner.session.get(owner.base + recording["audio_url"]) as mine:
                assert mine.status == 200
            assert [r["id"] for r in (await owner.get_json("/api/recordings"))["recordings"]] == [recording["id"]]
            async with other.session.get(other.base + recording["audio_url"]) as theirs:
                assert theirs.status == 403
            assert (await other.get_json("/api/recordings"))["recordings"] == []
            async with other.session.get(f"{other.base}/api/recordings?agent={recording['agent']}") as search:
                assert search.status == 403
        finally:
            await owner.close()
            await other.close()

        # every play is in the audit log
        admin = await logged_in(lab, "admin")
        try:
            async def audited() -> list[dict[str, Any]] | None:
                events = (await admin.get_json(
                    f"/api/audit?target_kind=recording&target_id={recording['id']}"
                ))["events"]
                return events if len(events) >= 4 else None

            events = await eventually(audited, 15, "plays of the recording in the audit log")
            # (a Range play is logged with the status the handler answered, 200, before
            # aiohttp's FileResponse turns it into 206)
            assert {e["status"] for e in events} >= {200, 403}
            assert {e["username"] for e in events} >= {"supervisor", f"agent{recording['agent']}"}
        finally:
            await admin.close()

        assert (await reconcile(lab.server.db, directory.resolve())).orphans == []
    finally:
        await supervisor.close()


async def test_a_transferred_call_gives_recordings_linked_to_the_one_call_and_no_orphan(
    make_lab: LabFactory, tmp_path: Path
) -> None:
    lab = await make_lab(lab_settings(tmp_path, lab={"login_agents": False}))
    assert lab.server is not None
    server = lab.server
    users = UserRepository(server.db)
    first = await users.authenticate("agent1001", PASSWORD)
    assert first is not None
    await server.desk.login(first.id, ["support"])
    call_id = await place_call(lab, LabCall(VIP, "张伟", hangup_after=12))

    async def on_call(extension: str) -> bool:
        agent = server.board.get(f"Local/{extension}@lab-agents/n")
        return agent is not None and agent.state is AgentState.ON_CALL and agent.linkedid == call_id

    await eventually(lambda: on_call("1001"), 15, "agent 1001 on the call")
    await asyncio.sleep(2)
    await server.desk.transfer(first.id, "1002")
    await eventually(lambda: on_call("1002"), 15, "agent 1002 on the transferred call")

    supervisor = await logged_in(lab, "supervisor")
    try:
        found = await recordings_of(supervisor, f"call_id={call_id}", 2)
        assert sorted(r["agent"] for r in found) == ["1001", "1002"]
        assert {r["call_id"] for r in found} == {call_id}
        assert all(r["playable"] for r in found), found
        assert all(r["caller_number"] == VIP for r in found)
        result = await reconcile(server.db, Path(lab.settings.recordings.dir).resolve())
        assert result.orphans == [] and result.lost == []
    finally:
        await supervisor.close()


async def test_the_supervisor_page_finds_the_call_by_caller_number_plays_and_seeks(
    make_lab: LabFactory, tmp_path: Path, browser: Any
) -> None:
    lab = await make_lab(lab_settings(tmp_path))
    assert lab.server is not None
    call_id = await place_call(lab, LabCall(VIP, "张伟", hangup_after=8))
    supervisor = await logged_in(lab, "supervisor")
    try:
        [recording] = await recordings_of(supervisor, f"caller={VIP}", 1)
    finally:
        await supervisor.close()
    page = await logged_in_page(browser, f"http://127.0.0.1:{lab.server.web_port}", "supervisor", PASSWORD,
                                "/ui/supervisor.html")
    await page.get_by_test_id("tab-recordings").click()
    await page.get_by_test_id("rec-caller").fill("138001")
    await page.get_by_test_id("rec-search").click()
    row = page.locator(f'[data-testid=rec-row][data-call-id="{call_id}"]')
    await row.wait_for(timeout=10_000)
    assert VIP in await row.inner_text() and "张伟" in await row.inner_text()
    # the agent filter lists the agents by name (issue 22); another agent's finds nothing, the
    # one who took the call finds it again, named as a person in the row
    choose = page.get_by_test_id("rec-agent")
    option = choose.locator(f'option[value="{recording["agent"]}"]')
    await option.wait_for(state="attached", timeout=10_000)
    name = (await option.inner_text()).split("（")[0]
    assert name and name != recording["agent"]
    other = next(e for e in lab.settings.lab.agents if e != recording["agent"])
    await choose.select_option(other)
    await page.get_by_test_id("rec-search").click()
    await page.get_by_test_id("rec-none").wait_for(timeout=10_000)
    await choose.select_option(recording["agent"])
    await page.get_by_test_id("rec-search").click()
    await row.wait_for(timeout=10_000)
    assert name in await row.inner_text()
    await row.get_by_test_id("rec-play").click()

    player = page.get_by_test_id("rec-player")
    await page.wait_for_function(
        "() => { const a = document.getElementById('rec-player'); return a.readyState >= 2 && a.duration > 0; }",
        timeout=10_000,
    )
    # the page plays the MP3 the server made on this first request (not the WAV)
    assert await player.evaluate("a => a.currentSrc") == supervisor.base + recording["mp3_url"]
    assert await player.get_attribute("data-format") == "mp3"
    duration = await player.evaluate("a => a.duration")
    assert abs(duration - recording["duration"]) < 0.5, (duration, recording["duration"])
    # the waveform above the player: drawn from the server's peaks, the tones visible
    wave = page.locator("[data-testid=rec-wave][data-state=drawn]")
    await wave.wait_for(timeout=10_000)
    assert await wave.get_attribute("data-points") == "400" and await wave.get_attribute("data-gaps") == "0"
    inked = await wave.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n / (c.width * c.height); }"
    )
    assert 0.05 < inked < 0.95, f"the waveform's bars cover {inked:.0%} of the canvas"
    # a click on the waveform's middle seeks the player there
    box = await wave.bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.wait_for_function(
        f"() => {{ const a = document.getElementById('rec-player'); return !a.seeking && "
        f"Math.abs(a.currentTime - {duration / 2}) < 1.0; }}",
        timeout=10_000,
    )
    # seeking: jump near the end and hear it from there (a Range request the server answers 206)
    target = max(duration - 1.5, 0.5)
    await player.evaluate(f"a => {{ a.currentTime = {target}; return a.play(); }}")
    await page.wait_for_function(
        f"() => {{ const a = document.getElementById('rec-player'); return !a.seeking && a.currentTime >= {target}; }}",
        timeout=10_000,
    )
    assert await player.evaluate("a => a.error") is None
    download = page.get_by_test_id("rec-download")
    assert await download.get_attribute("href") == f"{recording['audio_url']}?download=1"


async def test_from_the_customer_history_on_the_desk_the_call_recording_is_one_click_away(
    make_lab: LabFactory, tmp_path: Path, browser: Any
) -> None:
    lab, page, ready = await agent_1001_at_the_desk(make_lab, tmp_path, browser)
    first = await place_call(lab, LabCall(VIP, "张伟", hangup_after=5))
    supervisor = await logged_in(lab, "supervisor")
    try:
        [recording] = await recordings_of(supervisor, f"call_id={first}", 1)
        assert recording["agent"] == "1001"
    finally:
        await supervisor.close()
    # a ticket opened on that call (as the agent would, from the pop)
    assert lab.server is not None
    web_port = lab.server.web_port
    agent = await logged_in(lab, "agent1001")
    try:
        [customer] = await CustomerRepository(lab.server.db).find_by_phone(VIP)
        async with agent.session.post(f"{agent.base}/api/tickets", json={
            "type": "repair", "summary": "fridge noisy", "customer_id": customer.id, "call_id": first,
        }) as opened:
            assert opened.status in (200, 201), await opened.text()
            ticket = (await opened.json())["ticket"]
    finally:
        await agent.close()
    await eventually(ready, 20, "agent 1001 ready again after wrap-up")

    # the customer calls again: the pop shows the history, with the first call's recording
    await place_call(lab, LabCall(VIP, "张伟", hangup_after=30))
    # the ticket, in the customer card's open tickets: its call's recording is one click away
    ticket_button = page.get_by_test_id("open-tickets").locator(
        f'[data-testid=ticket-recording][data-ticket-number="{ticket["number"]}"]'
    )
    await ticket_button.wait_for(timeout=15_000)
    assert await ticket_button.get_attribute("data-call-id") == first
    async with page.expect_response(lambda r: "/api/recordings?ticket=" in r.url) as searched:
        await ticket_button.click()
    assert [r["id"] for r in (await (await searched.value).json())["recordings"]] == [recording["id"]]
    await page.wait_for_function(
        "() => { const a = document.getElementById('history-player'); "
        "return !a.hidden && a.readyState >= 2 && a.duration > 0; }",
        timeout=10_000,
    )
    history_player = page.get_by_test_id("history-player")
    assert await history_player.evaluate("a => a.currentSrc") == (
        f"http://127.0.0.1:{web_port}{recording['mp3_url']}"
    )
    await history_player.evaluate("a => { a.pause(); a.removeAttribute('src'); a.load(); a.hidden = true; }")
    # (the customer card's recent calls have the same button)
    button = page.get_by_test_id("history-calls").locator(f'[data-testid=history-recording][data-call-id="{first}"]')
    await button.wait_for(timeout=15_000)
    await button.click()
    await page.wait_for_function(
        "() => { const a = document.getElementById('history-player'); "
        "return !a.hidden && a.readyState >= 2 && a.duration > 0; }",
        timeout=10_000,
    )
    player = page.get_by_test_id("history-player")
    assert await player.get_attribute("data-call-id") == first
    assert abs(await player.evaluate("a => a.duration") - recording["duration"]) < 0.5


async def test_a_supervisor_listens_whispers_and_barges_into_a_live_call(
    make_lab: LabFactory, tmp_path: Path, browser: Any
) -> None:
    lab = await make_lab(lab_settings(tmp_path))
    assert lab.server is not None
    server = lab.server
    call_id = await place_call(lab, LabCall(VIP, "张伟", hangup_after=60))

    async def agent_channel() -> str | None:
        for agent in server.board.all():
            if agent.state is AgentState.ON_CALL and agent.linkedid == call_id and agent.channel:
                return agent.channel
        return None

    spied = await eventually(agent_channel, 15, "an agent on the call")
    # Asterisk says when a spy is attached to a channel (ChanSpyStart, a call event)
    spy_starts: list[tuple[str, str]] = []
    server.ami.on_event(lambda m: spy_starts.append((m.get("SpyerChannel", ""), m.get("SpyeeChannel", "")))
                        if m.get("Event") == "ChanSpyStart" else None)
    supervisor = await logged_in(lab, "supervisor")
    agent = await logged_in(lab, "agent1001")
    try:
        async with agent.session.post(f"{agent.base}/api/monitor",
                                      json={"call_id": call_id, "mode": "listen", "phone": "9001"}) as refused:
            assert refused.status == 403
        async with supervisor.session.post(f"{supervisor.base}/api/monitor",
                                           json={"call_id": "no-such-call", "mode": "listen", "phone": "9001"}) as none:
            assert none.status == 404
        for mode, phone, options in (("listen", "9001", "qE"), ("whisper", "9002", "qwE"), ("barge", "9003", "qBE")):
            async with supervisor.session.post(f"{supervisor.base}/api/monitor",
                                               json={"call_id": call_id, "mode": mode, "phone": phone}) as response:
                assert response.status == 200, await response.text()
                answer = await response.json()
                assert answer["agent_channel"] == spied and answer["mode"] == mode

            async def spying(phone: str = phone, options: str = options) -> dict[str, str] | None:
                listing = await lab.phones.send_list_action({"Action": "CoreShowChannels"})
                for channel in listing:
                    if (channel.get("Event") == "CoreShowChannel" and channel.get("Application") == "ChanSpy"
                            and channel.get("Channel", "").startswith(f"Local/{phone}@lab-supervisor")
                            and channel.get("ChannelStateDesc") == "Up"):
                        return dict(channel)
                return None

            spy = await eventually(spying, 15, f"the {mode} spy channel up on Asterisk")
            assert spy["ApplicationData"] == f"{spied},{options}", spy

            async def attached(spyer: str = spy["Channel"]) -> bool:
                return (spyer, spied) in spy_starts

            await eventually(attached, 10, f"the {mode} spy attached to the agent's leg (ChanSpyStart)")
        # from the supervisor page: the live call, a phone, Listen
        page = await logged_in_page(browser, supervisor.base, "supervisor", PASSWORD, "/ui/supervisor.html")
        await page.get_by_test_id("tab-recordings").click()
        row = page.locator(f'[data-testid=mon-call][data-call-id="{call_id}"]')
        await row.wait_for(timeout=10_000)
        await page.get_by_test_id("mon-phone").fill("9004")
        await row.get_by_test_id("mon-listen").click()
        await page.locator("[data-testid=mon-status][data-state=ringing]").wait_for(timeout=5_000)
        spy = await eventually(lambda: spying("9004", "qE"), 15, "the spy channel of the page's Listen")
        assert spy["ApplicationData"] == f"{spied},qE"
    finally:
        await supervisor.close()
        await agent.close()


async def test_pause_and_resume_from_the_desk_leave_a_marked_blank_gap(
    make_lab: LabFactory, tmp_path: Path, browser: Any
) -> None:
    lab, page, ready = await agent_1001_at_the_desk(make_lab, tmp_path, browser)
    assert lab.server is not None
    server = lab.server
    call_id = await place_call(lab, LabCall(VIP, "张伟", hangup_after=12))

    async def on_call() -> bool:
        agent = server.board.get("Local/1001@lab-agents/n")
        return agent is not None and agent.state is AgentState.ON_CALL and agent.linkedid == call_id

    await eventually(on_call, 15, "agent 1001 on the call")
    await page.locator("[data-testid=pop-status][data-status=answered]").wait_for(timeout=10_000)
    desk = await logged_in(lab, "agent1001")
    try:
        await asyncio.sleep(2)
        button = page.get_by_test_id("recording-pause")
        await button.click()
        await page.locator("[data-testid=recording-pause][data-paused=true]").wait_for(timeout=5_000)
        await asyncio.sleep(3)
        await button.click()
        await page.locator("[data-testid=recording-pause][data-paused=false]").wait_for(timeout=5_000)
        [recording] = await recordings_of(desk, f"call_id={call_id}", 1)
        [gap] = recording["gaps"]
    finally:
        await desk.close()
    assert 1.0 < gap["start"] < gap["end"] and 2.5 < gap["end"] - gap["start"] < 4.5, gap
    assert recording["playable"] is True

    [path] = Path(lab.settings.recordings.dir).glob(f"*/*/*/{recording['id']}.wav")
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())

    def rms(start: float, end: float) -> float:
        return pcm_rms(frames[int(start * rate) * 2:int(end * rate) * 2])

    assert rms(gap["start"] + 0.1, gap["end"] - 0.1) == 0.0, "what was said during the pause is not kept"
    assert rms(0.0, max(gap["start"] - 0.5, 0.2)) > 100, "before the pause: recorded"
    assert rms(gap["end"] + 0.5, recording["duration"]) > 100, "after the resume: recorded again"

    # the supervisor's waveform of it shows the gap (shaded over the whole height, nowhere else)
    supervisor_page = await logged_in_page(browser, f"http://127.0.0.1:{server.web_port}", "supervisor", PASSWORD,
                                           "/ui/supervisor.html")
    await supervisor_page.get_by_test_id("tab-recordings").click()
    row = supervisor_page.locator(f'[data-testid=rec-row][data-call-id="{call_id}"]')
    await row.wait_for(timeout=10_000)
    await row.get_by_test_id("rec-play").click()
    wave_canvas = supervisor_page.locator("[data-testid=rec-wave][data-state=drawn]")
    await wave_canvas.wait_for(timeout=10_000)
    assert await wave_canvas.get_attribute("data-gaps") == "1"
    # stopped at the start, so the playhead is not drawn over what is looked at
    await supervisor_page.wait_for_function("() => document.getElementById('rec-player').readyState >= 1",
                                            timeout=10_000)
    await supervisor_page.evaluate(
        "() => new Promise(done => { const a = document.getElementById('rec-player'); a.pause();"
        " a.addEventListener('seeked', () => setTimeout(done, 50), { once: true }); a.currentTime = 0; })"
    )

    async def top_row_alpha(seconds: float) -> int:
        return int(await wave_canvas.evaluate(
            "(c, at) => c.getContext('2d').getImageData(Math.floor(c.width * at), 1, 1, 1).data[3]",
            seconds / recording["duration"],
        ))

    assert await top_row_alpha((gap["start"] + gap["end"]) / 2) > 0, "the gap is shaded"
    assert await top_row_alpha(max(gap["start"] - 0.7, 0.1)) == 0, "before the gap: bars only, not shaded"
