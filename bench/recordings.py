"""Call recording under load: N recorded calls at once on the lab's real Asterisk.

Starts a lab (the cached Asterisk, the server on a temporary SQLite database, callers going
straight to the support queue), N agents of its own (lab agents: Local channels that answer
and send a tone) logged in to the queue, then places N calls over ``--arrival-seconds``
(lab callers, sending a tone too), each hanging up ``--talk`` seconds after it was
answered by the hotline, so that all N calls are recorded (MixMonitor) at once.

It prints:

* the CPU seconds used by Asterisk (every thread, from /proc) and by the server's process
  (this one: the lab runs the server in it), from the first call placed to the last
  recording indexed, per recorded call-minute (the recordings' total duration);
* the disk bytes per recorded call-minute (the WAV files: 8 kHz 16-bit mono);
* the time from the agent's leg hanging up (Asterisk's Hangup event, as read by the server)
  to the recording indexed as playable: median, p99, max; it includes the wait for the
  file's size to settle (``service.SETTLE_STEP``) and the checksum and silence checks;
* the MP3 made on a first play (``--transcode N`` recordings, one after the other, then N at
  once): the wall time per recording.

``--no-record`` runs the same calls with recording off (every queue ``record = false``),
for the CPU the calls cost without it; the difference is the recording's own cost.

    python bench/recordings.py [--calls 100] [--talk 25] [--arrival-seconds 5] [--no-record] [--transcode 10]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctiserver.agents.tables import AgentRow  # noqa: E402
from ctiserver.calls.model.tracker import CallUpdate  # noqa: E402
from ctiserver.lab.caller import eventually, place_call  # noqa: E402
from ctiserver.lab.isolated import isolated_settings  # noqa: E402
from ctiserver.lab.runner import Lab  # noqa: E402
from ctiserver.lab.simulate import LabCall  # noqa: E402
from ctiserver.recordings.files import inside  # noqa: E402
from ctiserver.recordings.media import MediaCache  # noqa: E402
from ctiserver.recordings.tables import RecordingRow  # noqa: E402
from ctiserver.settings import Settings  # noqa: E402
from ctiserver.users.store import UserRepository  # noqa: E402

STRAIGHT = """\
flow: bench
entry: "4008001234"
language: zh
start: support
nodes:
  support: {kind: queue, queue: support}
"""
PASSWORD = "bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, every thread of it (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def settings_in(tmp: Path, record: bool) -> Settings:
    settings = isolated_settings(tmp, flow=STRAIGHT, lab={"login_agents": False, "agent_answer_delay": 1.0})
    queues = tuple(dataclasses.replace(q, record=record, member_timeout=30) for q in settings.hotline.queues)
    return settings.replace(hotline={"queues": queues})


async def seat(lab: Lab, agents: int) -> None:
    """Agents 5000.. with users, logged in to the support queue."""
    assert lab.server is not None
    users = UserRepository(lab.server.db)
    ids = []
    for n in range(agents):
        user = await users.add(f"bench{5000 + n}", PASSWORD, "agent")
        async with lab.server.db.session() as session:
            await session.execute(insert(AgentRow), [{"extension": str(5000 + n), "name": f"坐席{n}",
                                                      "user_id": user.id, "skills": "support"}])
            await session.commit()
        ids.append(user.id)
    await lab.server.seat_agents()
    for user_id in ids:
        await lab.server.desk.login(user_id, ["support"])


def figures(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"median {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {ordered[-1] * 1000:.0f} ms")


async def transcodes(lab: Lab, rows: list[RecordingRow], count: int) -> None:
    """The MP3 of ``count`` recordings made one after the other, then of ``count`` others at once."""
    directory = lab.server.recordings.directory if lab.server is not None else Path()
    cache = MediaCache(directory, workers=2)
    try:
        one_by_one = []
        for row in rows[:count]:
            path = inside(directory, row.path)
            assert path is not None
            started = time.perf_counter()
            await cache.encoded(row.id, path, "mp3")
            one_by_one.append(time.perf_counter() - started)
        batch = rows[count:2 * count]
        started = time.perf_counter()
        await asyncio.gather(*(cache.encoded(row.id, p, "mp3") for row in batch
                               if (p := inside(directory, row.path)) is not None))
        together = time.perf_counter() - started
        seconds = statistics.mean(row.duration for row in rows[:count])
        sizes = [os.path.getsize(directory / "cache" / row.id[:2] / f"{row.id}.mp3") for row in rows[:count]]
        print(f"MP3 on first play ({seconds:.0f} s recordings): one at a time {figures(one_by_one)}; "
              f"{len(batch)} at once (2 ffmpeg at a time) {together:.1f} s in all; "
              f"MP3 {statistics.mean(sizes) / seconds * 60 / 1024:.0f} KiB per call-minute")
    finally:
        cache.close()


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="ctiserver-bench-") as tmp:
        lab = Lab(settings_in(Path(tmp), not args.no_record), allow_provision=False)
        await lab.start()
        try:
            assert lab.server is not None and lab.asterisk is not None and lab.asterisk.pid is not None
            server = lab.server
            await seat(lab, args.calls)
            indexed: dict[str, tuple[float, RecordingRow]] = {}
            server.recordings.on_indexed = lambda row: indexed.setdefault(row.id, (time.time(), row))
            await place_call(lab, LabCall("13900000000", hangup_after=2))  # warms the call path up
            await eventually(lambda: _settled(server, indexed, 0 if args.no_record else 1), 60, "the warm-up call")
            indexed.clear()
            asterisk_pid, own_pid = lab.asterisk.pid, os.getpid()
            cpu_before = cpu_seconds(asterisk_pid), cpu_seconds(own_pid)
            peak = [0]
            talk: dict[str, float] = {}

            def follow(update: CallUpdate) -> None:
                peak[0] = max(peak[0], len(server.calls.active_calls()))
                call = update.call
                if call.answered_at is not None and call.ended_at is not None:
                    talk[call.linkedid] = call.ended_at - call.answered_at

            server.calls.subscribe(follow)
            print(f"placing {args.calls} calls over {args.arrival_seconds:g} s, each talking {args.talk:g} s, "
                  f"recording {'off' if args.no_record else 'on'}", flush=True)
            started = time.perf_counter()

            async def one(n: int) -> str:
                await asyncio.sleep(args.arrival_seconds * n / args.calls)
                return await place_call(lab, LabCall(f"139{n:08d}", f"客户{n}", hangup_after=args.talk + 2))

            await asyncio.gather(*(one(n) for n in range(args.calls)))
            expected = 0 if args.no_record else args.calls
            try:
                await eventually(lambda: _settled(server, indexed, expected), args.talk + 120,
                                 "every call ended and its recording indexed")
            except TimeoutError as exc:
                print(exc)
            elapsed = time.perf_counter() - started
            asterisk_cpu = cpu_seconds(asterisk_pid) - cpu_before[0]
            server_cpu = cpu_seconds(own_pid) - cpu_before[1]
            rows = [row for _, row in indexed.values()]
            report(rows, indexed, sum(talk.values()) / 60, elapsed, asterisk_cpu, server_cpu, peak[0])
            if rows and args.transcode:
                await transcodes(lab, [r for r in rows if r.flag is None], args.transcode)
        finally:
            await lab.stop()


async def _settled(server: object, indexed: dict[str, tuple[float, RecordingRow]], expected: int) -> bool:
    calls = server.calls  # type: ignore[attr-defined]
    return not calls.active_calls() and len(indexed) >= expected


def report(rows: list[RecordingRow], indexed: dict[str, tuple[float, RecordingRow]], talk_minutes: float,
           elapsed: float, asterisk_cpu: float, server_cpu: float, peak: int) -> None:
    print(f"peak of simultaneous calls: {peak}; {len(rows)} recordings indexed in {elapsed:.1f} s "
          f"({sum(1 for r in rows if r.flag is None)} playable)")
    recorded = sum(r.duration for r in rows) / 60
    print(f"talk (answered -> hangup): {talk_minutes:.1f} call-minutes; recorded: {recorded:.1f} minutes")
    if talk_minutes <= 0:
        return
    print(f"CPU: Asterisk {asterisk_cpu:.1f} s, server {server_cpu:.1f} s: {asterisk_cpu / talk_minutes:.3f} + "
          f"{server_cpu / talk_minutes:.3f} = {(asterisk_cpu + server_cpu) / talk_minutes:.3f} CPU s per call-minute "
          f"({'recorded' if rows else 'not recorded'})")
    if not rows:
        return
    size = sum(r.size for r in rows)
    print(f"disk: {size / 1e6:.1f} MB of WAV, {size / recorded / 1e6:.2f} MB per recorded call-minute")
    delays = [at - row.ended_at.timestamp() for at, row in indexed.values()]
    print(f"hangup -> indexed as playable: {figures(delays)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--talk", type=float, default=25.0, help="seconds each call lasts once answered (about)")
    parser.add_argument("--arrival-seconds", type=float, default=5.0, help="spread of the calls' arrival")
    parser.add_argument("--no-record", action="store_true", help="the same calls, recording off (the baseline)")
    parser.add_argument("--transcode", type=int, default=10, help="recordings whose MP3 is made afterwards (0: none)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
