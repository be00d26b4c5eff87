"""Recordings: the pure rules (ids, file names, sound or silence, who may hear, reconcile),
the indexing of a finished leg, and the API's guards (Range, 403, path traversal)."""

from __future__ import annotations

import datetime as dt
import math
import struct
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from yarl import URL

from ctiserver.agents.tables import AgentRow
from ctiserver.calls.model import CallTracker
from ctiserver.customers.store import CustomerRepository
from ctiserver.recordings.commands import purge
from ctiserver.recordings.commands import reconcile as reconcile_directory
from ctiserver.recordings.files import blank_gaps, date_tree, examine, inside
from ctiserver.recordings.model import (
    Flag,
    Recording,
    Viewer,
    blanked_frames,
    extension_of,
    flag_for,
    id_of_file,
    is_id,
    may_hear,
    new_id,
    pcm_rms,
    purgeable,
    reconcile,
    relative_path,
)
from ctiserver.recordings.monitor import chanspy_data
from ctiserver.recordings.service import RecordingService
from ctiserver.recordings.store import RecordingFilter, RecordingRepository
from ctiserver.recordings.tables import RecordingRow
from ctiserver.server import CtiServer
from ctiserver.settings import QueueSettings, Settings
from ctiserver.storage.database import Database, upgrade_schema
from ctiserver.telephony.events import ChannelCreated, ChannelHungUp, QueueCallerJoined
from ctiserver.tickets.tables import Ticket
from ctiserver.users.store import UserRepository

PASSWORD = "a password of the recordings"
T0 = 1_764_547_200.0  # 2025-12-01T00:00:00Z


def write_wav(path: Path, seconds: float, amplitude: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        frames = int(seconds * 8000)
        wav.writeframes(b"".join(
            struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(frames)
        ))


# --- pure ---------------------------------------------------------------------

def test_ids_are_ours_and_name_files_in_a_date_tree() -> None:
    rid = new_id()
    assert is_id(rid) and len(rid) == 32
    assert str(relative_path(rid, T0 + 3600)) == f"2025/12/01/{rid}.wav"
    assert id_of_file(f"2025/12/01/{rid}.wav") == rid
    for hostile in ("../../etc/passwd", "/etc/passwd", rid.upper(), rid + "\n", "", "a" * 31, "13800138000"):
        assert not is_id(hostile)
        with pytest.raises(ValueError):
            relative_path(hostile, T0)
    assert id_of_file("voicemail/x.wav") is None and id_of_file(f"2025/12/01/{rid}.mp3") is None


def test_the_agent_is_read_from_the_leg_by_the_interface_pattern() -> None:
    assert extension_of("Local/1001@lab-agents-00000003;1", "Local/{extension}@lab-agents/n") == "1001"
    assert extension_of("PJSIP/1002-0000000a", "PJSIP/{extension}") == "1002"
    assert extension_of("PJSIP/trunk-0000000a", "PJSIP/{extension}") is None
    assert extension_of("Local/1001@other-00000003;1", "Local/{extension}@lab-agents/n") is None


def test_sound_silence_emptiness_and_absence() -> None:
    loud = struct.pack("<4h", 1000, -1000, 1000, -1000)
    assert pcm_rms(loud) == 1000.0 and pcm_rms(b"") == 0.0
    assert flag_for(exists=False, size=0, frames=0, rms=0) is Flag.MISSING
    assert flag_for(exists=True, size=44, frames=0, rms=0) is Flag.EMPTY
    assert flag_for(exists=True, size=8044, frames=4000, rms=2.0) is Flag.SILENT
    assert flag_for(exists=True, size=8044, frames=4000, rms=900.0) is None


def test_who_may_hear() -> None:
    supervisor, admin = Viewer("supervisor", None), Viewer("admin", None)
    mine, other, nobody = Viewer("agent", "1001"), Viewer("agent", "1002"), Viewer("agent", None)
    assert may_hear(supervisor, "1001", "none") and may_hear(admin, None, "own")
    assert may_hear(mine, "1001", "own")
    assert not may_hear(mine, "1001", "none")
    assert not may_hear(other, "1001", "own") and not may_hear(nobody, None, "own")


def test_reconcile_lists_orphan_files_and_rows_without_file() -> None:
    a, b, c = new_id(), new_id(), new_id()
    files = [f"2025/12/01/{a}.wav", f"2025/12/01/{b}.wav", "voicemail/left.wav"]
    rows = [(a, f"2025/12/01/{a}.wav"), (c, f"2025/12/02/{c}.wav")]
    assert reconcile(files, rows) == ([f"2025/12/01/{b}.wav"], [c])


# --- files --------------------------------------------------------------------

def test_examine_a_file(tmp_path: Path) -> None:
    write_wav(tmp_path / "tone.wav", 2.0, 8000)
    write_wav(tmp_path / "quiet.wav", 2.0, 0)
    write_wav(tmp_path / "none.wav", 0.0, 0)
    (tmp_path / "zero.wav").write_bytes(b"")
    tone = examine(tmp_path / "tone.wav")
    assert tone.flag is None and tone.duration == 2.0 and tone.checksum and len(tone.checksum) == 64
    assert examine(tmp_path / "quiet.wav").flag is Flag.SILENT
    assert examine(tmp_path / "none.wav").flag is Flag.EMPTY
    assert examine(tmp_path / "zero.wav").flag is Flag.EMPTY
    assert examine(tmp_path / "absent.wav").flag is Flag.MISSING


def test_nothing_outside_the_directory_is_opened(tmp_path: Path) -> None:
    root = tmp_path / "recordings"
    write_wav(root / "2025/12/01/x.wav", 0.1, 100)
    (tmp_path / "secret").write_text("root:x:0:0")
    (root / "2025/12/01/link.wav").symlink_to(tmp_path / "secret")
    assert inside(root, "2025/12/01/x.wav") == (root / "2025/12/01/x.wav").resolve()
    for hostile in ("../secret", "/etc/passwd", str(tmp_path / "secret"), "2025/12/01/link.wav",
                    "2025/../../secret", "", "2025/12/01", "x\x00.wav"):
        assert inside(root, hostile) is None, hostile


# --- indexing a leg -----------------------------------------------------------

async def test_a_finished_leg_is_indexed_with_call_agent_caller_and_customer(db: Database, tmp_path: Path) -> None:
    settings = Settings().replace(
        recordings={"dir": str(tmp_path / "rec"), "settle_timeout": 2.0},
        hotline={"agent_interface": "PJSIP/{extension}",
                 "queues": (QueueSettings("support"), QueueSettings("quiet", record=False))},
    )
    customers = CustomerRepository(db)
    customer = await customers.create("张伟", "13800138000")
    calls = CallTracker(lambda: T0)
    calls.handle(ChannelCreated(T0, "c.1", "c.1", "PJSIP/trunk-1", "13800138000", "张伟", "hotline", "4008", "Up"))
    calls.handle(QueueCallerJoined(T0, "c.1", "c.1", "PJSIP/trunk-1", "support", 1))
    index = RecordingRepository(db)
    service = RecordingService(settings, calls, index, customers, lambda: T0 + 1)
    indexed = []
    service.on_indexed = indexed.append

    recording = service.begin("a.1", "PJSIP/1001-00000001", "c.1")
    assert recording is not None and recording.agent == "1001" and recording.queue == "support"
    assert service.begin("a.2", "PJSIP/1002-00000002", "unknown-call") is not None  # not from a queue: recorded
    write_wav(service.directory / str(recording.relative), 3.0, 5000)
    service.on_event(ChannelHungUp(T0 + 4, "a.1", "c.1", "PJSIP/1001-00000001", 16, "Normal Clearing"))
    await service.stop()

    [row] = indexed
    assert (row.call_id, row.agent, row.caller_number, row.caller_name) == ("c.1", "1001", "13800138000", "张伟")
    assert row.customer_id == customer.id and row.queue == "support"
    assert row.flag is None and row.duration == 3.0 and row.format == "wav" and row.size > 0
    assert [r.id for r in await index.find(RecordingFilter(caller="3800138"))] == [recording.id]
    for form in ("13800138000", "138-0013-8000", "+86 138 0013 8000", "(138) 0013 8000", "张伟", "伟"):
        assert [r.id for r in await index.find(RecordingFilter(caller=form))] == [recording.id], form
    for other in ("13900139000", "139-0013-9000", "李四"):
        assert await index.find(RecordingFilter(caller=other)) == [], other
    assert await index.find(RecordingFilter(agent="1002")) == []

    calls.handle(QueueCallerJoined(T0, "c.1", "c.1", "PJSIP/trunk-1", "quiet", 1))
    assert service.begin("a.3", "PJSIP/1003-00000003", "c.1") is None, "a queue that does not record"


async def test_a_leg_split_after_a_transfer_gives_two_recordings_of_one_call(db: Database, tmp_path: Path) -> None:
    """After an attended transfer the new agent's recording is split (ctiserver.recordings.
    transfer): the first part is indexed at once, the next one when the leg ends."""
    settings = Settings().replace(recordings={"dir": str(tmp_path / "rec"), "settle_timeout": 2.0},
                                  hotline={"agent_interface": "PJSIP/{extension}"})
    calls = CallTracker(lambda: T0)
    calls.handle(ChannelCreated(T0, "c.1", "c.1", "PJSIP/trunk-1", "13800138000", "张伟", "hotline", "4008", "Up"))
    clock = [T0 + 1]
    service = RecordingService(settings, calls, RecordingRepository(db), CustomerRepository(db), lambda: clock[0])
    indexed = []
    service.on_indexed = indexed.append
    first = service.begin("a.2", "PJSIP/1002-00000002", "c.1")
    assert first is not None and service.under_way("c.1") == [first] and service.under_way("c.2") == []
    write_wav(service.directory / str(first.relative), 1.0, 5000)
    clock[0] = T0 + 2
    assert service.set_paused("a.2", True) is first
    following = service.split(first)
    assert following is not None and following.id != first.id and following.paused, "the pause carries over"
    assert (following.call_id, following.leg_uniqueid, following.agent) == ("c.1", "a.2", "1002")
    assert service.recording_of("a.2") is following and service.split(first) is None
    assert service.under_way("c.1") == [following]
    await service.stop()
    assert [row.id for row in indexed] == [first.id], "the first part is indexed as it stands"
    assert service.under_way("c.1") == [following], "indexing the first part leaves the next one be"

    service.abandon(following)  # its MixMonitor never started
    assert service.under_way("c.1") == [] and service.recording_of("a.2") is None
    service.on_event(ChannelHungUp(T0 + 4, "a.2", "c.1", "PJSIP/1002-00000002", 16, "Normal Clearing"))
    await service.stop()
    assert len(indexed) == 1


# --- the API ------------------------------------------------------------------

@pytest_asyncio.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[CtiServer, TestServer]]:
    settings = Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
        recordings={"dir": str(tmp_path / "rec")},
    )
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)
    users = UserRepository(cti.db)
    await users.add("supervisor", PASSWORD, "supervisor")
    async with cti.db.session() as session:
        for extension in ("1001", "1002"):
            user = await users.add(f"agent{extension}", PASSWORD, "agent")
            session.add(AgentRow(extension=extension, name=f"Agent {extension}", user_id=user.id))
        await session.commit()
    server = TestServer(cti.web_app)
    await server.start_server()
    yield cti, server
    await server.close()
    await cti.db.close()


async def as_user(server: TestServer, username: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    login = await http.post(server.make_url("/login"), json={"username": username, "password": PASSWORD})
    assert login.status == 200
    return http


async def indexed_recording(cti: CtiServer, agent: str, *, amplitude: int = 5000) -> str:
    service = cti.recordings
    recording = service.begin(new_id(), f"PJSIP/{agent}-0000000{agent[-1]}", "c.1")
    assert recording is not None
    write_wav(service.directory / str(recording.relative), 1.0, amplitude)
    service.on_event(ChannelHungUp(cti.core.clock(), recording.leg_uniqueid, "c.1", recording.channel, 16, None))
    await service.stop()
    return recording.id


async def test_range_ownership_and_traversal(api: tuple[CtiServer, TestServer]) -> None:
    cti, server = api
    mine = await indexed_recording(cti, "1001")
    silent = await indexed_recording(cti, "1001", amplitude=0)
    supervisor, agent1, agent2 = [await as_user(server, u) for u in ("supervisor", "agent1001", "agent1002")]
    try:
        content = (cti.recordings.directory / (await cti.recordings._index.get(mine)).path).read_bytes()  # type: ignore[union-attr]
        audio = server.make_url(f"/api/recordings/{mine}/audio")
        async with supervisor.get(audio, headers={"Range": "bytes=44-143"}) as part:
            assert part.status == 206 and await part.read() == content[44:144]
        async with supervisor.get(audio, params={"download": "1"}) as whole:
            assert whole.status == 200 and "attachment" in whole.headers["Content-Disposition"]
            assert await whole.read() == content
        async with agent1.get(audio) as response:
            assert response.status == 200
        async with agent2.get(audio) as response:
            assert response.status == 403
        async with agent2.get(server.make_url("/api/recordings")) as response:
            assert (await response.json())["recordings"] == []
        async with agent1.get(server.make_url("/api/recordings")) as response:
            listed = (await response.json())["recordings"]
            assert {r["id"]: r["playable"] for r in listed} == {mine: True, silent: False}
        async with supervisor.get(server.make_url(f"/api/recordings/{silent}/audio")) as response:
            assert response.status == 404, "a silent recording is never served"
        for raw in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..", "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
                    "....%2F%2Fetc%2Fpasswd", mine.upper(), "0" * 32):
            url = URL(str(server.make_url("/")).rstrip("/") + f"/api/recordings/{raw}/audio", encoded=True)
            async with supervisor.get(url) as response:
                assert response.status == 404, raw
                assert b"root:" not in await response.read()
        hold_url = server.make_url(f"/api/recordings/{mine}/hold")
        async with supervisor.post(hold_url, json={"hold": True}) as response:
            assert response.status == 200 and (await response.json())["hold"] is True
        async with agent1.post(hold_url, json={"hold": False}) as response:
            assert response.status == 403
        async with supervisor.post(server.make_url(f"/api/recordings/{'f' * 32}/hold"), json={"hold": True}) as response:
            assert response.status == 404
    finally:
        for http in (supervisor, agent1, agent2):
            await http.close()


async def test_agents_hear_none_when_so_set(tmp_path: Path) -> None:
    settings = Settings().replace(
        database={"url": f"sqlite+aiosqlite:///{tmp_path}/cti.sqlite3"},
        recordings={"dir": str(tmp_path / "rec"), "agents": "none"},
    )
    await upgrade_schema(settings.database.url)
    cti = CtiServer(settings)
    users = UserRepository(cti.db)
    user = await users.add("agent1001", PASSWORD, "agent")
    async with cti.db.session() as session:
        session.add(AgentRow(extension="1001", name="Agent 1001", user_id=user.id))
        await session.commit()
    server = TestServer(cti.web_app)
    await server.start_server()
    try:
        mine = await indexed_recording(cti, "1001")
        http = await as_user(server, "agent1001")
        try:
            async with http.get(server.make_url(f"/api/recordings/{mine}/audio")) as response:
                assert response.status == 403
            async with http.get(server.make_url("/api/recordings")) as response:
                assert response.status == 403
        finally:
            await http.close()
    finally:
        await server.close()
        await cti.db.close()


async def test_reconcile_reads_the_directory_and_the_index(db: Database, tmp_path: Path) -> None:
    root = tmp_path / "rec"
    orphan = new_id()
    write_wav(root / f"2025/12/01/{orphan}.wav", 0.1, 100)
    result = await reconcile_directory(db, root)
    assert result.orphans == [f"2025/12/01/{orphan}.wav"] and result.lost == []


# --- retention ----------------------------------------------------------------

def test_what_the_purge_may_take() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=5)
    rule = {"now": now, "retention_days": 30, "flag": None, "hold": False, "open_complaint": False}
    assert purgeable(started_at=old, **rule)  # type: ignore[arg-type]
    assert not purgeable(started_at=recent, **rule)  # type: ignore[arg-type]
    assert not purgeable(started_at=old, **{**rule, "hold": True})  # type: ignore[arg-type]
    assert not purgeable(started_at=old, **{**rule, "open_complaint": True})  # type: ignore[arg-type]
    assert not purgeable(started_at=old, **{**rule, "flag": "deleted"})  # type: ignore[arg-type]
    assert not purgeable(started_at=old, **{**rule, "retention_days": 0})  # type: ignore[arg-type]


async def test_purge_deletes_what_is_old_and_keeps_what_an_open_complaint_or_a_hold_holds(
    db: Database, tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    index = RecordingRepository(db)
    day = 86400.0
    now = T0 + 100 * day
    made: dict[str, str] = {}
    for name, age, call in (("old", 40, "c-old"), ("held", 40, "c-held"), ("complaint", 40, "c-open"),
                            ("closed", 40, "c-closed"), ("recent", 5, "c-recent")):
        rid = new_id()
        started = now - age * day
        relative = relative_path(rid, started)
        write_wav(root / str(relative), 0.5, 3000)
        await index.add(RecordingRow(
            id=rid, call_id=call, leg_uniqueid=f"{name}.1", caller_number="13800138000", caller_name=None,
            agent="1001", agent_interface="PJSIP/1001", queue="complaint", customer_id=None,
            started_at=dt.datetime.fromtimestamp(started, dt.UTC),
            ended_at=dt.datetime.fromtimestamp(started + 60, dt.UTC), duration=60.0, size=1, format="wav",
            checksum=None, path=str(relative), flag=None, hold=name == "held",
        ))
        made[name] = rid
    async with db.session() as session:
        for number, status, call in (("C1", "in_progress", "c-open"), ("C2", "closed", "c-closed")):
            session.add(Ticket(number=number, type="complaint", status=status, department="complaint",
                               summary="noisy fridge", fields={}, call_linkedid=call, source="agent"))
        await session.commit()

    dry = await purge(db, root, retention_days=30, now=now, dry_run=True)
    assert sorted(d[0] for d in dry.deleted) == sorted([made["old"], made["closed"]])
    assert sorted(dry.kept) == sorted([made["held"], made["complaint"]])
    assert len(date_tree(root)) == 5, "a dry run deletes nothing"

    done = await purge(db, root, retention_days=30, now=now, dry_run=False)
    assert [d[0] for d in done.deleted] == [d[0] for d in dry.deleted]
    left = {id_of_file(f) for f in date_tree(root)}
    assert left == {made["held"], made["complaint"], made["recent"]}
    for name in ("old", "closed"):
        row = await index.get(made[name])
        assert row is not None and row.flag == "deleted", "the row stays, marked deleted"
    assert (await purge(db, root, retention_days=30, now=now, dry_run=False)).deleted == []
    assert (await reconcile_directory(db, root)).lost == [], "deleted rows are not missing files"


# --- live monitoring ----------------------------------------------------------

def test_chanspy_arguments_are_quiet_and_only_for_safe_channel_names() -> None:
    assert chanspy_data("Local/1001@lab-agents-00000003;1", "listen") == "Local/1001@lab-agents-00000003;1,qE"
    assert chanspy_data("PJSIP/1001-0000000a", "whisper") == "PJSIP/1001-0000000a,qwE"
    assert chanspy_data("PJSIP/1001-0000000a", "barge") == "PJSIP/1001-0000000a,qBE"
    for hostile in ("PJSIP/1001,x(System(rm -rf /))", "PJSIP/1001)", "PJSIP/a b", "", "PJSIP/1001|x"):
        with pytest.raises(ValueError):
            chanspy_data(hostile, "listen")
    with pytest.raises(ValueError):
        chanspy_data("PJSIP/1001-0000000a", "shout")


# --- pausing ------------------------------------------------------------------

def test_gaps_are_marked_from_the_recording_start_and_blanked_with_a_margin(tmp_path: Path) -> None:
    recording = Recording(
        id=new_id(), call_id="c", leg_uniqueid="a", channel="PJSIP/1001-1", started_at=T0,
        relative=relative_path(new_id(), T0), agent="1001", agent_interface="PJSIP/1001", queue=None,
        caller_number=None, caller_name=None,
    )
    assert recording.pause(T0 + 2) and not recording.pause(T0 + 2.5) and recording.paused
    assert recording.resume(T0 + 5) and not recording.resume(T0 + 6) and not recording.paused
    assert recording.pause(T0 + 8)
    assert recording.gaps == [[2.0, 5.0], [8.0, None]]
    assert blanked_frames(recording.gaps, 8000, 80000) == [(int(1.7 * 8000), int(5.3 * 8000)), (int(7.7 * 8000), 80000)]

    path = tmp_path / "x.wav"
    write_wav(path, 10.0, 5000)
    assert blank_gaps(path, [[2.0, 5.0]]) == int(5.3 * 8000) - int(1.7 * 8000)
    with wave.open(str(path), "rb") as wav:
        frames = wav.readframes(wav.getnframes())
    assert pcm_rms(frames[2 * 16000:2 * 40000]) == 0.0
    assert pcm_rms(frames[: 2 * 12000]) > 1000 and pcm_rms(frames[2 * 44000:]) > 1000
    assert examine(path).duration == 10.0, "the file stays whole and valid"


async def test_searching_by_a_customers_name_or_number_keeps_to_what_the_viewer_may_hear(
    api: tuple[CtiServer, TestServer],
) -> None:
    cti, server = api
    customer = await CustomerRepository(cti.db).create("王芳", "13500001111")
    now = dt.datetime.now(dt.UTC)
    index = RecordingRepository(cti.db)
    ids = {}
    for agent, caller in (("1001", "+8613500001111"), ("1002", "13500001111")):
        rid = ids[agent] = new_id()
        await index.add(RecordingRow(
            id=rid, call_id=f"c-{agent}", leg_uniqueid=f"{agent}.1", caller_number=caller, caller_name=None,
            agent=agent, agent_interface=f"PJSIP/{agent}", queue="support", customer_id=customer.id,
            started_at=now, ended_at=now, duration=60.0, size=1, format="wav", checksum=None,
            path=f"x/{rid}.wav", flag=None, hold=False,
        ))
    supervisor, agent1 = [await as_user(server, u) for u in ("supervisor", "agent1001")]
    try:
        for caller in ("王芳", "135-0000-1111", "+86 135 0000 1111"):
            async with supervisor.get(server.make_url("/api/recordings"), params={"caller": caller}) as response:
                assert {r["id"] for r in (await response.json())["recordings"]} == set(ids.values()), caller
            async with agent1.get(server.make_url("/api/recordings"), params={"caller": caller}) as response:
                assert [r["id"] for r in (await response.json())["recordings"]] == [ids["1001"]], caller
    finally:
        for http in (supervisor, agent1):
            await http.close()
