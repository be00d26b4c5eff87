"""Screen pops across two Asterisk boxes (issue 20; docs/deploy.md, "Two Asterisk boxes").

Starts a two-box lab (box-1 the queue box, box-2 an edge; real Asterisk twice, the server on
both AMIs), as many agents as calls, half with their phone on each box (odd extensions on
box-2), each with a websocket of their own in a separate process; then places the calls,
half entering each box. Every pop is put in the group of its call: the box the caller entered
and the box the agent's phone is on. For each group it prints:

- ``AgentCalled -> pop``: from the server reading box-1's AgentCalled to the agent's websocket
  receiving the pop (the one-box figure of bench/screenpop.py);
- ``phone rings -> pop``: from the agent's phone starting to ring on its own box (its lab
  agent channel's Newchannel, read on that box's AMI) to the pop; negative when the pop is
  there first. Crossing to box-2 adds the trunk's INVITE before the phone rings.

``--boxes 1`` runs the same on one box, for comparison.

``--ladder 100,200,300`` measures the most calls carried with every target held: one fresh lab
per step (each step's calls all up at once, spread over ``--arrival-seconds``), on one box
and then on two (``--boxes`` then names the one to run alone, 0: both). A step is carried
when every call rang an agent's phone within 90 s and every agent's websocket got its pop;
it holds every target when, moreover, the pop's p99 (AgentCalled -> pop at the websocket,
every group together) is under 50 ms (bench/screenpop.py's target). The ladder goes on while
the steps are carried, and prints each step and, per layout, the most calls carried and the
most with every target held.

    python bench/boxes.py [--calls 200] [--boxes 2] [--arrival-seconds 5] [--customers 10000]
    python bench/boxes.py --ladder 100,200,300 [--boxes 0]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ctiserver.users.store  # noqa: E402
from ctiserver.lab.caller import eventually, place_call, set_global  # noqa: E402
from ctiserver.lab.isolated import free_port, isolated_settings  # noqa: E402
from ctiserver.lab.runner import Lab  # noqa: E402
from ctiserver.lab.simulate import LabCall, originate_action  # noqa: E402
from ctiserver.settings import EdgeBoxSettings, Settings  # noqa: E402
from ctiserver.telephony.ami.link import AmiLink  # noqa: E402
from screenpop import STRAIGHT, figures, fill, seats_process  # noqa: E402

FIRST_EXTENSION = 5000


class CheapPasswordHasher(PasswordHasher):
    """argon2id at its cheapest for the bench's 200 agents, as the tests do (tests/conftest.py):
    the server's defaults cost over a second a hash on a loaded 2-CPU machine, at each agent's
    creation and again at their login (which upgrades a weaker hash)."""

    def __init__(self, **overrides: Any) -> None:
        super().__init__(**{"time_cost": 1, "memory_cost": 8, "parallelism": 1, **overrides})


ctiserver.users.store.PasswordHasher = CheapPasswordHasher  # type: ignore[misc]


def settings_in(tmp: Path, calls: int, boxes: int) -> Settings:
    settings = isolated_settings(tmp, flow=STRAIGHT, lab={"login_agents": False})
    if boxes < 2:
        return settings
    on_box_2 = tuple(str(FIRST_EXTENSION + n) for n in range(calls) if n % 2)
    edge = EdgeBoxSettings(name="box-2", ami_port=free_port(), sip_port=free_port(), agents=on_box_2)
    return settings.replace(boxes={"edges": (edge,)})


def ringing_follower(rings: dict[str, float], extensions: set[str]) -> Any:
    """Records when the lab phone of each of ``extensions`` (the agents on this box) starts
    ringing: extension -> time."""

    def follow(message: Any) -> None:
        if message.get("Event") != "Newchannel" or not message.get("Channel", "").startswith("Local/"):
            return
        channel = message["Channel"]
        extension = channel[len("Local/"):].split("@", 1)[0]
        if extension in extensions and "@lab-agents-" in channel and channel.endswith(";2"):
            # the ;2 half runs [lab-agents] on the box where the agent's phone is: the phone rings
            rings.setdefault(extension, getattr(message, "received_at", time.time()))

    return follow


#: the pop's p99 a step must keep (bench/screenpop.py's target)
POP_P99_TARGET = 0.050


def p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] if ordered else float("inf")


async def bench(calls: int, boxes: int, arrival: float, customers: int) -> dict[str, Any]:
    """One run; what it found (``held``: every target held)."""
    with tempfile.TemporaryDirectory(prefix="ctiserver-bench-boxes-") as tmp:
        settings = settings_in(Path(tmp), calls, boxes)
        lab = Lab(settings, allow_provision=False)
        await lab.start()
        watchers: list[AmiLink] = []
        browsers = None
        try:
            assert lab.server is not None
            seat_list = await fill(lab, customers, calls)
            extensions = {extension for extension, _ in seat_list}
            on_box_2 = {ext for ext in extensions if settings.boxes.edge_of(ext) is not None}
            rings: dict[str, float] = {}
            # what each box's phones do, on AMI sessions of the bench's own (all events)
            # (box-1 has a Local leg for box-2's agents too, which goes on to the trunk: not a ring)
            phones_on = [(settings.ami, extensions - on_box_2),
                         *((settings.edge_ami(edge), on_box_2) for edge in settings.boxes.edges)]
            for ami, here in phones_on:
                link = AmiLink(ami)
                link.on_event(ringing_follower(rings, here))
                await link.start()
                await link.wait_ready(20)
                watchers.append(link)
            base = f"http://127.0.0.1:{lab.server.web_port}"
            ours, theirs = multiprocessing.get_context("spawn").Pipe()
            browsers = multiprocessing.get_context("spawn").Process(
                target=seats_process, args=(base, seat_list, theirs, None), daemon=True
            )
            browsers.start()
            await asyncio.get_running_loop().run_in_executor(None, ours.recv)
            await set_global(lab, "LAB_ANSWER_DELAY", "3")
            for edge in lab.edges:
                await edge.phones.send_action({"Action": "Setvar", "Variable": "LAB_ANSWER_DELAY", "Value": "3"})
            await place_call(lab, LabCall("13900000000", hangup_after=1))  # warms the call path up
            await asyncio.sleep(6)
            rings.clear()
            agent_called: dict[str, tuple[str, float]] = {}

            def on_event(message: Any) -> None:
                if message.get("Event") == "AgentCalled":
                    extension = (message.get("Interface") or "").split("/", 1)[-1].split("@", 1)[0]
                    agent_called.setdefault(extension, (message.get("Linkedid", ""),
                                                        getattr(message, "received_at", time.time())))

            lab.server.ami.on_event(on_event)
            entered_box_1: set[str] = set()
            print(f"placing {calls} calls over {arrival:g} s, "
                  f"{'half entering each box' if lab.edges else 'all on one box'}", flush=True)
            started = time.perf_counter()

            async def one(n: int) -> None:
                await asyncio.sleep(arrival * n / calls)
                call = LabCall(f"139{n:08d}", f"客户{n}", hangup_after=arrival + 15)
                if lab.edges and n % 2:
                    edge = lab.edges[0]
                    await edge.phones.send_action(originate_action(edge.settings, call))
                else:
                    entered_box_1.add(await place_call(lab, call))

            await asyncio.gather(*(one(n) for n in range(calls)))

            async def all_rung() -> bool:
                return len(agent_called) >= calls and len(rings) >= calls

            try:
                await eventually(all_rung, 90, "every call to ring an agent's phone")
            except TimeoutError as exc:
                print(exc)
            await asyncio.sleep(3)
            elapsed = time.perf_counter() - started
            ours.send("stop")
            received: dict[str, dict[str, float]] = await asyncio.get_running_loop().run_in_executor(None, ours.recv)
            groups: dict[str, tuple[list[float], list[float]]] = {}
            for extension, (call_id, called_at) in agent_called.items():
                popped_at = received.get(extension, {}).get(call_id)
                if popped_at is None:
                    continue
                caller_box = "box-1" if call_id in entered_box_1 else "box-2"
                agent_box = "box-2" if extension in on_box_2 else "box-1"
                called, rung = groups.setdefault(f"caller on {caller_box}, agent on {agent_box}", ([], []))
                called.append(popped_at - called_at)
                if extension in rings:
                    rung.append(popped_at - rings[extension])
            print(f"{len(agent_called)} AgentCalled, {len(rings)} phones rung, "
                  f"{sum(len(c) for c, _ in groups.values())} pops timed in {elapsed:.1f} s")
            for name in sorted(groups):
                called, rung = groups[name]
                print(f"{name} ({len(called)} pops):")
                print(f"  AgentCalled -> pop:  {figures(called)}")
                if rung:
                    print(f"  phone rings -> pop:  {figures(rung)}")
            every = [seconds for called, _ in groups.values() for seconds in called]
            found = {"calls": calls, "rung": min(len(agent_called), len(rings)), "pops": len(every),
                     "p99": p99(every), "load": os.getloadavg()[0]}
            found["carried"] = found["rung"] >= calls and found["pops"] >= calls
            found["held"] = found["carried"] and found["p99"] < POP_P99_TARGET
            return found
        finally:
            if browsers is not None:
                browsers.join(timeout=10)
            for link in watchers:
                await link.stop()
            await lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--boxes", type=int, choices=(0, 1, 2), default=2, help="1 or 2; with --ladder 0: both")
    parser.add_argument("--arrival-seconds", type=float, default=5.0)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--ladder", default="", help="steps of calls, e.g. 100,200,300: the most carried")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    if not args.ladder:
        asyncio.run(bench(args.calls, args.boxes, args.arrival_seconds, args.customers))
        return
    steps = [int(step) for step in args.ladder.split(",")]
    layouts = (1, 2) if args.boxes == 0 else (args.boxes,)
    results: dict[int, list[dict[str, Any]]] = {}
    for boxes in layouts:
        for calls in steps:
            print(f"\n== {boxes} box(es), {calls} calls ==", flush=True)
            found = asyncio.run(bench(calls, boxes, args.arrival_seconds, args.customers))
            results.setdefault(boxes, []).append(found)
            if not found["carried"]:
                break  # the next steps would not be carried either
    print("\ncarried: every call rang an agent's phone and popped; held: and the pop's p99 < 50 ms")
    for boxes, found in results.items():
        for step in found:
            verdict = "held" if step["held"] else "carried" if step["carried"] else "NOT carried"
            print(f"  {boxes} box(es) {step['calls']:4d} calls: rung {step['rung']}, popped {step['pops']}, "
                  f"pop p99 {step['p99'] * 1000:.1f} ms, load {step['load']:.1f}: {verdict}")
        held = [step["calls"] for step in found if step["held"]]
        carried = [step["calls"] for step in found if step["carried"]]
        print(f"  {boxes} box(es): the most carried {max(carried) if carried else 0}, the most with every "
              f"target held {max(held) if held else 0} (steps tried: {', '.join(str(s['calls']) for s in found)})")


if __name__ == "__main__":
    main()
