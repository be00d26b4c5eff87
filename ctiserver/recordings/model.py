"""Recordings, pure: their ids and file names, what a finished file is worth, who may hear it.

No I/O here: ``files.py`` reads the files, ``store.py`` the database.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
import sys
import uuid
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

#: our own recording ids: 32 lowercase hex digits, nothing else ever names a file
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
#: a recording's file relative to the recordings directory: YYYY/MM/DD/<id>.wav
FILE_PATTERN = re.compile(r"(\d{4})/(\d{2})/(\d{2})/([0-9a-f]{32})\.wav")
FORMAT = "wav"
#: RMS (of 16-bit samples) under which a recording is taken for silence
SILENCE_RMS = 30.0


class Flag(enum.StrEnum):
    """Why a recording is not playable (none: it is)."""

    MISSING = "missing"
    EMPTY = "empty"
    SILENT = "silent"
    DELETED = "deleted"


#: a sound name the dialplan may play as the recording notice: a stock name or a path of
#: letters, digits and ``_ - . /`` (no ``..``, no comma, bracket or space for the dialplan to misread)
SOUND_PATTERN = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}")


def is_sound_name(name: str) -> bool:
    return SOUND_PATTERN.fullmatch(name) is not None and ".." not in name


def announced_queues(queues: Iterable[tuple[str, bool, bool]], announce_all: bool) -> list[str]:
    """The queues whose callers are told "this call is recorded" before they queue, from each
    queue's (name, records, announces): a queue that records, and every such one with
    ``announce_all``; a queue that does not record never announces."""
    return [name for name, records, announces in queues if records and (announce_all or announces)]


def new_id() -> str:
    return uuid.uuid4().hex


def is_id(text: str) -> bool:
    return ID_PATTERN.fullmatch(text) is not None


def relative_path(recording_id: str, started_at: float) -> PurePosixPath:
    """Where a recording lives under the recordings directory, from our id and its UTC day:
    never from caller ID or anything a caller or user typed."""
    if not is_id(recording_id):
        raise ValueError(f"not a recording id: {recording_id!r}")
    day = dt.datetime.fromtimestamp(started_at, dt.UTC)
    return PurePosixPath(f"{day:%Y}/{day:%m}/{day:%d}/{recording_id}.wav")


def id_of_file(relative: str) -> str | None:
    """The recording id a file of the date tree is named by, None for any other file."""
    match = FILE_PATTERN.fullmatch(relative)
    return None if match is None else match.group(4)


def extension_of(interface: str, pattern: str) -> str | None:
    """The agent's extension in a member interface or channel, by the interface pattern
    (``PJSIP/{extension}``, ``Local/{extension}@lab-agents/n``): ``PJSIP/1001-0000000a``
    and ``Local/1001@lab-agents-00000003;1`` give 1001."""
    head, _, tail = pattern.partition("{extension}")
    tail = tail.split("/")[0]
    if not interface.startswith(head):
        return None
    rest = interface[len(head):]
    match = re.match(r"\d+", rest)
    if match is None:
        return None
    after = rest[match.end():]
    if tail and not after.startswith(tail):
        return None
    return match.group(0)


def pcm_rms(frames: bytes) -> float:
    """Root mean square of 16-bit little-endian signed samples."""
    samples = array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def peaks_of(frames: bytes, channels: int, buckets: int) -> tuple[list[float], list[float]]:
    """A waveform of 16-bit little-endian samples: the lowest and the highest sample of each
    of ``buckets`` equal stretches of time (fewer for a shorter sound), scaled to [-1, 1]."""
    samples = array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    channels = max(channels, 1)
    count = len(samples) // channels
    if count == 0 or buckets <= 0:
        return [], []
    buckets = min(buckets, count)
    lows, highs = [], []
    for bucket in range(buckets):
        first, last = bucket * count // buckets, (bucket + 1) * count // buckets
        stretch = samples[first * channels:last * channels]
        lows.append(round(min(stretch) / 32768, 4))
        highs.append(round(max(stretch) / 32768, 4))
    return lows, highs


def flag_for(*, exists: bool, size: int, frames: int, rms: float) -> Flag | None:
    if not exists:
        return Flag.MISSING
    if size == 0 or frames == 0:
        return Flag.EMPTY
    if rms < SILENCE_RMS:
        return Flag.SILENT
    return None


@dataclass
class Recording:
    """A recording under way: started on an agent's leg, indexed when the leg ends."""

    id: str
    call_id: str
    leg_uniqueid: str
    channel: str
    started_at: float
    relative: PurePosixPath
    agent: str | None
    agent_interface: str
    queue: str | None
    caller_number: str | None
    caller_name: str | None
    ended_at: float | None = None
    #: [start, end] seconds from the start during which the agent paused it (end None: still)
    gaps: list[list[float | None]] = field(default_factory=list)

    def pause(self, at: float) -> bool:
        """Start a gap at epoch ``at``; False if already paused."""
        if self.gaps and self.gaps[-1][1] is None:
            return False
        self.gaps.append([round(max(at - self.started_at, 0.0), 3), None])
        return True

    def resume(self, at: float) -> bool:
        """End the open gap at epoch ``at``; False if not paused."""
        if not self.gaps or self.gaps[-1][1] is not None:
            return False
        self.gaps[-1][1] = round(max(at - self.started_at, 0.0), 3)
        return True

    @property
    def paused(self) -> bool:
        return bool(self.gaps) and self.gaps[-1][1] is None


#: seconds blanked either side of a gap: the pause and resume clicks reach the server late
GAP_MARGIN = 0.3


def blanked_frames(gaps: list[list[float | None]], rate: int, frames: int) -> list[tuple[int, int]]:
    """The frame ranges [first, last) a file's gaps blank out, with the margin; an open
    gap runs to the end."""
    ranges = []
    for start, end in gaps:
        first = max(int(((start or 0.0) - GAP_MARGIN) * rate), 0)
        last = frames if end is None else min(int((end + GAP_MARGIN) * rate), frames)
        if last > first:
            ranges.append((first, last))
    return ranges


@dataclass(frozen=True)
class Viewer:
    """Who asks to hear recordings."""

    role: str
    #: the agent's extension, for an agent
    extension: str | None


def may_hear(viewer: Viewer, agent: str | None, agents_policy: str) -> bool:
    """Supervisors and admins hear all; agents their own ("own") or none ("none")."""
    if viewer.role in ("supervisor", "admin"):
        return True
    if viewer.role != "agent" or agents_policy != "own" or viewer.extension is None:
        return False
    return agent == viewer.extension




def purgeable(*, started_at: dt.datetime, now: dt.datetime, retention_days: int, flag: str | None,
              hold: bool, open_complaint: bool) -> bool:
    """Old enough to go, and nothing keeps it: no supervisor's hold, no open complaint."""
    if retention_days <= 0 or flag == Flag.DELETED or hold or open_complaint:
        return False
    return started_at < now - dt.timedelta(days=retention_days)


def reconcile(files: Iterable[str], rows: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Files of the date tree with no row, and ids of rows whose file is absent.

    ``files``: paths relative to the directory; ``rows``: (id, relative path) of the index
    for recordings not deleted."""
    on_disk = {f for f in files if id_of_file(f) is not None}
    indexed = dict(rows)
    orphans = sorted(on_disk - set(indexed.values()))
    lost = sorted(rid for rid, path in indexed.items() if path not in on_disk)
    return orphans, lost
