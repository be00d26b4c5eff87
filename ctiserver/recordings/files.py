"""The recordings directory: what a finished file holds, and the one way a file is opened
for serving (inside the directory, or not at all)."""

from __future__ import annotations

import hashlib
import os
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ctiserver.recordings.model import SILENCE_RMS, Flag, blanked_frames, flag_for, pcm_rms

CHUNK_FRAMES = 8000


@dataclass(frozen=True)
class FileFacts:
    exists: bool
    size: int
    duration: float
    checksum: str | None
    flag: Flag | None


def examine(path: Path) -> FileFacts:
    """Size, duration, SHA-256 and whether it holds sound (blocking: run it in a thread)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return FileFacts(False, 0, 0.0, None, Flag.MISSING)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    frames, duration, loudest = 0, 0.0, 0.0
    try:
        with wave.open(str(path), "rb") as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
            duration = frames / rate if rate else 0.0
            if wav.getsampwidth() == 2:
                while loudest < SILENCE_RMS:
                    chunk = wav.readframes(CHUNK_FRAMES)
                    if not chunk:
                        break
                    loudest = max(loudest, pcm_rms(chunk))
    except (wave.Error, EOFError):
        frames = 0
    flag = flag_for(exists=True, size=size, frames=frames, rms=loudest)
    return FileFacts(True, size, round(duration, 3), digest.hexdigest(), flag)


def _data_offset(fh: BinaryIO) -> int | None:
    """Where a RIFF/WAVE file's samples start (its ``data`` chunk), None if it has none."""
    fh.seek(12)
    while True:
        head = fh.read(8)
        if len(head) < 8:
            return None
        size = int.from_bytes(head[4:], "little")
        if head[:4] == b"data":
            return fh.tell()
        fh.seek(size + (size & 1), 1)


def blank_gaps(path: Path, gaps: list[list[float | None]]) -> int:
    """Overwrite the paused parts of a 16-bit WAV file with silence, in place (what was said
    during a pause is not kept); returns the frames blanked. Blocking: run it in a thread."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, frames, width, channels = wav.getframerate(), wav.getnframes(), wav.getsampwidth(), wav.getnchannels()
    except (FileNotFoundError, wave.Error, EOFError):
        return 0
    if width != 2:
        return 0
    frame_bytes = width * channels
    blanked = 0
    with path.open("r+b") as fh:
        start = _data_offset(fh)
        if start is None:
            return 0
        for first, last in blanked_frames(gaps, rate, frames):
            fh.seek(start + first * frame_bytes)
            fh.write(b"\0" * ((last - first) * frame_bytes))
            blanked += last - first
    return blanked


def size_of(path: Path) -> int:
    """The file's size, -1 if there is none yet."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def inside(directory: Path, relative: str) -> Path | None:
    """``directory/relative`` if it is a regular file inside ``directory`` once every link
    and ``..`` is resolved; None otherwise (absolute paths, escapes, anything else)."""
    if not relative or os.path.isabs(relative) or "\x00" in relative:
        return None
    root = directory.resolve()
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def date_tree(directory: Path) -> list[str]:
    """Every file of the date tree (YYYY/MM/DD/*), relative to ``directory``."""
    if not directory.is_dir():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.glob("[0-9]*/[0-9]*/[0-9]*/*") if p.is_file())
