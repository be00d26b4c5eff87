"""Recordings for browsers: the MP3 (and Opus) copy made by ffmpeg on first request and
cached, served with Range; the waveform's peaks; the cache removed by the purge; the new
routes' guards (403, path traversal)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import shutil
import struct
import wave
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from yarl import URL

from ctiserver.operations.snippets import dialplan_contexts, render_snippets
from ctiserver.recordings import media
from ctiserver.recordings.commands import purge
from ctiserver.recordings.files import date_tree
from ctiserver.recordings.http import ACCESS_KEY
from ctiserver.recordings.media import MediaCache, MediaError, cache_file, compute_peaks, remove_cached
from ctiserver.recordings.model import announced_queues, is_sound_name, new_id, peaks_of, relative_path
from ctiserver.recordings.notice import recording_notice
from ctiserver.recordings.store import RecordingRepository
from ctiserver.recordings.tables import RecordingRow
from ctiserver.server import CtiServer
from ctiserver.settings import QueueSettings, Settings
from ctiserver.storage.database import Database
from tests.conftest import require
from tests.unit.test_recordings import PASSWORD, api, as_user  # noqa: F401  (api: a fixture)

T0 = 1_764_547_200.0  # 2025-12-01T00:00:00Z
RATE = 8000


def tone_then_silence(path: Path, tone: float, silence: float, amplitude: int = 16000) -> None:
    """A 440 Hz tone of ``amplitude`` for ``tone`` seconds, then ``silence`` seconds of zeros."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(b"".join(
            struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / RATE))) for i in range(int(tone * RATE))
        ))
        wav.writeframes(b"\0\0" * int(silence * RATE))


def needs_ffmpeg() -> None:
    require(shutil.which("ffmpeg") is not None, "ffmpeg is not installed (scripts/setup.sh installs it)")


# --- pure and files -----------------------------------------------------------

def test_peaks_of_a_tone_then_silence() -> None:
    samples = [int(16000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE)] + [0] * RATE
    lows, highs = peaks_of(struct.pack(f"<{len(samples)}h", *samples), 1, 100)
    assert len(lows) == len(highs) == 100
    for low, high in zip(lows[:50], highs[:50], strict=True):
        assert 0.45 < high <= 16000 / 32768 + 1e-4 and -16000 / 32768 - 1e-4 <= low < -0.45
    assert lows[50:] == [0.0] * 50 and highs[50:] == [0.0] * 50
    assert peaks_of(b"", 1, 100) == ([], [])
    short = [round(s / 32768, 4) for s in (1000, 2000, 3000)]
    assert peaks_of(struct.pack("<3h", 1000, 2000, 3000), 1, 100) == (short, short), "fewer points than asked"
    stereo = struct.pack("<4h", -32768, 100, 200, 32767)
    assert peaks_of(stereo, 2, 1) == ([-1.0], [round(32767 / 32768, 4)])


def test_the_waveform_of_a_known_file(tmp_path: Path) -> None:
    tone_then_silence(tmp_path / "x.wav", 2.0, 2.0)
    peaks = compute_peaks(tmp_path / "x.wav", 400)
    assert peaks["duration"] == 4.0 and len(peaks["min"]) == len(peaks["max"]) == 400
    assert min(peaks["max"][:200]) > 0.45 and max(peaks["min"][:200]) < -0.45
    assert set(peaks["max"][200:]) == {0.0} and set(peaks["min"][200:]) == {0.0}
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(MediaError):
        compute_peaks(tmp_path / "broken.wav", 400)


def test_cache_paths_come_from_the_id_only(tmp_path: Path) -> None:
    rid = new_id()
    assert cache_file(tmp_path, rid, "mp3") == tmp_path / "cache" / rid[:2] / f"{rid}.mp3"
    for hostile in ("../../etc/passwd", rid.upper(), rid + "/..", "", "0" * 31):
        with pytest.raises(ValueError):
            cache_file(tmp_path, hostile, "mp3")
    with pytest.raises(ValueError):
        cache_file(tmp_path, rid, "../x")
    assert date_tree(tmp_path) == [], "the cache is not in the date tree"


async def test_concurrent_first_requests_transcode_once_and_the_cache_is_reused(tmp_path: Path) -> None:
    needs_ffmpeg()
    source = tmp_path / "2025/12/01/x.wav"
    tone_then_silence(source, 1.5, 0.5)
    cache = MediaCache(tmp_path, workers=2)
    rid = new_id()
    try:
        paths = await asyncio.gather(*(cache.encoded(rid, source, "mp3") for _ in range(6)))
        assert cache.made == 1 and len(set(paths)) == 1
        assert paths[0].read_bytes()[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")
        first = paths[0].stat().st_mtime_ns
        assert await cache.encoded(rid, source, "mp3") == paths[0] and cache.made == 1
        assert paths[0].stat().st_mtime_ns == first, "served from the cache, not made again"
        ogg = await cache.encoded(rid, source, "ogg")
        assert ogg.read_bytes()[:4] == b"OggS" and cache.made == 2
        await asyncio.gather(*(cache.peaks(rid, source) for _ in range(3)))
        assert cache.made == 3
        assert remove_cached(tmp_path, rid) == 3 and not paths[0].exists()
    finally:
        cache.close()


async def test_a_failed_transcode_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "x.wav"
    tone_then_silence(source, 0.5, 0.0)
    monkeypatch.setattr(media.AudioSegment, "converter", str(tmp_path / "no-ffmpeg-here"))
    cache = MediaCache(tmp_path)
    try:
        with pytest.raises(MediaError, match="cannot run ffmpeg"):
            await cache.encoded(new_id(), source, "mp3")
    finally:
        cache.close()


# --- the API ------------------------------------------------------------------

# the server with a supervisor and agents 1001 and 1002 (api), and a user's session (as_user):
# tests/unit/test_recordings.py


async def indexed(cti: CtiServer, agent: str, gaps: list[list[float]] | None = None) -> RecordingRow:
    """A recording of 2 s tone then 2 s silence, in the index and on disk."""
    rid = new_id()
    relative = relative_path(rid, T0)
    tone_then_silence(cti.recordings.directory / str(relative), 2.0, 2.0)
    row = RecordingRow(
        id=rid, call_id=f"call-{rid[:6]}", leg_uniqueid="a.1", caller_number="13800138000", caller_name=None,
        agent=agent, agent_interface=f"PJSIP/{agent}", queue="support", customer_id=None,
        started_at=dt.datetime.fromtimestamp(T0, dt.UTC), ended_at=dt.datetime.fromtimestamp(T0 + 4, dt.UTC),
        duration=4.0, size=1, format="wav", checksum=None, path=str(relative), flag=None, hold=False, gaps=gaps,
    )
    await RecordingRepository(cti.db).add(row)
    return row


async def test_the_mp3_is_served_with_range_and_made_once(api: tuple[CtiServer, TestServer]) -> None:
    needs_ffmpeg()
    cti, server = api
    row = await indexed(cti, "1001")
    supervisor, agent1, agent2 = [await as_user(server, u) for u in ("supervisor", "agent1001", "agent1002")]
    try:
        async with supervisor.get(server.make_url("/api/recordings")) as response:
            [listed] = (await response.json())["recordings"]
        assert listed["mp3_url"] == f"/api/recordings/{row.id}/audio?format=mp3"
        url = server.make_url(listed["mp3_url"])
        answers = await asyncio.gather(*(supervisor.get(url) for _ in range(4)))
        bodies = []
        for answer in answers:
            assert answer.status == 200 and answer.headers["Content-Type"] == "audio/mpeg"
            bodies.append(await answer.read())
            answer.release()
        assert len(set(bodies)) == 1 and len(bodies[0]) > 1000
        media_cache = cti.web_app[ACCESS_KEY].media
        assert media_cache.made == 1, "four first requests at once: one transcode"
        async with supervisor.get(url, headers={"Range": "bytes=100-599"}) as part:
            assert part.status == 206 and part.headers["Content-Type"] == "audio/mpeg"
            assert part.headers["Content-Range"] == f"bytes 100-599/{len(bodies[0])}"
            assert await part.read() == bodies[0][100:600]
        assert media_cache.made == 1, "the second time comes from the cache"
        cached = cache_file(cti.recordings.directory, row.id, "mp3")
        assert cached.read_bytes() == bodies[0]
        async with supervisor.get(url, params={"download": "1"}) as download:
            assert f'filename="recording-{row.id}.mp3"' in download.headers["Content-Disposition"]
        async with supervisor.get(server.make_url(f"/api/recordings/{row.id}/audio")) as wav:
            assert wav.headers["Content-Type"] == "audio/wav" and (await wav.read())[:4] == b"RIFF"
        async with supervisor.get(server.make_url(f"/api/recordings/{row.id}/audio?format=ogg")) as ogg:
            assert ogg.status == 200 and ogg.headers["Content-Type"] == "audio/ogg"
        async with supervisor.get(server.make_url(f"/api/recordings/{row.id}/audio?format=flac")) as bad:
            assert bad.status == 400
        async with agent1.get(url) as mine:
            assert mine.status == 200
        async with agent2.get(url) as theirs:
            assert theirs.status == 403
    finally:
        for http in (supervisor, agent1, agent2):
            await http.close()


async def test_a_failed_transcode_answers_503_and_the_wav_still_plays(
    api: tuple[CtiServer, TestServer], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cti, server = api
    row = await indexed(cti, "1001")
    monkeypatch.setattr(media.AudioSegment, "converter", str(tmp_path / "no-ffmpeg-here"))
    supervisor = await as_user(server, "supervisor")
    try:
        async with supervisor.get(server.make_url(f"/api/recordings/{row.id}/audio?format=mp3")) as failed:
            assert failed.status == 503
            error = (await failed.json())["error"]
            assert "ffmpeg" in error and f"/api/recordings/{row.id}/audio" in error
        async with supervisor.get(server.make_url(f"/api/recordings/{row.id}/audio")) as wav:
            assert wav.status == 200 and (await wav.read())[:4] == b"RIFF"
        assert not cache_file(cti.recordings.directory, row.id, "mp3").exists()
    finally:
        await supervisor.close()


async def test_the_waveform_route(api: tuple[CtiServer, TestServer]) -> None:
    cti, server = api
    row = await indexed(cti, "1001", gaps=[[0.5, 1.0]])
    supervisor, agent1, agent2 = [await as_user(server, u) for u in ("supervisor", "agent1001", "agent1002")]
    try:
        url = server.make_url(f"/api/recordings/{row.id}/waveform")
        async with supervisor.get(url) as response:
            assert response.status == 200
            wave_ = await response.json()
        assert wave_["duration"] == 4.0 and len(wave_["max"]) == 400 == len(wave_["min"])
        assert min(wave_["max"][:200]) > 0.45 and set(wave_["max"][200:]) == {0.0}
        assert wave_["gaps"] == [{"start": 0.5, "end": 1.0}]
        assert cache_file(cti.recordings.directory, row.id, "peaks.json").is_file()
        async with agent1.get(url) as mine:
            assert mine.status == 200 and (await mine.json())["max"] == wave_["max"]
        async with agent2.get(url) as theirs:
            assert theirs.status == 403
    finally:
        for http in (supervisor, agent1, agent2):
            await http.close()


async def test_the_new_routes_open_nothing_outside_the_directory(api: tuple[CtiServer, TestServer]) -> None:
    cti, server = api
    await indexed(cti, "1001")
    supervisor = await as_user(server, "supervisor")
    try:
        base = str(server.make_url("/")).rstrip("/")
        for raw in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                    "....%2F%2Fetc%2Fpasswd", "%252e%252e%252fetc%252fpasswd", "0" * 32):
            for tail in ("waveform", "audio?format=mp3", "audio?format=..%2F..%2Fetc%2Fpasswd"):
                async with supervisor.get(URL(f"{base}/api/recordings/{raw}/{tail}", encoded=True)) as response:
                    assert response.status in (400, 404), (raw, tail)
                    assert b"root:" not in await response.read()
        assert not (cti.recordings.directory / "cache").exists() or not any(
            p for p in (cti.recordings.directory / "cache").rglob("*") if p.is_file()
        )
    finally:
        await supervisor.close()


async def test_the_purge_removes_the_cache(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "rec"
    index = RecordingRepository(db)
    rid = new_id()
    started = T0
    relative = relative_path(rid, started)
    tone_then_silence(root / str(relative), 0.5, 0.5)
    await index.add(RecordingRow(
        id=rid, call_id="c-old", leg_uniqueid="a.1", caller_number=None, caller_name=None, agent="1001",
        agent_interface="PJSIP/1001", queue="support", customer_id=None,
        started_at=dt.datetime.fromtimestamp(started, dt.UTC), ended_at=dt.datetime.fromtimestamp(started + 1, dt.UTC),
        duration=1.0, size=1, format="wav", checksum=None, path=str(relative), flag=None, hold=False,
    ))
    cache = MediaCache(root)
    try:
        await cache.peaks(rid, root / str(relative))
    finally:
        cache.close()
    for kind in ("mp3", "ogg"):  # as if transcoded (no ffmpeg needed for the purge)
        cache_file(root, rid, kind).write_bytes(b"cached")
    done = await purge(db, root, retention_days=30, now=T0 + 100 * 86400, dry_run=False)
    assert [d[0] for d in done.deleted] == [rid]
    assert not any(cache_file(root, rid, kind).exists() for kind in ("mp3", "ogg", "peaks.json"))


# --- "this call is recorded" ----------------------------------------------------

def test_which_queues_announce_the_recording() -> None:
    queues = [("support", True, False), ("repair", True, True), ("quiet", False, True)]
    assert announced_queues(queues, announce_all=False) == ["repair"]
    assert announced_queues(queues, announce_all=True) == ["support", "repair"], "never a queue that does not record"
    assert announced_queues([], announce_all=True) == []
    for good in ("conf-now-recording", "custom/recorded-notice", "/var/lib/ctiserver/prompts/recorded.v2"):
        assert is_sound_name(good), good
    for hostile in ("x,1)", "a b", "../../etc/passwd", "x)|System(id)", "", "x\n", "${CALLERID(num)}", "a;b"):
        assert not is_sound_name(hostile), hostile


def hotline_dialplan(settings: Settings) -> str:
    return render_snippets(settings, "10.0.0.5")["extensions_ctiserver.conf"]


def test_the_notice_in_the_rendered_dialplan() -> None:
    off = hotline_dialplan(Settings())
    assert "cti-record-notice" not in off and "Playback" not in off, "off by default: the dialplan as before"

    one = Settings().replace(hotline={"queues": (
        QueueSettings("support"), QueueSettings("repair", announce_recording=True),
        QueueSettings("quiet", record=False, announce_recording=True),
    )})
    text = hotline_dialplan(one)
    assert " same => n(queue),Gosub(cti-record-notice,s,1(${CTI_QUEUE}))\n same => n,Queue(${CTI_QUEUE}," in text
    notice = text[text.index("[cti-record-notice]"):]
    assert '"${ARG1}" = "repair"' in notice and '"support"' not in notice and '"quiet"' not in notice
    assert " same => n(play),Playback(conf-now-recording)\n" in notice
    assert "Gosub(cti-record-notice,s,1(support))" not in text, "the default queue does not announce"
    assert "cti-record-notice" in dialplan_contexts(one) and "cti-record-notice" not in dialplan_contexts(Settings())

    everyone = Settings().replace(recordings={"announce": True, "announce_prompt": "custom/recorded"})
    text = hotline_dialplan(everyone)
    assert "Gosub(cti-record-notice,s,1(support))\n same => n,Queue(support," in text, "the fallback announces too"
    assert "Playback(custom/recorded)" in text
    for name in ("support", "repair", "complaint", "installation"):
        assert f'"${{ARG1}}" = "{name}"' in text

    hostile = Settings().replace(recordings={"announce": True, "announce_prompt": "x)|System(id)"})
    with pytest.raises(ValueError, match="announce_prompt"):
        recording_notice(hostile)
    with pytest.raises(ValueError, match="announce_prompt"):
        CtiServer(hostile.replace(database={"url": "sqlite+aiosqlite:///:memory:"}))
