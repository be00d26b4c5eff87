"""AMI event throughput: panoramisk 1.4's own parser vs our pipeline.

    python bench/ami_events.py [--repeat N] [--chunk-size BYTES] [--fixture PATH]

Both sides get the same recorded byte stream (200 queue calls, 20,072 events)
in fixed-size chunks, as a socket would hand it over. Figures are best of N
runs; nothing is asserted about speed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from ctiserver.calls.model import CallTracker, CallUpdate  # noqa: E402
from ctiserver.telephony.ami.framing import FrameSplitter  # noqa: E402
from ctiserver.telephony.ami.translate import to_event  # noqa: E402

FIXTURE_NAME = "ami-200-queue-calls.raw.gz"
#: shared/ sits beside the checkout
DEFAULT_FIXTURES = [ROOT.parent / "shared" / "fixtures" / FIXTURE_NAME]
T0 = 1_795_376_035.0


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class _CountingFactory:
    """What AMIProtocol calls back into; only dispatch() matters here."""

    def __init__(self) -> None:
        self.events = 0
        self.forgetable_actions: tuple[str, ...] = ()
        self.awaiting_actions: list[object] = []

    def dispatch(self, message: object) -> None:
        self.events += 1

    def connection_lost(self, exc: object) -> None:
        pass


def run_panoramisk(chunks: list[bytes]) -> int:
    protocol = AMIProtocol()
    protocol.connection_made(_Transport())
    protocol.encoding = "utf-8"
    factory = _CountingFactory()
    protocol.factory = factory
    for chunk in chunks:
        protocol.data_received(chunk)
    return factory.events


def run_framing(chunks: list[bytes]) -> int:
    splitter = FrameSplitter()
    return sum(len(splitter.feed(chunk)) for chunk in chunks)


def run_translate(chunks: list[bytes]) -> int:
    splitter = FrameSplitter()
    count = 0
    now = T0
    for chunk in chunks:
        for message in splitter.feed(chunk):
            now += 0.001
            to_event(message, now)
            count += 1
    return count


def run_ours(chunks: list[bytes]) -> int:
    """Framing + translation + call model, with one listener counting endings."""
    splitter = FrameSplitter()
    now = T0
    tracker = CallTracker(clock=lambda: now)
    ended = 0

    def on_update(update: CallUpdate) -> None:
        nonlocal ended
        ended += update.kind == "ended"

    tracker.subscribe(on_update)
    count = 0
    for chunk in chunks:
        for message in splitter.feed(chunk):
            now += 0.001
            event = to_event(message, now)
            if event is not None:
                tracker.handle(event)
            count += 1
    if ended != 200 or tracker.active_calls():
        active = len(tracker.active_calls())
        raise SystemExit(f"call model broken: {ended} calls ended, {active} active")
    return count


def best_times(
    runs: dict[str, Callable[[list[bytes]], int]], chunks: list[bytes], repeat: int
) -> dict[str, tuple[float, int]]:
    """Best CPU time and message count of each run.

    Runs are interleaved round-robin and timed in process CPU time, so that
    other load on the machine skews all of them alike and as little as possible.
    """
    best = {name: (float("inf"), 0) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            gc.collect()
            start = time.process_time()
            count = run(chunks)
            elapsed = time.process_time() - start
            if elapsed < best[name][0]:
                best[name] = (elapsed, count)
    return best


def peak_memory(run: Callable[[list[bytes]], int], chunks: list[bytes]) -> int:
    """Peak bytes allocated during one run (the input is allocated before)."""
    gc.collect()
    tracemalloc.start()
    try:
        run(chunks)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; best is kept")
    parser.add_argument("--chunk-size", type=int, default=4096, help="bytes per read")
    parser.add_argument(
        "--fixture", type=Path,
        help=f"default: {FIXTURE_NAME} from ../shared/fixtures beside the checkout",
    )
    args = parser.parse_args(argv)

    path = args.fixture or next((p for p in DEFAULT_FIXTURES if p.exists()), None)
    if path is None:
        raise SystemExit(f"{FIXTURE_NAME} not found; pass --fixture")
    raw = gzip.decompress(path.read_bytes())
    chunks = [raw[i : i + args.chunk_size] for i in range(0, len(raw), args.chunk_size)]
    print(f"fixture {path.name}: {len(raw):,} bytes in {len(chunks):,} chunks of "
          f"{args.chunk_size}; best of {args.repeat}; Python {sys.version.split()[0]}")

    runs = {
        "panoramisk 1.4 AMIProtocol.data_received": run_panoramisk,
        "ours: FrameSplitter only": run_framing,
        "ours: FrameSplitter + to_event": run_translate,
        "ours: FrameSplitter + to_event + CallTracker": run_ours,
    }
    best = best_times(runs, chunks, args.repeat)
    for name, (seconds, count) in best.items():
        print(f"{name:<46} {count:>6} msgs {seconds * 1000:7.1f} ms CPU "
              f"{count / seconds:>9,.0f} events/s")
    pano_s, pano_events = best["panoramisk 1.4 AMIProtocol.data_received"]
    ours_s, messages = best["ours: FrameSplitter + to_event + CallTracker"]
    ratio = (messages / ours_s) / (pano_events / pano_s)
    print(f"{'ratio ours (full pipeline) / panoramisk':<46} {ratio:.2f}")
    for label, run in (("ours (full pipeline)", run_ours), ("panoramisk", run_panoramisk)):
        peak = peak_memory(run, chunks) / 1e6
        print(f"{'peak memory, ' + label:<46} {peak:.2f} MB (tracemalloc)")


if __name__ == "__main__":
    main()
