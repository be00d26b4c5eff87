"""Several nodes (issue 19): figures, nothing asserted.

    python bench/nodes.py [--calls 60] [--kills 3] [--no-lab] [--fixture PATH] [--capacity 20,40,80]

1. The AMI event pipeline every node runs (framing, translation, the call model) against a
   minimal split-and-dict parse of the same recorded stream (best of 9, CPU time).
2. A two-node lab (real Asterisk, a throw-away PostgreSQL, the lab's node in this process
   and a second node in its own): ``--calls`` calls placed two a second through a short
   IVR into the queue, the three lab agents of ``support`` answering and talking two
   seconds, their desks' websockets on both nodes; every few seconds the second node,
   holding the leases, is killed (``kill -9``) and started again, ``--kills`` times.
   Printed: pop latency by node (from Asterisk's AgentCalled, as this process reads it on
   an AMI session of its own, to the pop on the desk's websocket), the time to take over
   the leases and to get a desk's websocket back (on the other node) after each kill,
   calls lost (placed but never queued, or hung up before their agent), and FastAGI
   non-media command round trips on this process's node.

3. ``--capacity N1,N2,...``: instead of 2, labs of each size in turn (no kill) until one
   misses a target (pop p99 50 ms on each node, across nodes within 20 ms, FastAGI
   non-media p99 5 ms, no call lost); printed: the most calls with every target held.

The lab's node shares this process's event loop with the measuring clients: its figures
carry that load too; the second node's do not.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402
from ami_events import FIXTURE_NAME, run_ours  # noqa: E402

from ctiserver.lab.caller import eventually, place_call, set_global  # noqa: E402
from ctiserver.lab.isolated import isolated_settings  # noqa: E402
from ctiserver.lab.postgres import throwaway_postgres  # noqa: E402
from ctiserver.lab.runner import Lab  # noqa: E402
from ctiserver.lab.simulate import LabCall  # noqa: E402
from ctiserver.telephony.ami.link import AmiLink  # noqa: E402

FLOW = """\
flow: bench
entry: "4008001234"
language: zh
start: ticket
nodes:
  ticket: {kind: ticket, type: inquiry, summary: "咨询", next: hold}
  hold: {kind: menu, prompt: "请稍候", options: {"9": agents}, timeout: 2, retries: 1, on_fail: agents}
  agents: {kind: queue, queue: support}
"""
DESKS = {"1001": 0, "1002": 1, "1004": 1}  # agent -> the node their desk is on (0: this process's)
MEDIA = ("STREAM FILE", "RECORD FILE", "WAIT FOR", "GET DATA", "EXEC Playback")


def p(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f} ms"


def minimal_parse(chunks: list[bytes]) -> int:
    """What the issue calls a minimal parse: split on blank lines, each line on ': '."""
    buffer, count = b"", 0
    for chunk in chunks:
        buffer += chunk
        *messages, buffer = buffer.split(b"\r\n\r\n")
        for raw in messages:
            message = {}
            for line in raw.decode("utf-8", "replace").split("\r\n"):
                key, _, value = line.partition(": ")
                message[key] = value
            count += 1
    return count


def pipeline(fixture: Path) -> None:
    raw = gzip.decompress(fixture.read_bytes())
    chunks = [raw[i:i + 4096] for i in range(0, len(raw), 4096)]
    best: dict[str, float] = {}
    for _ in range(9):
        for name, run in (("minimal", minimal_parse), ("ours", run_ours)):
            started = time.process_time()
            count = run(chunks)
            best[name] = min(best.get(name, float("inf")), time.process_time() - started)
    print(f"event pipeline ({count:,} messages): minimal parse {best['minimal'] * 1000:.0f} ms, "
          f"framing + translation + call model {best['ours'] * 1000:.0f} ms: "
          f"{best['minimal'] / best['ours']:.2f}x the minimal parse's speed (target >= 0.5x)")


class Watch:
    """Asterisk's events on a session of our own: when each agent was called, who queued."""

    def __init__(self, lab: Lab) -> None:
        self.link = AmiLink(lab.settings.ami)
        self.called: dict[tuple[str, str], float] = {}
        self.joined: set[str] = set()
        self.link.on_event(self._on_event)

    async def _on_event(self, message: dict[str, str]) -> None:
        event = message.get("Event")
        if event == "AgentCalled":
            agent = message.get("Interface", "").split("/")[1].split("@")[0] if "/" in message.get("Interface", "") \
                else ""
            self.called.setdefault((agent, message.get("Linkedid", "")), time.time())
        elif event == "QueueCallerJoin":
            self.joined.add(message.get("Uniqueid", ""))


async def desk(base: str, extension: str, password: str, pops: list[tuple[str, str, float]],
               hello: asyncio.Event) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await http.post(f"{base}/login", json={"username": f"agent{extension}", "password": password})
        async with http.ws_connect(f"{base}/ws") as ws:
            async for message in ws:
                body = json.loads(message.data)
                if body.get("type") == "hello":
                    hello.set()
                elif body.get("type") == "pop" and body.get("event") == "ringing":
                    pops.append((extension, body["pop"]["call_id"], time.time()))


async def two_nodes(calls: int, kills: int) -> dict[str, float]:
    async with throwaway_postgres() as url:
        with tempfile.TemporaryDirectory(prefix="ctiserver-bench-nodes-") as tmp:
            settings = isolated_settings(
                Path(tmp), flow=FLOW, database={"url": url},
                nodes={"lease_interval": 1.0, "heartbeat": 1.0}, lab={"agent_answer_delay": 0.5, "agent_talk_time": 2},
            )
            lab = Lab(settings, allow_provision=False, nodes=2)
            await lab.start()
            try:
                return await measure(lab, calls, kills)
            finally:
                await lab.stop()


async def measure(lab: Lab, calls: int, kills: int) -> dict[str, float]:
    assert lab.server is not None
    one, two = lab.server, lab.other_nodes[0]
    bases = [f"http://127.0.0.1:{one.web_port}", two.web_url]
    rounds: list[tuple[str, float]] = []
    one.agi.observer = lambda words, seconds: rounds.append((" ".join(words[:2]), seconds))
    watch = Watch(lab)
    await watch.link.start()
    await watch.link.wait_ready(20)
    await set_global(lab, "LAB_TALK_TIME", "2")
    pops: list[tuple[str, str, float]] = []
    tasks: dict[str, asyncio.Task[None]] = {}
    hellos: dict[str, asyncio.Event] = {}
    password = lab.settings.lab.demo_password

    def open_desk(extension: str, node: int) -> None:
        hellos[extension] = asyncio.Event()
        tasks[extension] = asyncio.create_task(desk(bases[node], extension, password, pops, hellos[extension]))

    for extension, node in DESKS.items():
        open_desk(extension, node)
    await one.core.leases.stop()  # the second node takes the leases (within lease_interval): it is the one killed
    await asyncio.sleep(3)
    await one.core.leases.start()
    placed: list[str] = []
    takeovers: list[float] = []
    reconnects: list[float] = []

    async def place_all() -> None:
        for n in range(calls):
            placed.append(await place_call(lab, LabCall(f"1390001{n:04d}")))
            await asyncio.sleep(0.5)

    placing = asyncio.create_task(place_all())
    for _ in range(kills):
        await asyncio.sleep(8)
        wanted = set(one.core.leases.wanted())
        await two.kill()
        killed = time.monotonic()
        on_two = [ext for ext, node in DESKS.items() if node == 1]
        for extension in on_two:  # their sockets dropped: they reconnect to the other node
            tasks[extension].cancel()
            open_desk(extension, 0)

        async def taken(wanted: set[str] = wanted) -> bool:
            return wanted <= set(one.core.leases.held())

        await eventually(taken, 30, "the leases taken over")
        takeovers.append(time.monotonic() - killed)
        for extension in on_two:
            await asyncio.wait_for(hellos[extension].wait(), 30)
            reconnects.append(time.monotonic() - killed)
        await two.start()
        for extension in on_two:  # back to their node
            tasks[extension].cancel()
            open_desk(extension, 1)
        await one.core.leases.stop()  # hand the leases to the second node again
        await asyncio.sleep(2)
        await one.core.leases.start()
    await placing
    await asyncio.sleep(10)
    for task in tasks.values():
        task.cancel()
    await watch.link.stop()
    by_node: dict[int, list[float]] = defaultdict(list)
    for extension, call, at in pops:
        called = watch.called.get((extension, call))
        if called is not None:
            by_node[DESKS[extension]].append(at - called)
    lost = [call for call in placed if call not in watch.joined]
    agi = [s for command, s in rounds if not command.startswith(MEDIA)]
    print(f"two nodes, {len(placed)} calls, {kills} kill -9 of the node holding the leases:")
    for node, latencies in sorted(by_node.items()):
        print(f"  pop latency, desks on node {node + 1}: n={len(latencies)} p50 {p(latencies, 0.5)} "
              f"p99 {p(latencies, 0.99)}")
    print(f"  leases taken over after kill -9: p50 {p(takeovers, 0.5)} max {p(takeovers, 1.0)} (lease_interval 1 s)")
    print(f"  desks' websockets back (other node) after kill -9: p50 {p(reconnects, 0.5)} max {p(reconnects, 1.0)}")
    print(f"  calls lost (never queued): {len(lost)} of {len(placed)}")
    print(f"  FastAGI non-media commands on node 1: n={len(agi)} p50 {p(agi, 0.5)} p99 {p(agi, 0.99)} "
          f"(most frequent: {', '.join(c for c, _ in Counter(c for c, _ in rounds).most_common(3))})")
    print(f"  median pop latency across nodes: {statistics.median(by_node.get(1, [0])) * 1000:.1f} ms on node 2, "
          f"{statistics.median(by_node.get(0, [0])) * 1000:.1f} ms on node 1")
    return {
        "pop_p99_node1": _q(by_node.get(0, []), 0.99), "pop_p99_node2": _q(by_node.get(1, []), 0.99),
        "agi_p99": _q(agi, 0.99), "lost": float(len(lost)), "pops": float(sum(map(len, by_node.values()))),
    }


def _q(values: list[float], q: float) -> float:
    """The q-quantile in seconds (inf when nothing was measured: no target can be said held)."""
    if not values:
        return float("inf")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


#: the issue's targets: pop p99 (bench/screenpop.py's 50 ms) on each node, across nodes within
#: 20 ms of the same node, FastAGI non-media p99 5 ms, no call lost
POP_P99, ACROSS, AGI_P99 = 0.050, 0.020, 0.005


def held(figures: dict[str, float]) -> list[str]:
    """The targets missed (empty: all held)."""
    missed = []
    one, two = figures["pop_p99_node1"], figures["pop_p99_node2"]
    if max(one, two) > POP_P99:
        missed.append(f"pop p99 {max(one, two) * 1000:.0f} ms > {POP_P99 * 1000:.0f} ms")
    if abs(two - one) > ACROSS:
        missed.append(f"across nodes {abs(two - one) * 1000:.0f} ms apart > {ACROSS * 1000:.0f} ms")
    if figures["agi_p99"] > AGI_P99:
        missed.append(f"FastAGI p99 {figures['agi_p99'] * 1000:.1f} ms > {AGI_P99 * 1000:.0f} ms")
    if figures["lost"]:
        missed.append(f"{figures['lost']:.0f} calls lost")
    return missed


async def capacity(steps: list[int]) -> None:
    """Two-node labs of growing size, no kill, until a target is missed."""
    most = 0
    for calls in steps:
        figures = await two_nodes(calls, 0)
        missed = held(figures)
        print(f"{calls} calls: " + ("every target held" if not missed else "missed: " + "; ".join(missed)))
        if missed:
            break
        most = calls
    print(f"most calls carried with every target held: {most or 'none of ' + str(steps)} "
          f"(two nodes, one box, this machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at the end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--no-lab", action="store_true", help="only the event pipeline")
    parser.add_argument("--capacity", help="comma-separated call counts: labs of each size (no kill) "
                        "until a target is missed; the most calls with every target held")
    parser.add_argument("--fixture", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    candidates = [args.fixture] if args.fixture else [ROOT.parent / "shared" / "fixtures" / FIXTURE_NAME,
                                                      Path("/work/shared/fixtures") / FIXTURE_NAME]
    fixture = next((c for c in candidates if c is not None and c.exists()), None)
    if fixture is None:
        print(f"{FIXTURE_NAME} not found: the event pipeline is not measured (--fixture)")
    else:
        pipeline(fixture)
    if args.capacity:
        asyncio.run(capacity([int(n) for n in args.capacity.split(",")]))
    elif not args.no_lab:
        asyncio.run(two_nodes(args.calls, args.kills))


if __name__ == "__main__":
    main()
