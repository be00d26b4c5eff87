"""Recording every answered queue call and transfer leg, and indexing each file once done.

When an agent's leg answers (a queue call, or a call transferred to the agent), the
dialplan's ``[cti-record]`` asks this service over FastAGI (``record``) whether to record
it; if so the service makes the recording's id and its file, ``YYYY/MM/DD/<id>.wav``
under the recordings directory, and the dialplan starts MixMonitor on that leg. When the
leg hangs up Asterisk finishes the file; once its size stops changing it is examined
(duration, checksum, sound or silence) and indexed. A transfer gives one recording per
agent's leg, all under the call's Linkedid; after an attended transfer the new agent's
recording is split in two (``split``: ctiserver.recordings.transfer says why and how).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path, PurePosixPath
from typing import Any

from ctiserver.calls.model import CallTracker
from ctiserver.customers import CustomerRepository
from ctiserver.recordings.files import FileFacts, blank_gaps, examine, size_of
from ctiserver.recordings.model import FORMAT, Recording, extension_of, new_id, relative_path
from ctiserver.recordings.store import RecordingRepository
from ctiserver.recordings.tables import RecordingRow
from ctiserver.settings import Settings
from ctiserver.storage.base import from_epoch
from ctiserver.telephony.agi.session import AgiSession
from ctiserver.telephony.events import ChannelHungUp, DomainEvent

log = logging.getLogger(__name__)

SETTLE_STEP = 0.25


class RecordingService:
    def __init__(
        self,
        settings: Settings,
        calls: CallTracker,
        index: RecordingRepository,
        customers: CustomerRepository,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._calls = calls
        self._index = index
        self._customers = customers
        self._clock = clock
        self.directory = Path(settings.recordings.dir).resolve()
        self._asterisk_dir = settings.recordings.asterisk_dir or str(self.directory)
        self._recorded_queues = {q.name for q in settings.hotline.queues if q.record}
        self._known_queues = {q.name for q in settings.hotline.queues}
        #: agent's leg Uniqueid -> its recording under way
        self._legs: dict[str, Recording] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: told each recording once indexed (tests, benchmarks)
        self.on_indexed: Callable[[RecordingRow], None] | None = None

    def recording_of(self, leg_uniqueid: str) -> Recording | None:
        return self._legs.get(leg_uniqueid)

    def under_way(self, call_id: str) -> list[Recording]:
        """The call's recordings still being made or indexed (the legs not yet indexed)."""
        return [r for r in self._legs.values() if r.call_id == call_id]

    def split(self, recording: Recording) -> Recording | None:
        """End ``recording`` now (its MixMonitor stopped: it is indexed as it stands) and
        begin the next of the same leg, in a new file under the same call; None if the leg
        has ended meanwhile. A paused recording's pause carries over to the next."""
        if self._legs.get(recording.leg_uniqueid) is not recording or recording.ended_at is not None:
            return None
        paused = recording.paused
        recording.ended_at = self._clock()
        self._legs.pop(recording.leg_uniqueid)
        self._spawn(self._finish(recording))
        following = self.begin(recording.leg_uniqueid, recording.channel, recording.call_id)
        if following is not None and paused:
            following.pause(following.started_at)
        return following

    def should_record(self, queue: str | None) -> bool:
        """Queues say (``record``, on by default); a call that never queued (a transfer from
        outside the queues) is recorded as well, unless no queue records."""
        if queue in self._known_queues:
            return queue in self._recorded_queues
        return bool(self._recorded_queues)

    async def agi_record(self, session: AgiSession) -> None:
        """FastAGI ``record``, on the agent's leg: set CTI_REC_FILE to the file to record
        into, or leave it empty."""
        uniqueid, channel = session.uniqueid, session.channel
        linkedid = session.linkedid or await session.get_variable("CHANNEL(linkedid)")
        if not uniqueid or not channel or not linkedid or uniqueid in self._legs:
            return
        recording = self.begin(uniqueid, channel, linkedid)
        if recording is None:
            return
        await session.set_variable("CTI_REC_FILE", self.asterisk_file(recording.relative))
        log.info("recording %s: call %s, agent %s", recording.id, recording.call_id, recording.agent)

    def begin(self, uniqueid: str, channel: str, linkedid: str) -> Recording | None:
        """A recording of the agent's leg ``uniqueid``, if its call's queue records."""
        call = self._calls.get(linkedid)
        queue = call.queue if call is not None else None
        if not self.should_record(queue):
            return None
        now = self._clock()
        rid = new_id()
        pattern = self._settings.hotline.agent_interface
        extension = extension_of(channel, pattern)
        recording = Recording(
            id=rid, call_id=linkedid, leg_uniqueid=uniqueid, channel=channel,
            started_at=now, relative=relative_path(rid, now), agent=extension,
            agent_interface=pattern.replace("{extension}", extension) if extension else channel,
            queue=queue,
            caller_number=call.caller_number if call is not None else None,
            caller_name=call.caller_name if call is not None else None,
        )
        self._legs[uniqueid] = recording
        return recording

    def abandon(self, recording: Recording) -> None:
        """Forget a recording whose MixMonitor never started (no file will come)."""
        if self._legs.get(recording.leg_uniqueid) is recording:
            del self._legs[recording.leg_uniqueid]

    def on_event(self, event: DomainEvent) -> None:
        if isinstance(event, ChannelHungUp):
            recording = self._legs.get(event.uniqueid)
            if recording is not None and recording.ended_at is None:
                recording.ended_at = event.at
                self._spawn(self._finish(recording))

    def set_paused(self, leg_uniqueid: str, paused: bool) -> Recording | None:
        """Pause (or resume) the recording of an agent's leg: the gap is marked in the index and
        blanked in the file once the call ends. None if that leg is not being recorded."""
        recording = self._legs.get(leg_uniqueid)
        if recording is None or recording.ended_at is not None:
            return None
        now = self._clock()
        changed = recording.pause(now) if paused else recording.resume(now)
        if changed:
            log.info("recording %s %s at %.1f s", recording.id, "paused" if paused else "resumed",
                     now - recording.started_at)
        return recording

    async def stop(self) -> None:
        """Index what is finishing; a recording still under way is indexed by no one
        (``ctiserver recordings reconcile`` lists its file)."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self._settings.recordings.settle_timeout + 5)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def asterisk_file(self, relative: PurePosixPath) -> str:
        return f"{self._asterisk_dir.rstrip('/')}/{relative}"

    async def _settled(self, path: Path) -> None:
        """Until the file's size stops changing (Asterisk closes it just after the hangup)."""
        deadline = self._clock() + self._settings.recordings.settle_timeout
        last = -1
        while self._clock() < deadline:
            size = await asyncio.to_thread(size_of, path)
            if size > 0 and size == last:
                return
            last = size
            await asyncio.sleep(SETTLE_STEP)

    async def _finish(self, recording: Recording) -> None:
        try:
            path = self.directory / str(recording.relative)
            await self._settled(path)
            if recording.paused:  # still paused at hangup: the gap runs to the end
                recording.resume(recording.ended_at or self._clock())
            if recording.gaps:
                await asyncio.to_thread(blank_gaps, path, recording.gaps)
            facts = await asyncio.to_thread(examine, path)
            row = await self._row(recording, facts)
            await self._index.add(row)
            if self.on_indexed is not None:
                self.on_indexed(row)
            log.info("recording %s indexed: %.1f s, %s", row.id, row.duration, row.flag or "playable")
        except Exception:
            log.exception("recording %s: indexing failed", recording.id)
        finally:
            if self._legs.get(recording.leg_uniqueid) is recording:
                del self._legs[recording.leg_uniqueid]

    async def _row(self, recording: Recording, facts: FileFacts) -> RecordingRow:
        customer_id = None
        if recording.caller_number:
            found = await self._customers.find_by_phone(recording.caller_number)
            customer_id = found[0].id if found else None
        ended = recording.ended_at if recording.ended_at is not None else self._clock()
        return RecordingRow(
            id=recording.id, call_id=recording.call_id, leg_uniqueid=recording.leg_uniqueid,
            caller_number=recording.caller_number, caller_name=recording.caller_name,
            agent=recording.agent, agent_interface=recording.agent_interface, queue=recording.queue,
            customer_id=customer_id, started_at=from_epoch(recording.started_at), ended_at=from_epoch(ended),
            duration=facts.duration, size=facts.size, format=FORMAT, checksum=facts.checksum,
            path=str(recording.relative), flag=None if facts.flag is None else facts.flag.value,
            hold=False, gaps=[list(gap) for gap in recording.gaps] or None,
        )
