"""Many simultaneous calls through the sample hotline IVR on real Asterisk.

Starts a lab (real Asterisk, the server), places N calls at once and walks each
one with real DTMF: Mandarin (1), self-service information (4), hang up (2).
Prints the FastAGI round trip per command (median, p99) as the server saw it,
and every call that failed. Playback commands (STREAM FILE, RECORD FILE, ...) are
listed apart: their time is mostly the prompt being said.

    python bench/ivr_calls.py [--calls 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ctiserver.lab.caller import IvrCaller, eventually  # noqa: E402
from ctiserver.lab.isolated import isolated_settings  # noqa: E402
from ctiserver.lab.runner import Lab  # noqa: E402
from ctiserver.settings import Settings  # noqa: E402

OPEN = datetime.fromisoformat("2026-11-25T10:00:00+08:00")
MEDIA = {"STREAM FILE", "RECORD FILE", "WAIT FOR", "GET DATA", "EXEC Playback"}
EXPECTED_END = ["info", "info_menu", "goodbye"]


def settings_in(tmp: Path) -> Settings:
    return isolated_settings(tmp, flow=(ROOT / "ivr_flows" / "hotline.yaml").read_text("utf-8"))


async def walk(lab: Lab, number: str) -> tuple[str, str | None]:
    """One caller: returns (call id, None) or (call id, what went wrong)."""
    caller = await IvrCaller.dial(lab, number)
    try:
        for key in "142":
            await caller.press(key)
        live = await caller.finished_ivr()
    except TimeoutError as exc:
        return caller.call_id, str(exc)
    if live.run is None or live.run.error:
        return caller.call_id, f"IVR error: {live.run.error if live.run else 'no run'}"
    path = live.run.node_ids[-3:]
    if path != EXPECTED_END:
        return caller.call_id, f"ended at {path}"
    return caller.call_id, None


async def bench(calls: int) -> None:
    timings: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="ctiserver-bench-") as tmp:
        lab = Lab(settings_in(Path(tmp)), allow_provision=False)
        await lab.start()
        try:
            assert lab.server is not None
            lab.server.ivr.engine.clock = lambda: OPEN
            lab.server.agi.observer = lambda verb, seconds: timings[" ".join(verb)].append(seconds)
            warm = await walk(lab, "13100000000")  # synthesises the prompts once
            if warm[1] is not None:
                print(f"warm-up call failed: {warm[1]}")
            timings.clear()
            started = time.perf_counter()
            results = await asyncio.gather(*(walk(lab, f"1310000{n:04d}") for n in range(1, calls + 1)))
            elapsed = time.perf_counter() - started

            async def all_ended() -> bool:
                return not lab.server.calls.active_calls()

            await eventually(all_ended, 30, "every call to end")
        finally:
            await lab.stop()
    report(calls, elapsed, results, timings)


def report(calls: int, elapsed: float, results: list[tuple[str, str | None]], timings: dict[str, list[float]]) -> None:
    failed = [(call_id, why) for call_id, why in results if why is not None]
    print(f"{calls} simultaneous calls through the IVR in {elapsed:.1f} s; {len(failed)} failed")
    for call_id, why in failed:
        print(f"  failed {call_id}: {why}")
    print(f"{'AGI command':<22}{'count':>7}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
    control = [t for verb, ts in timings.items() if verb not in MEDIA for t in ts]
    for verb in sorted(timings, key=lambda v: (v in MEDIA, v)):
        print(line(verb + (" (media)" if verb in MEDIA else ""), timings[verb]))
    if control:
        print(line("all non-media", control))


def line(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"{label:<22}{len(values):>7}{statistics.median(values) * 1000:>12.2f}{p99 * 1000:>10.2f}{ordered[-1] * 1000:>10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(bench(args.calls))


if __name__ == "__main__":
    main()
