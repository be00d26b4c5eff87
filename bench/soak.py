"""Months in minutes: the recorded AMI stream replayed as many simulated days through the
full server pipeline (call model, agents, statistics log, wallboard, screen pops, database
writers, a supervisor's websocket), printing resident memory after each day.

    python bench/soak.py [--days 30] [--fixture PATH]

Each day replays the 200 recorded queue calls (20,072 events) with the server's clock
advanced by 24 hours, and with the calls' ids made unique per day (the database keeps
every call). A supervisor logs in and watches the live feed for the day, then leaves.
Nothing is asserted: the figures are printed (see bench/README.md). Memory that is
bounded shows as a flat resident size after the first days.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctiserver.lab.isolated import isolated_settings  # noqa: E402
from ctiserver.resources import sample_flows_dir  # noqa: E402
from ctiserver.server import CtiServer  # noqa: E402
from ctiserver.telephony.ami.framing import FrameSplitter  # noqa: E402
from ctiserver.users.store import UserRepository  # noqa: E402

FIXTURE_NAME = "ami-200-queue-calls.raw.gz"
DEFAULT_FIXTURE = ROOT.parent / "shared" / "fixtures" / FIXTURE_NAME
#: 2026-11-02 09:00 Asia/Shanghai: the first simulated day's morning
DAY_ONE = 1_793_588_400.0
DAY = 86_400.0
#: simulated seconds between two recorded events (20,072 events: about 100 s of calls)
EVENT_SPACING = 0.005
ID_FIELDS = ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid")


class Received(dict[str, str]):
    """An AMI message as the link hands it over: the headers and when it arrived."""

    received_at: float


def load_messages(path: Path) -> list[dict[str, str]]:
    splitter = FrameSplitter()
    return [dict(message) for message in splitter.feed(gzip.decompress(path.read_bytes()))]


def day_of_messages(messages: list[dict[str, str]], day: int, start: float) -> list[Received]:
    """The recorded stream as it would arrive on ``day``: fresh call ids, times from ``start``."""
    out = []
    for n, headers in enumerate(messages):
        message = Received(headers)
        for field in ID_FIELDS:
            if field in message:
                message[field] = f"d{day}-{message[field]}"
        message.received_at = start + n * EVENT_SPACING
        out.append(message)
    return out


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class SimulatedClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def watch_live_feed(port: int, until: asyncio.Event) -> int:
    """A supervisor's browser for one day: log in, read the websocket until told to leave."""
    received = 0
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = await http.post(
            f"http://127.0.0.1:{port}/login", json={"username": "supervisor", "password": "soak"}
        )
        login.raise_for_status()
        async with http.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            while not until.is_set():
                try:
                    await asyncio.wait_for(ws.receive(), 0.2)
                    received += 1
                except TimeoutError:
                    continue
    return received


def sizes(server: CtiServer) -> dict[str, Any]:
    """What the server holds in memory that could grow with time."""
    return {
        "active calls": len(server.calls.active_calls()),
        "ended ids": len(server.calls._ended),
        "stats records": len(server.stats._records),
        "agents": len(server.board.all()),
        "websockets": len(server.web_app[_websockets_key()]),
    }


def _websockets_key() -> Any:
    from ctiserver.web.keys import WEBSOCKETS_KEY

    return WEBSOCKETS_KEY


async def soak(days: int, fixture: Path) -> None:
    messages = load_messages(fixture)
    print(f"{len(messages)} recorded AMI messages per day, {days} days")
    with tempfile.TemporaryDirectory(prefix="ctiserver-soak-") as tmp:
        flow = (sample_flows_dir() / "hotline.yaml").read_text(encoding="utf-8")
        settings = isolated_settings(Path(tmp), flow=flow)
        clock = SimulatedClock(DAY_ONE)
        server = CtiServer(settings, clock=clock)
        await server.start()
        await UserRepository(server.db).add("supervisor", "soak", "supervisor")
        try:
            print(f"{'day':>4} {'RSS MiB':>8} {'replay s':>8}  held in memory")
            for day in range(1, days + 1):
                start = DAY_ONE + (day - 1) * DAY
                clock.now = start
                leave = asyncio.Event()
                watcher = asyncio.create_task(watch_live_feed(server.web_port, leave))
                await asyncio.sleep(0.3)
                began = time.perf_counter()
                for n, message in enumerate(day_of_messages(messages, day, start)):
                    clock.now = message.received_at
                    server._on_ami_event(message)
                    if n % 500 == 0:
                        await asyncio.sleep(0)  # let writers and websockets run, as the link would
                clock.now += 60
                await asyncio.sleep(1.5)  # the writers drain, the wallboard pushes
                leave.set()
                await watcher
                elapsed = time.perf_counter() - began
                gc.collect()
                held = ", ".join(f"{k} {v}" for k, v in sizes(server).items())
                print(f"{day:>4} {rss_kib() / 1024:>8.1f} {elapsed:>8.1f}  {held}", flush=True)
        finally:
            await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE)
    args = parser.parse_args()
    if not args.fixture.exists():
        raise SystemExit(f"no recorded AMI stream at {args.fixture} (--fixture PATH)")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(soak(args.days, args.fixture))


if __name__ == "__main__":
    main()
