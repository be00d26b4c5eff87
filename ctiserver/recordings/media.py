"""What browsers get from a recording besides its WAV: a compressed copy (MP3 or Opus in
Ogg) and its waveform's peaks, each made on first request and cached on disk.

The cache is a tree under the recordings directory, ``cache/<first two hex digits>/<id>.<kind>``,
every path made from the recording's own id (32 hex digits, checked), never from request
text; the date tree (``YYYY/MM/DD``) and ``ctiserver recordings reconcile`` never see it.
A recording's file is made once even when many ask at the same moment (one lock per
recording and kind), in a small pool of threads off the event loop, written beside its final
name and renamed over it, so a reader sees a whole file or none.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import warnings
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctiserver.recordings.model import is_id, peaks_of

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is missing and imports audioop (deprecated)
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pydub import AudioSegment

log = logging.getLogger(__name__)

CACHE_DIR = "cache"
#: samples read at once while the peaks are computed
PEAK_CHUNK = 1 << 16


@dataclass(frozen=True)
class Encoding:
    """A browser-friendly form: its file extension, Content-Type and ffmpeg's arguments."""

    extension: str
    content_type: str
    format: str
    codec: str | None
    bitrate: str
    parameters: tuple[str, ...]


#: ``?format=`` of ``GET /api/recordings/{id}/audio`` besides ``wav``. MP3 at 16 kHz
#: (MPEG-2, which every browser decodes; 8 kHz would be MPEG-2.5); Opus takes 8 kHz as it is.
ENCODINGS: dict[str, Encoding] = {
    "mp3": Encoding("mp3", "audio/mpeg", "mp3", None, "32k", ("-ar", "16000", "-ac", "1")),
    "ogg": Encoding("ogg", "audio/ogg", "ogg", "libopus", "24k", ("-ac", "1")),
}


class MediaError(RuntimeError):
    """A transcode (or a waveform) could not be made: ffmpeg missing or failing, a bad file."""


def cache_file(directory: Path, recording_id: str, kind: str) -> Path:
    """Where the cached ``kind`` (mp3, ogg, peaks.json) of a recording lives: from its id only."""
    if not is_id(recording_id):
        raise ValueError(f"not a recording id: {recording_id!r}")
    if kind not in ENCODINGS and kind != "peaks.json":
        raise ValueError(f"not a cached kind: {kind!r}")
    return directory / CACHE_DIR / recording_id[:2] / f"{recording_id}.{kind}"


def remove_cached(directory: Path, recording_id: str) -> int:
    """Delete every cached file of a recording (the purge); returns how many there were."""
    removed = 0
    for kind in (*ENCODINGS, "peaks.json"):
        path = cache_file(directory, recording_id, kind)
        if path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _fresh(cached: Path, source: Path) -> bool:
    """The cached file exists and was made from the source as it is now (not older)."""
    try:
        return cached.stat().st_mtime_ns >= source.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def _write_atomically(target: Path, make: Callable[[Path], object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        make(Path(part))
        os.replace(part, target)
    finally:
        Path(part).unlink(missing_ok=True)


def transcode(source: Path, target: Path, encoding: Encoding) -> None:
    """WAV to ``encoding`` with ffmpeg (through pydub). Blocking: run it in a thread."""

    def make(part: Path) -> None:
        try:
            with source.open("rb") as fh:  # given a path, pydub leaves the file open
                audio = AudioSegment.from_wav(fh)
            kwargs: dict[str, Any] = {"format": encoding.format, "bitrate": encoding.bitrate,
                                      "parameters": list(encoding.parameters)}
            if encoding.codec:
                kwargs["codec"] = encoding.codec
            audio.export(str(part), **kwargs).close()
        except FileNotFoundError as exc:  # ffmpeg itself
            raise MediaError(f"cannot run ffmpeg: {exc}") from exc
        except Exception as exc:  # pydub's CouldntEncodeError, a broken WAV
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MediaError(f"{encoding.extension} encoding failed: {first}") from exc
        if part.stat().st_size == 0:
            raise MediaError(f"{encoding.extension} encoding gave an empty file")

    _write_atomically(target, make)


def compute_peaks(source: Path, buckets: int) -> dict[str, Any]:
    """The waveform of a 16-bit WAV: ``buckets`` (min, max) pairs in [-1, 1] and its duration.
    Blocking: run it in a thread."""
    try:
        with wave.open(str(source), "rb") as wav:
            width, channels, rate, frames = (wav.getsampwidth(), wav.getnchannels(), wav.getframerate(),
                                             wav.getnframes())
            if width != 2 or rate <= 0:
                raise MediaError(f"only 16-bit WAV has a waveform here (this one: {8 * width}-bit)")
            data = bytearray()
            for chunk in iter(lambda: wav.readframes(PEAK_CHUNK), b""):
                data += chunk
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"not a readable WAV: {exc}") from exc
    lows, highs = peaks_of(bytes(data), channels, buckets)
    return {"duration": round(frames / rate, 3), "min": lows, "max": highs}


def write_peaks(source: Path, target: Path, buckets: int) -> dict[str, Any]:
    peaks = compute_peaks(source, buckets)
    _write_atomically(target, lambda part: part.write_text(json.dumps(peaks), encoding="utf-8"))
    return peaks


class MediaCache:
    """The compressed copies and waveforms of the recordings under ``directory``."""

    def __init__(self, directory: Path, *, workers: int = 2, buckets: int = 400) -> None:
        self.directory = directory
        self.buckets = buckets
        self._pool = ThreadPoolExecutor(max_workers=max(workers, 1), thread_name_prefix="recording-media")
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        #: how many files were made (not served from the cache): tests, benchmarks
        self.made = 0

    async def encoded(self, recording_id: str, source: Path, fmt: str) -> Path:
        """The recording in ``fmt`` (a key of ENCODINGS), made now if it is not cached."""
        encoding = ENCODINGS[fmt]
        target = cache_file(self.directory, recording_id, encoding.extension)
        await self._once(recording_id, fmt, source, target, lambda: transcode(source, target, encoding))
        return target

    async def peaks(self, recording_id: str, source: Path) -> dict[str, Any]:
        """The recording's waveform (see compute_peaks), computed now if it is not cached."""
        target = cache_file(self.directory, recording_id, "peaks.json")
        await self._once(recording_id, "peaks", source, target, lambda: write_peaks(source, target, self.buckets))
        text = await asyncio.to_thread(target.read_text, encoding="utf-8")
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    async def _once(self, recording_id: str, kind: str, source: Path, target: Path,
                    make: Callable[[], object]) -> None:
        if await asyncio.to_thread(_fresh, target, source):
            return
        key = (recording_id, kind)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if await asyncio.to_thread(_fresh, target, source):
                    return
                await asyncio.get_running_loop().run_in_executor(self._pool, make)
                self.made += 1
                log.info("recording %s: %s made", recording_id, kind)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
