"""After an attended transfer the new agent's recording goes on on the caller's leg
(ctiserver.recordings.transfer): what is sent to Asterisk, from a real event's text."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from panoramisk.message import Message

from ctiserver.calls.model import CallTracker
from ctiserver.customers.store import CustomerRepository
from ctiserver.recordings.service import RecordingService
from ctiserver.recordings.store import RecordingRepository
from ctiserver.recordings.transfer import TransferRecording
from ctiserver.settings import Settings
from ctiserver.storage.database import Database
from ctiserver.telephony.ami.actions import AmiActionFailed
from ctiserver.telephony.ami.message import parse_message
from ctiserver.telephony.events import ChannelCreated, ChannelHungUp

T0 = 1_764_547_200.0
CALLER = "PJSIP/trunk-00000001"
FIRST, TARGET = "Local/1001@lab-agents-00000002;1", "Local/1002@lab-agents-00000005;1"
#: Asterisk 22's AttendedTransfer after 1001 consulted 1002 and hung up (abridged)
EVENT = "\r\n".join([
    "Event: AttendedTransfer", "Privilege: call,all", "Result: Success",
    f"OrigTransfererChannel: {FIRST}", "OrigTransfererUniqueid: a.1", "OrigTransfererLinkedid: c.1",
    f"SecondTransfererChannel: {FIRST}", "SecondTransfererUniqueid: a.1", "SecondTransfererLinkedid: c.1",
    f"TransfereeChannel: {CALLER}", "TransfereeUniqueid: c.1", "TransfereeLinkedid: c.1",
    "TransferTargetChannel: Local/1002@agent-phones-00000003;1", "TransferTargetUniqueid: x.1",
    "TransferTargetLinkedid: c.1", "DestType: Bridge", "IsExternal: No",
])


class FakeLink:
    """The AMI link as the transfer's recorder uses it: the actions sent, canned answers."""

    def __init__(self, refuse: str = "") -> None:
        self.sent: list[dict[str, str]] = []
        self.refuse = refuse

    async def send_action(self, fields: dict[str, str]) -> Message:
        self.sent.append(fields)
        if fields["Action"] == self.refuse:
            raise AmiActionFailed(Message({"Response": "Error", "Message": "Permission denied"}))
        return Message({"Response": "Success", "MixMonitorID": "0x7f00"})


def recorder(db: Database, tmp_path: Path, link: FakeLink) -> tuple[RecordingService, TransferRecording]:
    settings = Settings().replace(recordings={"dir": str(tmp_path / "rec"), "settle_timeout": 0.5},
                                  hotline={"agent_interface": "Local/{extension}@lab-agents/n"})
    calls = CallTracker(lambda: T0)
    calls.handle(ChannelCreated(T0, "c.1", "c.1", CALLER, "13800138000", "张伟", "hotline", "4008", "Up"))
    service = RecordingService(settings, calls, RecordingRepository(db), CustomerRepository(db), time.time)
    link_any: Any = link
    return service, TransferRecording(link_any, service)


async def test_the_new_agents_recording_goes_on_on_the_callers_leg(db: Database, tmp_path: Path) -> None:
    link = FakeLink()
    service, transfers = recorder(db, tmp_path, link)
    first, consulted = service.begin("a.1", FIRST, "c.1"), service.begin("a.2", TARGET, "c.1")
    assert first is not None and consulted is not None
    message = parse_message(EVENT)
    assert message is not None
    transfers.on_ami(message)
    await transfers.stop()

    following = service.recording_of("a.2")
    assert following is not None and following is not consulted and consulted.ended_at is not None
    assert (following.call_id, following.agent, following.channel) == ("c.1", "1002", TARGET)
    assert link.sent == [
        {"Action": "StopMixMonitor", "Channel": TARGET},
        {"Action": "MixMonitor", "Channel": CALLER, "File": service.asterisk_file(following.relative)},
    ], "the transferer's own leg (a.1) is left alone: it is ending"
    assert service.recording_of("a.1") is first

    # the new agent's leg ends: the MixMonitor on the caller's leg stops with it
    transfers.on_event(ChannelHungUp(T0 + 9, "a.2", "c.1", TARGET, 16, "Normal Clearing"))
    service.on_event(ChannelHungUp(T0 + 9, "a.2", "c.1", TARGET, 16, "Normal Clearing"))
    await transfers.stop()
    assert link.sent[-1] == {"Action": "StopMixMonitor", "Channel": CALLER, "MixMonitorID": "0x7f00"}
    await service.stop()


async def test_without_the_system_class_the_consultation_is_kept_and_nothing_dangles(
        db: Database, tmp_path: Path) -> None:
    link = FakeLink(refuse="MixMonitor")
    service, transfers = recorder(db, tmp_path, link)
    consulted = service.begin("a.2", TARGET, "c.1")
    assert consulted is not None
    indexed: list[str] = []
    service.on_indexed = lambda row: indexed.append(row.id)
    for text in (EVENT.replace("Result: Success", "Result: Fail"), EVENT):
        message = parse_message(text)
        assert message is not None
        transfers.on_ami(message)
    await transfers.stop()
    assert [a["Action"] for a in link.sent] == ["StopMixMonitor", "MixMonitor"], "a failed transfer moves nothing"
    # the leg is recorded no more (the caller's leg could not be), the consultation is indexed
    assert service.recording_of("a.2") is None and service.under_way("c.1") == []
    await asyncio.wait_for(service.stop(), 5)
    assert indexed == [consulted.id]
