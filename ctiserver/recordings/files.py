"""The recordings directory: what a finished file holds, and the one way a file is opened
for serving (inside the directory, or not at all)."""

from __future__ import annotations

import hashlib
import os
import wave
from dataclasses import dataclass
from pathlib import Path

from ctiserver.recordings.model import SILENCE_RMS, Flag, flag_for, pcm_rms

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
