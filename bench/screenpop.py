"""Screen pop latency: Asterisk's AgentCalled -> the pop at the agent's websocket.

Starts a lab (real Asterisk, the server), fills the database with N customers
(100,000 by default) and as many agents as calls, logs every agent in with a
websocket of their own, then places the calls at once. For each ringing pop it
measures the time from the moment the server read Asterisk's AgentCalled event
off the AMI socket to the moment the agent's websocket client received the pop,
and prints median, p99 and max. Target: p99 under 50 ms.

Two ways in: by default each caller first hears a short IVR greeting, as on the
hotline, and the server prepares the pop (customer cards) meanwhile; with
``--straight`` callers go straight to idle agents, where the customer lookups
happen in the same instant as the rings.

The calls arrive spread over ``--arrival-seconds`` (default 5) and all stay up,
so that all of them are up at once (the peak of simultaneous calls is printed);
``--arrival-seconds 0`` places them in one burst, so that every ring of the
200 calls falls within the same fraction of a second: the worst case.

    python bench/screenpop.py [--calls 200] [--customers 100000] [--straight] [--arrival-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import multiprocessing.process
import os
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctiserver.agents.model import AgentState, StateInterval
from ctiserver.agents.tables import AgentRow
from ctiserver.customers.tables import Customer, CustomerPhone
from ctiserver.lab.caller import eventually, place_call, set_global
from ctiserver.lab.isolated import isolated_settings
from ctiserver.lab.runner import LAB_AGENT_INTERFACE, Lab
from ctiserver.lab.simulate import LabCall
from ctiserver.settings import Settings
from ctiserver.stats.model import CallAnswered, CallOffered, Record
from ctiserver.users.store import UserRepository

STRAIGHT = """\
flow: bench
entry: "4008001234"
language: zh
start: support
nodes:
  support: {kind: queue, queue: support}
"""
GREETING = """\
flow: bench
entry: "4008001234"
language: zh
start: greet
nodes:
  greet: {kind: play, prompt: "您好，欢迎致电售后服务热线。", next: support}
  support: {kind: queue, queue: support}
"""
PASSWORD = "bench"
#: watches the live view during the run, as a supervisor would (call updates, wallboard)
SUPERVISOR = "benchsupervisor"


def settings_in(tmp: Path, flow: str) -> Settings:
    return isolated_settings(tmp, flow=flow, lab={"login_agents": False})


async def fill(lab: Lab, customers: int, agents: int) -> list[tuple[str, str]]:
    """Customers with one phone each (the callers are among them); agents with users."""
    assert lab.server is not None
    db = lab.server.db
    started = time.perf_counter()
    async with db.session() as session:
        batch = 10_000
        for first in range(0, customers, batch):
            rows = [
                {"name": f"客户{n}", "level": "vip" if n % 10 == 0 else "normal", "province": "广东省", "city": "深圳市"}
                for n in range(first, min(first + batch, customers))
            ]
            ids = (await session.execute(insert(Customer).returning(Customer.id), rows)).scalars().all()
            await session.execute(insert(CustomerPhone), [
                {"customer_id": cid, "number": f"139{n:08d}", "normalized": f"139{n:08d}", "label": "mobile"}
                for cid, n in zip(ids, range(first, first + len(ids)))
            ])
        await session.commit()
    print(f"{customers} customers in {time.perf_counter() - started:.1f} s")
    users = UserRepository(db)
    seats = []
    for n in range(agents):
        extension = f"{5000 + n}"
        username = f"bench{extension}"
        user = await users.add(username, PASSWORD, "agent")
        async with db.session() as session:
            await session.execute(insert(AgentRow), [{"extension": extension, "name": f"坐席{n}", "user_id": user.id,
                                                   "skills": "support"}])
            await session.commit()
        seats.append((extension, username))
    await users.add(SUPERVISOR, PASSWORD, "supervisor")
    await lab.server.seat_agents()
    return seats


class Seat:
    """One agent: logged in to the web, a websocket open, timing its pops (in the seats' process)."""

    def __init__(self, base: str, extension: str, username: str) -> None:
        self.base = base
        self.extension = extension
        self.username = username
        self.received: dict[str, float] = {}
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        response = await self.session.post(f"{self.base}/login", json={"username": self.username, "password": PASSWORD})
        assert response.status == 200, await response.text()
        if self.username != SUPERVISOR:
            response = await self.session.post(f"{self.base}/api/agent/login", json={"queues": ["support"]})
            assert response.status == 200, await response.text()
        ws = await self.session.ws_connect(self.base.replace("http", "ws") + "/ws")
        self.task = asyncio.create_task(self._listen(ws))

    async def _listen(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            data: dict[str, Any] = message.json()
            if data.get("type") == "pop" and data.get("event") == "ringing":
                self.received.setdefault(data["pop"]["call_id"], time.time())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.session.close()


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` (and those it starts later) on ``cpus``."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), cpus)


def seats_process(base: str, seat_list: list[tuple[str, str]], pipe: Connection, cpus: set[int] | None) -> None:
    """The agents' browsers, in a process of their own so the server's load does not delay them."""
    if cpus is not None:
        pin(os.getpid(), cpus)

    async def run() -> None:
        seats = [Seat(base, extension, username) for extension, username in seat_list]
        seats.append(Seat(base, "", SUPERVISOR))
        for seat in seats:
            await seat.open()
        pipe.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        pipe.send({seat.extension: seat.received for seat in seats})
        for seat in seats:
            await seat.close()

    asyncio.run(run())


def busy_day(lab: Lab, calls: int, interfaces: list[str]) -> None:
    """Today's statistics log as after ``calls`` answered calls (the wallboard reads it every second)."""
    assert lab.server is not None
    now = time.time()
    start = lab.server.wallboard.day_start(now)
    step = max(now - start - 200, 1.0) / max(calls, 1)
    records: list[Record] = []
    for n in range(calls):
        at, agent = start + n * step, interfaces[n % len(interfaces)]
        call = f"history-{n}"
        records += [
            CallOffered(at, "support", call, call),
            CallAnswered(at + 8, "support", call, call, at, 8.0, agent),
            StateInterval(agent, AgentState.RINGING, at + 5, at + 8),
            StateInterval(agent, AgentState.ON_CALL, at + 8, at + 8 + step / 2),
        ]
    lab.server.stats.restore(records)
    print(f"today's statistics log: {len(records)} records ({calls} calls answered earlier today)")


async def bench(calls: int, customers: int, straight: bool, arrival: float, share_cpus: bool,
                history_calls: int) -> None:
    print("callers go straight to idle agents" if straight else "callers hear an IVR greeting first",
          f"and arrive over {arrival:g} s")
    with tempfile.TemporaryDirectory(prefix="ctiserver-bench-") as tmp:
        lab = Lab(settings_in(Path(tmp), STRAIGHT if straight else GREETING), allow_provision=False)
        await lab.start()
        asterisk_cpus = server_cpus = None
        if not share_cpus and len(os.sched_getaffinity(0)) >= 2:
            # Asterisk (with every simulated phone and agent) on a CPU of its own, as on its own
            # machine in production; the server and the agents' browsers on the others.
            cpus = sorted(os.sched_getaffinity(0))
            asterisk_cpus, server_cpus = {cpus[-1]}, set(cpus[:-1])
            assert lab.asterisk is not None and lab.asterisk.pid is not None
            pin(lab.asterisk.pid, asterisk_cpus)
            pin(os.getpid(), server_cpus)
            print(f"Asterisk pinned to CPU {sorted(asterisk_cpus)}, the server and the agents' websockets to "
                  f"CPU {sorted(server_cpus)}")
        else:
            print("Asterisk, the server and the agents' websockets share every CPU")
        browsers: multiprocessing.process.BaseProcess | None = None
        try:
            assert lab.server is not None
            seat_list = await fill(lab, customers, calls)
            busy_day(lab, history_calls, [LAB_AGENT_INTERFACE.format(extension=extension) for extension, _ in seat_list])
            base = f"http://127.0.0.1:{lab.server.web_port}"
            ours, theirs = multiprocessing.get_context("spawn").Pipe()
            browsers = multiprocessing.get_context("spawn").Process(
                target=seats_process, args=(base, seat_list, theirs, server_cpus), daemon=True
            )
            browsers.start()
            await asyncio.get_running_loop().run_in_executor(None, ours.recv)
            await set_global(lab, "LAB_ANSWER_DELAY", "3")
            await place_call(lab, LabCall("13900000000", hangup_after=1))  # warms the whole call path up
            await asyncio.sleep(6)
            agent_called: dict[tuple[str, str], float] = {}

            def on_event(message: Any) -> None:
                if message.get("Event") == "AgentCalled":
                    interface = message.get("Interface") or ""
                    key = (message.get("Linkedid") or message.get("Uniqueid") or "", interface)
                    agent_called.setdefault(key, getattr(message, "received_at", time.time()))

            lab.server.ami.on_event(on_event)
            pushed: dict[tuple[str, str], float] = {}

            def on_pushed(call_id: str, interface: str) -> None:
                pushed.setdefault((call_id, interface), time.time())

            lab.server.pops.on_pushed = on_pushed
            peak = [0]

            def count_up(_: Any) -> None:
                peak[0] = max(peak[0], len(lab.server.calls.active_calls()))

            lab.server.calls.subscribe(count_up)
            print("placing the calls", flush=True)
            started = time.perf_counter()

            async def one(n: int) -> str:
                await asyncio.sleep(arrival * n / calls)
                return await place_call(lab, LabCall(f"139{n:08d}", f"客户{n}", hangup_after=arrival + 15))

            ids = await asyncio.gather(*(one(n) for n in range(calls)))

            async def all_called() -> bool:
                return sum(1 for call_id, _ in agent_called if call_id in ids) >= calls

            try:
                await eventually(all_called, 60, "every call to ring an agent")
            except TimeoutError as exc:
                print(exc)
            await asyncio.sleep(3)
            elapsed = time.perf_counter() - started
            ours.send("stop")
            received: dict[str, dict[str, float]] = await asyncio.get_running_loop().run_in_executor(None, ours.recv)
            latencies, in_server = [], []
            for (call_id, interface), called_at in agent_called.items():
                extension = interface.split("/", 1)[1].split("@", 1)[0] if "/" in interface else ""
                popped_at = received.get(extension, {}).get(call_id)
                if call_id in ids and popped_at is not None:
                    latencies.append(popped_at - called_at)
                    if (call_id, interface) in pushed:
                        in_server.append(pushed[call_id, interface] - called_at)
            report(calls, customers, elapsed, len(set(ids)), latencies, agent_called)
            if in_server:
                print("of which in the server, AgentCalled -> pop handed to the websocket hub:",
                      figures(in_server))
            print(f"peak of simultaneous calls: {peak[0]}")
        finally:
            if browsers is not None:
                browsers.join(timeout=10)
            await lab.stop()


def report(calls: int, customers: int, elapsed: float, placed: int, latencies: list[float],
           agent_called: dict[tuple[str, str], float]) -> None:
    print(f"{placed} calls placed, {customers} customers in the database, "
          f"{len(agent_called)} AgentCalled, {len(latencies)} pops timed in {elapsed:.1f} s")
    if not latencies:
        print("no pop was timed")
        return
    print(f"AgentCalled -> pop at the websocket: {figures(latencies)} (target: p99 < 50 ms)")


def figures(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"median {statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--straight", action="store_true", help="no IVR before the queue")
    parser.add_argument("--arrival-seconds", type=float, default=5.0, help="spread of the calls' arrival")
    parser.add_argument("--share-cpus", action="store_true",
                        help="do not give Asterisk a CPU of its own (the server then competes with the lab's Asterisk)")
    parser.add_argument("--history-calls", type=int, default=5000,
                        help="calls already answered today, in the statistics log the wallboard reads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(bench(args.calls, args.customers, args.straight, args.arrival_seconds, args.share_cpus,
                      args.history_calls))


if __name__ == "__main__":
    main()
