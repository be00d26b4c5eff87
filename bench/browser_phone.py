"""The phone in the desk under load: N browser agents on the real lab Asterisk.

Starts a lab (real Asterisk, the server, a flow straight to the queue), N agents each
with a desk open in one headless Chromium (fake microphone: an espeak-ng WAV) and their
WebRTC endpoint registered, then:

1. latency, ``--rounds`` rounds of N queue calls placed at once: for each call, the
   queue's offer (the server reading Asterisk's ``AgentCalled`` off the AMI socket) to the
   browser's phone showing *ringing*; then all answer at once, and for each, the click on
   *Answer* to the first inbound audio packet (``getStats()`` polled every 10 ms in the
   page). Median, p99 and max of each.
2. Asterisk's CPU (utime + stime of its process from /proc) per call-minute: N WebRTC
   calls held ``--hold`` seconds, then as long with no call (the idle baseline), then N
   calls answered by the lab's Local-channel agents (the browsers closed), each less the
   idle baseline. The lab caller plays a steady tone in both (set here, so that the first
   packet is not waiting for the phrase's next word); the WebRTC call adds the DTLS-SRTP
   leg to the browser.

    python bench/browser_phone.py [--agents 4] [--rounds 5] [--hold 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctiserver.agents.model import AgentState
from ctiserver.agents.tables import AgentRow
from ctiserver.lab.caller import eventually, place_call, set_global
from ctiserver.lab.isolated import isolated_settings
from ctiserver.lab.runner import LAB_AGENT_INTERFACE, Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.users.store import UserRepository
from tests.chromium import launched_chromium

STRAIGHT = """\
flow: bench
entry: "4008001234"
language: zh
start: support
nodes:
  support: {kind: queue, queue: support}
"""
PASSWORD = "lab"
DEMO_AGENTS = 4

#: in every page: the moments the phone starts ringing (Date.now(), ms)
WATCH_JS = """() => {
  window.__rings = [];
  let last = "";
  setInterval(() => {
    const state = window.deskPhone ? window.deskPhone.state : "";
    if (state === "ringing" && last !== "ringing") window.__rings.push(Date.now());
    last = state;
  }, 2);
}"""
#: answer, then poll every 10 ms until the first inbound audio packet: ms from the click to
#: each step on the way (the 200 OK sent, ICE connected, DTLS connected, the first packet),
#: or null for a step not reached within 15 s
ANSWER_JS = """async () => {
  const clicked = Date.now();
  const at = {ok: null, ice: null, dtls: null, audio: null};
  document.querySelector('[data-testid="phone-answer"]').click();
  while (Date.now() - clicked < 15000) {
    const session = window.deskPhone && window.deskPhone.session;
    const pc = window.deskPhone && window.deskPhone.connection;
    const now = Date.now() - clicked;
    // JsSIP: 6 waiting for the ACK (the 200 OK sent), 9 confirmed
    if (at.ok === null && session && (session.status === 6 || session.status === 9)) at.ok = now;
    if (pc) {
      if (at.ice === null && ["connected", "completed"].includes(pc.iceConnectionState)) at.ice = now;
      let packets = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived || 0;
        if (s.type === "transport" && s.dtlsState === "connected" && at.dtls === null) at.dtls = now;
      });
      if (packets > 0) { at.audio = Date.now() - clicked; return at; }
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return at;
}"""
#: the steps of ANSWER_JS, in order, as printed
STEPS = {"ok": "200 OK sent", "ice": "ICE connected", "dtls": "DTLS connected", "audio": "first inbound audio packet"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    return (f"{name}: n={len(values)} median {statistics.median(values):.0f} ms, "
            f"p99 {percentile(values, 0.99):.0f} ms, max {max(values):.0f} ms")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def voice(directory: Path) -> Path:
    wav = directory / "agent.wav"
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("bench: needs espeak-ng (the browsers' microphone)")
    subprocess.run([espeak, "-v", "en", "-w", str(wav),  # noqa: S603  (fixed arguments)
                    "Hello, this is the after sales hotline, how can I help you today?"], check=True)
    return wav


async def seat_agents(lab: Lab, extensions: list[str]) -> None:
    """The demo's agents 1001..1004, and more with users of their own beyond them."""
    assert lab.server is not None
    users = UserRepository(lab.server.db)
    for extension in extensions[DEMO_AGENTS:]:
        user = await users.add(f"agent{extension}", PASSWORD, "agent")
        async with lab.server.db.session() as session:
            await session.execute(insert(AgentRow), [{"extension": extension, "name": f"坐席{extension}",
                                                   "user_id": user.id, "skills": "support"}])
            await session.commit()
    await lab.server.seat_agents()
    for extension in extensions:
        user = await users.find(f"agent{extension}")
        assert user is not None
        await lab.server.desk.login(user.id, ["support"])


async def open_desk(chromium: Any, lab: Lab, extension: str) -> Any:
    assert lab.server is not None
    context = await chromium.new_context(base_url=f"http://127.0.0.1:{lab.server.web_port}", locale="zh-CN",
                                         ignore_https_errors=True, permissions=["microphone"])
    response = await context.request.post("/login", data={"username": f"agent{extension}", "password": PASSWORD})
    assert response.ok, await response.text()
    page = await context.new_page()
    await page.goto("/ui/agent.html")
    await page.locator('[data-testid="phone-state"][data-state="registered"]').wait_for(timeout=60_000)
    await page.evaluate(WATCH_JS)
    return page


async def all_ready(lab: Lab, extensions: list[str]) -> None:
    assert lab.server is not None
    board = lab.server.board

    async def ready() -> bool:
        agents = [board.get(LAB_AGENT_INTERFACE.replace("{extension}", e)) for e in extensions]
        return all(a is not None and a.state is AgentState.READY for a in agents)

    await eventually(ready, 60, "every agent ready again")
    await asyncio.sleep(6)  # past the queue's wrap-up (5 s): Asterisk rings no agent in it


async def hang_up_all(lab: Lab, calls: list[str]) -> None:
    assert lab.server is not None
    for call_id in calls:
        await lab.phones.send_action({"Action": "Hangup", "Channel": call_id})

    async def gone() -> bool:
        return all(lab.server.calls.get(c) is None for c in calls) if lab.server else True

    await eventually(gone, 30, "every call ended")


async def latency_rounds(lab: Lab, pages: dict[str, Any], rounds: int,
                         ) -> tuple[list[float], dict[str, list[float]]]:
    assert lab.server is not None
    offers: dict[str, list[float]] = {e: [] for e in pages}

    def on_event(message: Any) -> None:
        if message.get("Event") == "AgentCalled":
            interface = str(message.get("Interface", ""))
            for extension in pages:
                if interface == LAB_AGENT_INTERFACE.replace("{extension}", extension):
                    offers[extension].append(time.time() * 1000)

    lab.server.ami.on_event(on_event)
    ringing_ms: list[float] = []
    steps_ms: dict[str, list[float]] = {step: [] for step in STEPS}
    for number in range(rounds):
        await all_ready(lab, list(pages))
        for extension in pages:
            offers[extension].clear()
            await pages[extension].evaluate("() => { window.__rings.length = 0; }")
        calls = [await place_call(lab, LabCall(f"1380013{number:02d}{n:02d}", "")) for n in range(len(pages))]

        async def all_ringing() -> bool:
            counts = [await page.evaluate("() => window.__rings.length") for page in pages.values()]
            return all(counts)

        with contextlib.suppress(TimeoutError):  # counted below: a browser that did not ring within 30 s
            await eventually(all_ringing, 30, f"every browser ringing (round {number + 1})")
        rung = {}
        for extension, page in pages.items():
            rings = await page.evaluate("() => window.__rings")
            if rings and offers[extension]:
                ringing_ms.append(rings[0] - offers[extension][0])
            if rings and await page.evaluate("() => window.deskPhone.state") == "ringing":
                rung[extension] = page
        # the lab caller answers, waits a second (LAB_DTMF_DELAY) and only then sounds its tone:
        # answered at once, the first packet would time the caller's silence (~0.8 s), not the
        # media path; answered 2 s after the offer, the caller is sounding already
        await asyncio.sleep(2)
        answered = await asyncio.gather(*(page.evaluate(ANSWER_JS) for page in rung.values()))
        for at in answered:
            for step in STEPS:
                if at[step] is not None:
                    steps_ms[step].append(at[step])
        missing = sum(at["audio"] is None for at in answered)
        print(f"round {number + 1}: {len(calls)} calls, {len(rung)} rung and answered in the browsers"
              + (f", {missing} without audio within 15 s" if missing else ""), flush=True)
        await hang_up_all(lab, calls)
    return ringing_ms, steps_ms


async def hold_calls(lab: Lab, pages: dict[str, Any] | None, count: int, hold: float) -> float:
    """CPU seconds Asterisk spent while ``count`` calls were up for ``hold`` seconds (answered
    in the browsers, or by the lab's Local-channel agents without ``pages``)."""
    assert lab.server is not None and lab.asterisk is not None and lab.asterisk.pid is not None
    calls = [await place_call(lab, LabCall(f"1390013{n:04d}", "")) for n in range(count)]
    if pages is not None:
        async def all_ringing() -> bool:
            states = [await page.evaluate("() => window.deskPhone.state") for page in pages.values()]
            return all(state == "ringing" for state in states)

        await eventually(all_ringing, 60, "every browser ringing")
        await asyncio.gather(*(page.evaluate(ANSWER_JS) for page in pages.values()))

    async def all_answered() -> bool:
        up = [lab.server.calls.get(c) for c in calls] if lab.server else []
        return all(call is not None and call.answered_at is not None for call in up)

    await eventually(all_answered, 60, "every call answered")
    await asyncio.sleep(2)  # past the answer's own work
    pid = lab.asterisk.pid
    before = cpu_seconds(pid)
    await asyncio.sleep(hold)
    spent = cpu_seconds(pid) - before
    await hang_up_all(lab, calls)
    return spent


async def idle(lab: Lab, hold: float) -> float:
    assert lab.asterisk is not None and lab.asterisk.pid is not None
    before = cpu_seconds(lab.asterisk.pid)
    await asyncio.sleep(hold)
    return cpu_seconds(lab.asterisk.pid) - before


async def main(args: argparse.Namespace) -> None:
    extensions = [str(1001 + n) for n in range(args.agents)]
    with tempfile.TemporaryDirectory(prefix="bench-phone-") as scratch:
        tmp = Path(scratch)
        settings = isolated_settings(tmp, flow=STRAIGHT, lab={"login_agents": False, "agents": tuple(extensions),
                                                              "agent_answer_delay": 1.0})
        lab = Lab(settings, allow_provision=False)
        chromium_args = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                         f"--use-file-for-fake-audio-capture={voice(tmp)}",
                         "--autoplay-policy=no-user-gesture-required", "--ignore-certificate-errors")
        try:
            await lab.start()
            # the callers play a steady tone, not the phrase with its pauses (no frame, no
            # RTP): "first audio packet" then times the media path, not the phrase's gaps
            await set_global(lab, "LAB_CALLER_VOICE", "")
            await seat_agents(lab, extensions)
            async with launched_chromium(chromium_args) as chromium:
                started = time.perf_counter()
                pages = {e: await open_desk(chromium, lab, e) for e in extensions}
                print(f"{len(pages)} browser agents registered in {time.perf_counter() - started:.1f} s", flush=True)
                ringing, steps = await latency_rounds(lab, pages, args.rounds)
                print(summary("queue offer (AgentCalled read) -> browser ringing", ringing))
                for step, name in STEPS.items():
                    print(summary(f"answer click -> {name}", steps[step]))
                await all_ready(lab, extensions)
                webrtc = await hold_calls(lab, pages, len(pages), args.hold)
                for page in pages.values():
                    await page.context.close()
            await asyncio.sleep(3)
            baseline = await idle(lab, args.hold)
            await all_ready(lab, extensions)
            local = await hold_calls(lab, None, len(extensions), args.hold)
        finally:
            await lab.stop()
    minutes = len(extensions) * args.hold / 60
    print(f"Asterisk CPU, {len(extensions)} calls held {args.hold:g} s each ({minutes:g} call-minutes); "
          f"idle {baseline:.2f} CPU-s over {args.hold:g} s")
    for name, spent in (("WebRTC (browser agents)", webrtc), ("Local channel (lab agents)", local)):
        per_minute = (spent - baseline) / minutes
        print(f"  {name}: {spent:.2f} CPU-s, {per_minute:.3f} CPU-s per call-minute over idle "
              f"({per_minute / 60 * 100:.2f} % of one core per call)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hold", type=float, default=30.0)
    asyncio.run(main(parser.parse_args()))
