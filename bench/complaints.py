"""A complaint call's response cycle, from days to seconds: on the real lab Asterisk, N complaint
calls through the sample hotline's IVR (Local-channel callers pressing real DTMF: 1 for
Mandarin, 2 for a complaint), each timed from the moment the caller's complaint key is sent
to the moment the dispatched complaint ticket arrives on the complaint department's work
view websocket (``/ws?watch=tickets``, logged in as a complaint department staff member).
Prints the median and p99 (target: p99 under 1 s).

``--import-rows N``: meanwhile an admin uploads an N-row customer file to the same server
(issue 18: on SQLite an import starved the ticket writers; it now takes turns with them).

    python bench/complaints.py [--calls 50] [--at-once 10] [--import-rows 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctiserver.lab.caller import IvrCaller, eventually  # noqa: E402
from ctiserver.lab.isolated import isolated_settings  # noqa: E402
from ctiserver.lab.runner import Lab  # noqa: E402
from ctiserver.settings import Settings  # noqa: E402
from tests.staff import add_staff  # noqa: E402

OPEN = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
PASSWORD = "complaints bench"


def settings_in(tmp: Path) -> Settings:
    return isolated_settings(tmp, flow=(ROOT / "ivr_flows" / "hotline.yaml").read_text("utf-8"),
                             lab={"login_agents": False})


class WorkView:
    """The complaint department's work view socket: when each call's ticket arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        #: call id -> (epoch seconds the ticket was written, epoch seconds it arrived)
        self.written: dict[str, tuple[float, float]] = {}
        self.changed = asyncio.Event()

    async def follow(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            data: dict[str, Any] = message.json()
            ticket = data.get("ticket") if data.get("type") == "ticket" else None
            if ticket and ticket["type"] == "complaint" and ticket["status"] == "dispatched":
                self.arrived.setdefault(ticket["call_linkedid"], time.perf_counter())
                created = datetime.fromisoformat(ticket["created_at"]).timestamp()
                self.written.setdefault(ticket["call_linkedid"], (created, time.time()))


Result = tuple[str, float | None, str | None, float | None]


async def complain(lab: Lab, number: str, view: WorkView) -> Result:
    """One caller: (call id, seconds from the key to the view, what went wrong, seconds from the
    key to the ticket written)."""
    caller = await IvrCaller.dial(lab, number)
    try:
        await caller.press("1")  # 中文
        live = await caller.live()
        seen = live.inputs_requested

        async def listening() -> bool:
            return live.awaiting_input and live.inputs_requested > seen

        await eventually(listening, 30, "the main menu")
        await asyncio.sleep(0.2)
        sent, sent_at = time.perf_counter(), time.time()
        await lab.phones.send_action({"Action": "PlayDTMF", "Channel": caller.caller_channel(),
                                      "Digit": "2", "Duration": "120"})

        async def arrived() -> float | None:
            return view.arrived.get(caller.call_id)

        got = await eventually(arrived, 20, "the ticket on the work view")
        return caller.call_id, got - sent, None, view.written[caller.call_id][0] - sent_at
    except (TimeoutError, LookupError) as exc:
        return caller.call_id, None, str(exc), None
    finally:
        try:
            await caller.hang_up()
        except LookupError:
            pass


def customer_file(rows: int) -> bytes:
    lines = ["姓名,电话,省,市,详细地址,型号,序列号"]
    lines += [f"导入客户{n},137{n:08d},广东省,深圳市,科技园{n}号,KFR-35GW/BP3DN8Y,IMP{n:07d}" for n in range(rows)]
    return ("\n".join(lines) + "\n").encode("gb18030")


async def upload(lab: Lab, base: str, rows: int) -> str:
    """An admin's upload of ``rows`` customers: what the server answered, and how long it took."""
    started = time.perf_counter()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as admin:
        login = await admin.post(f"{base}/login", headers={"Origin": base},
                                 json={"username": "admin", "password": lab.settings.lab.demo_password})
        assert login.status == 200, await login.text()
        async with admin.post(f"{base}/api/import/customers", data=customer_file(rows),
                              headers={"Content-Type": "text/csv", "Origin": base},
                              timeout=aiohttp.ClientTimeout(total=3600)) as response:
            answer = await response.json()
    took = time.perf_counter() - started
    if response.status != 200:
        return f"import: HTTP {response.status} {answer}"
    return (f"import of {rows} rows: {answer['accepted']} accepted, {answer['rejected']} rejected in {took:.1f} s"
            f" ({rows / took:.0f} rows/s, parsing included)")


async def bench(calls: int, at_once: int, import_rows: int = 0) -> None:
    with tempfile.TemporaryDirectory(prefix="ctiserver-bench-") as tmp:
        lab = Lab(settings_in(Path(tmp)), allow_provision=False)
        await lab.start()
        try:
            assert lab.server is not None
            lab.server.ivr.engine.clock = lambda: OPEN
            await add_staff(lab.server.db, "complaints-desk", PASSWORD, "complaint", None, "投诉处理组")
            base = f"http://127.0.0.1:{lab.server.web_port}"
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                login = await http.post(f"{base}/login", json={"username": "complaints-desk", "password": PASSWORD})
                assert login.status == 200, await login.text()
                ws = await http.ws_connect(base.replace("http", "ws") + "/ws?watch=tickets")
                view = WorkView()
                follower = asyncio.create_task(view.follow(ws))
                warm = await complain(lab, "13200000000", view)  # synthesises the prompts once
                if warm[2] is not None:
                    print(f"warm-up call failed: {warm[2]}")
                importing = asyncio.create_task(upload(lab, base, import_rows)) if import_rows else None
                if importing is not None:
                    await asyncio.sleep(5)  # the file is parsed first; the calls meet its writes
                results = []
                started = time.perf_counter()
                for first in range(1, calls + 1, at_once):
                    numbers = [f"1320000{n:04d}" for n in range(first, min(calls, first + at_once - 1) + 1)]
                    results += await asyncio.gather(*(complain(lab, number, view) for number in numbers))
                elapsed = time.perf_counter() - started
                if importing is not None:
                    print(f"the import was {'still' if not importing.done() else 'no longer'} running"
                          " after the last call")
                    print(await importing)
                follower.cancel()
                await ws.close()

            async def all_ended() -> bool:
                return not lab.server.calls.active_calls()

            await eventually(all_ended, 60, "every call to end")
        finally:
            await lab.stop()
    report(calls, at_once, elapsed, results, view)


def report(calls: int, at_once: int, elapsed: float, results: list[Result], view: WorkView) -> None:
    failed = [(call_id, why) for call_id, _, why, _ in results if why is not None]
    times = sorted(t for _, t, _, _ in results if t is not None)
    ivr = sorted(w for _, _, _, w in results if w is not None)
    pushed = sorted(view.written[call_id][1] - view.written[call_id][0] for call_id, t, _, _ in results if t is not None)
    print(f"{calls} complaint calls, {at_once} at a time, in {elapsed:.1f} s; {len(failed)} failed")
    for call_id, why in failed:
        print(f"  failed {call_id}: {why}")
    if times:
        p99 = percentile(times)
        print(f"complaint key -> ticket on the department's work view: median {statistics.median(times) * 1000:.0f} ms,"
              f" p99 {p99 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms (target p99 < 1000 ms)")
        for label, part in (("  key -> ticket written (IVR)", ivr), ("  written -> on the view (feed)", pushed)):
            print(f"{label}: median {statistics.median(part) * 1000:.0f} ms, p99 {percentile(part) * 1000:.0f} ms")


def percentile(ordered: list[float], fraction: float = 0.99) -> float:
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--at-once", type=int, default=10)
    parser.add_argument("--import-rows", type=int, default=0, help="customers uploaded meanwhile")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(bench(args.calls, args.at_once, args.import_rows))


if __name__ == "__main__":
    main()
