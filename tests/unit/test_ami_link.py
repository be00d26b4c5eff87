"""AmiLink against a fake AMI server that replays recorded Asterisk 22 transcripts."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from panoramisk.message import Message

from ctiserver.settings import AmiSettings
from ctiserver.telephony.ami.framing import FrameSplitter
from ctiserver.telephony.ami.link import (
    AmiActionFailed,
    AmiLink,
    AmiLinkLost,
    AmiNotConnected,
    AmiTimeout,
)

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "transcripts" / "ami"
LOGGER = "ctiserver.telephony.ami.link"
DROP = "<drop the connection>"
SECRET = "s3cret-not-for-logs"

Reply = Sequence[str] | str | None
Rule = Reply | Callable[[dict[str, str], int], Reply]


def transcript(name: str, action_id: str = "") -> bytes:
    return (TRANSCRIPTS / f"{name}.ami").read_bytes().replace(b"${ActionID}", action_id.encode())


def transcript_events(name: str) -> list[Message]:
    return FrameSplitter().feed(b"Asterisk Call Manager/11.0.0\r\n" + transcript(name))


class FakeAmi:
    """Greets, then answers each action by its name with transcripts, per ``rules``.

    A rule is a list of transcript names, DROP, None (stay silent), or a function
    of (action fields, connection number starting at 1) returning one of those.
    """

    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {
            "Login": ["login_accepted", "fully_booted"],
            "Ping": ["ping"],
        }
        self.actions: list[tuple[int, dict[str, str]]] = []
        self.raw = bytearray()
        self.connect_times: list[float] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    @property
    def connections(self) -> int:
        return len(self.connect_times)

    def received(self, action: str, connection: int | None = None) -> list[dict[str, str]]:
        return [
            f for n, f in self.actions
            if f.get("Action") == action and connection in (None, n)
        ]

    async def push(self, *names: str) -> None:
        """Send transcripts unprompted (events) on the newest connection."""
        writer = self.writers[-1]
        for name in names:
            writer.write(transcript(name))
        await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connect_times.append(time.monotonic())
        self.writers.append(writer)
        number = len(self.connect_times)
        writer.write(transcript("greeting"))
        buffer = b""
        try:
            while data := await reader.read(4096):
                self.raw += data
                buffer += data
                while b"\r\n\r\n" in buffer:
                    frame, buffer = buffer.split(b"\r\n\r\n", 1)
                    fields = dict(line.split(": ", 1) for line in frame.decode().split("\r\n"))
                    self.actions.append((number, fields))
                    rule = self.rules.get(fields["Action"])
                    reply = rule(fields, number) if callable(rule) else rule
                    if reply == DROP:
                        return
                    for name in reply or ():
                        writer.write(transcript(name, fields["ActionID"]))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def settings(port: int, **changes: float) -> AmiSettings:
    values: dict[str, float] = {
        "ping_interval": 30.0,
        "ping_timeout": 1.0,
        "reconnect_min": 0.05,
        "reconnect_max": 0.2,
        "connect_timeout": 1.0,
        "action_timeout": 1.0,
    }
    values.update(changes)
    return AmiSettings(host="127.0.0.1", port=port, username="ctiserver", secret=SECRET, **values)


async def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def links() -> AsyncIterator[Callable[[AmiSettings], AmiLink]]:
    made: list[AmiLink] = []

    def make(s: AmiSettings) -> AmiLink:
        made.append(AmiLink(s))
        return made[-1]

    yield make
    for link in made:
        await link.stop()


def link_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == level]


def retry_delays(records: list[logging.LogRecord]) -> list[float]:
    return [float(re.search(r"retrying in ([\d.]+)s", r.getMessage()).group(1)) for r in records]


async def test_login_then_ready_then_events_in_order(fake: FakeAmi, links) -> None:
    link = links(settings(fake.port))
    seen: list[str | Message] = []
    link.on_event(seen.append)
    link.on_ready(lambda: seen.append("READY"))
    before = time.time()
    await link.start()
    await link.wait_ready(2)
    assert link.connected
    (login,) = fake.received("Login")
    assert login["Username"] == "ctiserver" and login["Secret"] == SECRET
    assert login["Events"] == "on" and login["ActionID"]

    await fake.push("calls_begin")
    expected = transcript_events("calls_begin")
    await wait_until(lambda: len(seen) == 2 + len(expected))
    assert seen[0].event == "FullyBooted" and seen[1] == "READY"
    delivered = seen[2:]
    assert [(m.event, m.uniqueid) for m in delivered] == [(m.event, m.uniqueid) for m in expected]
    assert "刘洋" in [m.get("CallerIDName") for m in delivered]
    assert all(before <= m.received_at <= time.time() for m in delivered)


async def test_an_action_only_session_asks_for_system_events_alone(fake: FakeAmi, links) -> None:
    """The lab's phones: Asterisk then sends them FullyBooted, not every call's events."""
    link = links(dataclasses.replace(settings(fake.port), events="system"))
    await link.start()
    await link.wait_ready(2)
    (login,) = fake.received("Login")
    assert login["Events"] == "system"


async def test_ready_waits_for_fully_booted(fake: FakeAmi, links) -> None:
    fake.rules["Login"] = ["login_accepted"]
    link = links(settings(fake.port))
    await link.start()
    await wait_until(lambda: fake.received("Login"))
    with pytest.raises(AmiTimeout):
        await link.wait_ready(0.2)
    assert not link.connected
    with pytest.raises(AmiNotConnected):
        await link.send_action({"Action": "Ping"})
    await fake.push("fully_booted")
    await link.wait_ready(1)
    assert link.connected and fake.connections == 1


async def test_handler_exception_is_isolated(fake: FakeAmi, links, caplog) -> None:
    link = links(settings(fake.port))
    got: list[str] = []
    ready: list[str] = []

    def broken(message: Message) -> None:
        if message.event == "Newchannel":
            raise RuntimeError("handler bug")

    async def broken_ready() -> None:
        raise RuntimeError("resync bug")

    link.on_event(broken)
    link.on_event(lambda m: got.append(m.event))
    link.on_ready(broken_ready)
    link.on_ready(lambda: ready.append("ok"))
    await link.start()
    await link.wait_ready(2)
    await fake.push("calls_begin")
    expected = [m.event for m in transcript_events("calls_begin")]
    await wait_until(lambda: len(got) == 1 + len(expected))
    assert got == ["FullyBooted", *expected] and ready == ["ok"]
    errors = link_records(caplog, logging.ERROR)
    assert len(errors) == 1 + expected.count("Newchannel")
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in errors)
    assert link.connected


async def test_async_handlers_are_awaited_in_order(fake: FakeAmi, links) -> None:
    link = links(settings(fake.port))
    trace: list[str] = []

    async def slow(message: Message) -> None:
        trace.append(f"start {message.uniqueid}")
        await asyncio.sleep(0.02 if len(trace) % 3 == 0 else 0)
        trace.append(f"end {message.uniqueid}")

    link.on_event(slow)
    link.on_event(lambda m: trace.append(f"next {m.uniqueid}"))
    await link.start()
    await link.wait_ready(2)
    trace.clear()
    await fake.push("calls_begin")
    expected = transcript_events("calls_begin")[:12]
    await wait_until(lambda: len(trace) >= 3 * len(expected))
    want = []
    for m in expected:
        want += [f"start {m.uniqueid}", f"end {m.uniqueid}", f"next {m.uniqueid}"]
    assert trace[: len(want)] == want


async def test_resync_on_ready_runs_before_events_received_meanwhile(fake: FakeAmi, links) -> None:
    fake.rules["CoreShowChannels"] = ["calls_begin", "core_show_channels"]
    link = links(settings(fake.port))
    trace: list[str] = []

    async def resync() -> None:
        listing = await link.send_list_action({"Action": "CoreShowChannels"})
        trace.append(f"resync {len(listing)}")

    link.on_ready(resync)
    link.on_event(lambda m: trace.append(m.event))
    await link.start()
    expected = [m.event for m in transcript_events("calls_begin")]
    await wait_until(lambda: len(trace) == 2 + len(expected))
    assert trace == ["FullyBooted", "resync 4", *expected]
    assert "CoreShowChannel" not in trace


async def test_send_list_action_collects_core_show_channels(fake: FakeAmi, links) -> None:
    fake.rules["CoreShowChannels"] = ["core_show_channels"]
    link = links(settings(fake.port))
    events: list[Message] = []
    link.on_event(events.append)
    await link.start()
    await link.wait_ready(2)
    listing = await link.send_list_action({"Action": "CoreShowChannels"})
    (sent,) = fake.received("CoreShowChannels")
    assert [m.response or m.event for m in listing] == [
        "Success", "CoreShowChannel", "CoreShowChannel", "CoreShowChannelsComplete",
    ]
    assert all(m.actionid == sent["ActionID"] for m in listing)
    assert listing[1]["CallerIDName"] == "刘洋" and listing[2]["Application"] == "Playback"
    assert listing[-1]["ListItems"] == "2"
    assert [m.event for m in events] == ["FullyBooted"]


async def test_error_response_raises_action_failed(fake: FakeAmi, links) -> None:
    fake.rules["Originate"] = ["originate_failed"]
    fake.rules["QueueStatus"] = ["originate_failed"]
    link = links(settings(fake.port))
    await link.start()
    await link.wait_ready(2)
    with pytest.raises(AmiActionFailed) as failed:
        await link.send_action({"Action": "Originate", "Channel": "Local/s@caller"})
    assert failed.value.response["Message"] == "Originate failed"
    with pytest.raises(AmiActionFailed):
        await link.send_list_action({"Action": "QueueStatus"}, timeout=1)
    assert link.connected


async def test_wrong_secret_logs_one_error_per_attempt_and_backs_off(fake: FakeAmi, links, caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    fake.rules["Login"] = ["login_failed"]
    link = links(settings(fake.port))
    await link.start()
    await wait_until(lambda: fake.connections >= 5, timeout=3)
    assert not link.connected
    errors = link_records(caplog, logging.ERROR)
    assert len(errors) >= 4
    for record in errors:
        text = record.getMessage()
        assert f"127.0.0.1:{fake.port}" in text and "'ctiserver'" in text
        assert "Authentication failed" in text and record.exc_info is None
    assert retry_delays(errors)[:4] == [0.05, 0.1, 0.2, 0.2]
    gaps = [b - a for a, b in zip(fake.connect_times, fake.connect_times[1:])]
    assert all(gap >= 0.9 * want for gap, want in zip(gaps, [0.05, 0.1, 0.2, 0.2]))
    assert not any(SECRET in r.getMessage() for r in caplog.records)


async def test_unreachable_port_logs_warning_retries_then_connects(links, caplog) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    link = links(settings(port))
    await link.start()
    await wait_until(lambda: len(link_records(caplog, logging.WARNING)) >= 3)
    warnings = link_records(caplog, logging.WARNING)
    assert all(f"127.0.0.1:{port} unreachable" in r.getMessage() for r in warnings)
    assert all(r.exc_info is None for r in warnings)
    assert retry_delays(warnings)[:3] == [0.05, 0.1, 0.2]
    assert not link.connected and not link_records(caplog, logging.ERROR)

    server = FakeAmi()
    await server.start(port)
    try:
        await link.wait_ready(2)
        assert link.connected and server.connections == 1
    finally:
        await link.stop()
        await server.close()


async def test_silent_peer_is_detected_and_link_reconnects(fake: FakeAmi, links, caplog) -> None:
    fake.rules["Ping"] = lambda fields, connection: None if connection == 1 else ["ping"]
    link = links(settings(fake.port, ping_interval=0.2, ping_timeout=0.2))
    marks: list[tuple[str, float]] = []
    link.on_ready(lambda: marks.append(("ready", time.monotonic())))
    link.on_lost(lambda: marks.append(("lost", time.monotonic())))
    await link.start()
    await wait_until(lambda: len(marks) >= 3, timeout=3)
    (_, ready1), (_, lost), (_, ready2) = marks[:3]
    assert [kind for kind, _ in marks[:3]] == ["ready", "lost", "ready"]
    assert 0.2 <= lost - ready1 <= 0.4 + 0.1
    assert fake.connections == 2 and link.connected
    assert any("Ping" in r.getMessage() for r in link_records(caplog, logging.WARNING))
    await wait_until(lambda: len(fake.received("Ping", connection=2)) >= 2, timeout=2)
    assert fake.connections == 2 and link.connected


async def test_action_lost_with_link_is_never_sent_again(fake: FakeAmi, links) -> None:
    fake.rules["Originate"] = lambda fields, connection: DROP if connection == 1 else ["originate_failed"]
    link = links(settings(fake.port, ping_interval=0.05))
    lost: list[bool] = []
    link.on_lost(lambda: lost.append(True))
    await link.start()
    await link.wait_ready(2)
    originate = {"Action": "Originate", "Channel": "Local/s@caller", "Exten": "s", "Async": "true"}
    with pytest.raises(AmiLinkLost):
        await link.send_action(originate)
    assert not link.connected
    with pytest.raises(AmiNotConnected):
        await link.send_action(originate)
    await link.wait_ready(2)
    await wait_until(lambda: len(fake.received("Ping", connection=2)) >= 3)
    assert fake.connections == 2 and lost == [True]
    assert len(fake.received("Originate")) == 1
    assert fake.raw.count(b"Action: Originate") == 1


async def test_cr_lf_injection_is_rejected_before_writing(fake: FakeAmi, links) -> None:
    link = links(settings(fake.port))
    evil = '"x" <1>\r\nAction: Originate\r\nChannel: Local/9009@pstn'
    with pytest.raises(ValueError):
        await link.send_action({"Action": "Originate", "CallerID": evil})
    await link.start()
    await link.wait_ready(2)
    for fields in (
        {"Action": "Originate", "CallerID": evil},
        {"Action": "Originate", "Variable": ["A=1", "B=2\nAction: Hangup"]},
        {"Action": "Originate", "X\r\nAction: Hangup": "1"},
        {"Action": "Ping\r\n"},
    ):
        with pytest.raises(ValueError):
            await link.send_action(fields)
    await link.send_action({"Action": "Ping"})
    assert [f["Action"] for _, f in fake.actions] == ["Login", "Ping"]
    assert b"9009" not in fake.raw and b"Hangup" not in fake.raw


async def test_malformed_frame_logs_one_warning_and_link_survives(fake: FakeAmi, links, caplog) -> None:
    link = links(settings(fake.port))
    events: list[Message] = []
    link.on_event(events.append)
    await link.start()
    await link.wait_ready(2)
    await fake.push("malformed", "calls_begin")
    await wait_until(lambda: len(events) == 2 + len(transcript_events("calls_begin")))
    warnings = link_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and "this is not AMI" in warnings[0].getMessage()
    assert events[1].event == "VarSet" and "\ufffd" in events[1]["Value"]
    assert link.connected


async def test_shutdown_event_drops_the_link(fake: FakeAmi, links) -> None:
    link = links(settings(fake.port))
    trace: list[str] = []
    link.on_event(lambda m: trace.append(m.event))
    link.on_lost(lambda: trace.append("LOST"))
    await link.start()
    await link.wait_ready(2)
    await fake.push("shutdown")
    await wait_until(lambda: "LOST" in trace)
    assert trace == ["FullyBooted", "Shutdown", "LOST"]
    await link.wait_ready(2)
    assert fake.connections == 2


async def test_timeout_leaves_link_up_and_stop_fails_pending(fake: FakeAmi, links) -> None:
    fake.rules["Originate"] = None
    link = links(settings(fake.port))
    await link.start()
    await link.wait_ready(2)
    with pytest.raises(AmiTimeout):
        await link.send_action({"Action": "Originate", "Channel": "Local/s@caller"}, timeout=0.05)
    assert link.connected
    assert (await link.send_action({"Action": "Ping"}))["Ping"] == "Pong"
    waiting = asyncio.create_task(link.send_action({"Action": "Originate", "Channel": "Local/s@caller"}))
    await wait_until(lambda: len(fake.received("Originate")) == 2)
    await link.stop()
    with pytest.raises(AmiLinkLost):
        await waiting
    assert not link.connected
