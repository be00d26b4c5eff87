"""FastAGI server against raw TCP clients replaying Asterisk's side from transcripts."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctiserver.settings import AgiSettings
from ctiserver.telephony.agi.server import AgiServer, Route
from ctiserver.telephony.agi.session import AgiError, AgiHangup, AgiResult, AgiSession

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "transcripts" / "agi"
LOGGER = "ctiserver.telephony.agi.server"
#: generous bound for things that must happen "promptly"; real values are milliseconds
PROMPT = 2.0
#: seconds after which a hung test aborts the whole run
WATCHDOG = 30


@dataclass(frozen=True)
class Transcript:
    env: bytes
    steps: list[tuple[str, str]]

    @property
    def headers(self) -> dict[str, str]:
        lines = self.env.decode().split("\n")[:-2]
        return dict((k, v.removeprefix(" ")) for k, _, v in (line.partition(":") for line in lines))


def load(name: str) -> Transcript:
    env: list[str] = []
    steps: list[tuple[str, str]] = []
    lines = iter((TRANSCRIPTS / name).read_text(encoding="utf-8").split("\n"))
    for line in lines:
        if line.startswith("#"):
            continue
        if not line:
            break
        env.append(line)
    for line in lines:
        if not line or line.startswith("#"):
            continue
        kind, _, text = line.partition(" ")
        steps.append(({"Rx": "rx", "Tx": "tx", "--": "close"}[kind], text[3:]))
    return Transcript(("\n".join(env) + "\n\n").encode("utf-8"), steps)


def parse_args(line: str) -> list[str]:
    """``parse_args`` of Asterisk's res_agi.c, ported to check our quoting."""
    args: list[str] = []
    quoted = escaped = False
    whitespace = True
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                args.append("")
                whitespace = False
            continue
        if char in " \t" and not quoted and not escaped:
            whitespace = True
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            args.append("")
            whitespace = False
        args[-1] += char
        escaped = False
    return args


class Asterisk:
    """One raw TCP client playing Asterisk's side of a FastAGI connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        host, port = writer.get_extra_info("sockname")[:2]
        self.address = f"{host}:{port}"
        self.received: list[str] = []

    @classmethod
    async def connect(cls, port: int) -> Asterisk:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, data: bytes, *, dribble: bool = False) -> None:
        """With ``dribble`` each byte goes out alone; non-ASCII ones with a pause so they are read alone."""
        if not dribble:
            self.writer.write(data)
            await self.writer.drain()
            return
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in data:
            self.writer.write(bytes([byte]))
            await self.writer.drain()
            await asyncio.sleep(0.002 if byte > 0x7F else 0)

    async def play(self, transcript: Transcript, *, dribble: bool = False) -> None:
        await self.send(transcript.env, dribble=dribble)
        for kind, text in transcript.steps:
            if kind == "rx":
                line = await asyncio.wait_for(self.reader.readline(), PROMPT)
                assert line.decode("utf-8") == text + "\n", self.received
                self.received.append(text)
                args = parse_args(text)
                assert args and args[0].isupper(), text
            elif kind == "tx":
                try:
                    await self.send(text.encode("utf-8") + b"\n")
                except ConnectionError:
                    pass
            else:
                self.writer.close()
                return
        await self.expect_closed()

    async def expect_closed(self) -> float:
        """Wait for the server to close, asserting it sends nothing more; returns the wait."""
        started = time.monotonic()
        try:
            rest = await asyncio.wait_for(self.reader.read(), PROMPT)
        except ConnectionResetError:
            rest = b""
        assert rest == b"", rest
        self.writer.close()
        return time.monotonic() - started


@pytest.fixture(autouse=True)
def watchdog(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Abort the run with a traceback on stderr if a test hangs.

    A server loop that never yields (panoramisk's header loop on an early
    close) cannot be timed out from inside the event loop.
    """
    with capsys.disabled():
        stderr = os.dup(2)
    faulthandler.dump_traceback_later(WATCHDOG, exit=True, file=stderr)
    yield
    faulthandler.cancel_dump_traceback_later()
    os.close(stderr)


StartServer = Callable[..., Awaitable[AgiServer]]


@pytest.fixture
async def start_server() -> AsyncIterator[StartServer]:
    servers: list[AgiServer] = []

    async def start(routes: dict[str, Route], **settings: object) -> AgiServer:
        options: dict[str, object] = {"host": "127.0.0.1", "port": 0, "header_timeout": 5.0}
        options.update(settings)
        server = AgiServer(AgiSettings(**options))  # type: ignore[arg-type]
        for script, handler in routes.items():
            server.route(script, handler)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


def our_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == level]


async def until(condition: Callable[[], bool], within: float = PROMPT) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, "condition not reached in time"
        await asyncio.sleep(0.005)
    return time.monotonic() - started


@dataclass
class Seen:
    """What the hotline route saw of one call."""

    session: AgiSession
    values: dict[str, object]


def hotline_route(seen: list[Seen] | None = None) -> Route:
    """The route the full-session transcript expects; records what it got into ``seen``."""

    async def hotline(session: AgiSession) -> None:
        values: dict[str, object] = {}
        if seen is not None:
            seen.append(Seen(session, values))
        await session.answer()
        await session.set_variable("IVR_LANGUAGE", session.args[0])
        values["name"] = await session.get_variable("CALLERID(name)")
        values["ticket"] = await session.get_variable("IVR_TICKET")
        await session.verbose(f"hotline call from {session.caller_number}")
        values["stream"] = await session.stream_file("custom/welcome", "12")
        values["digits"] = [
            await session.get_data("custom/menu", 5000, 2),
            await session.get_data("custom/menu", 5000, 2),
        ]
        values["queue"] = await session.exec("Queue", "support", "t", "", "", "300")

    return hotline


async def test_full_session(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    sessions: list[Seen] = []
    server = await start_server({"hotline": hotline_route(sessions)})
    transcript = load("full_session.agi")
    await (await Asterisk.connect(server.port)).play(transcript)

    (call,) = sessions
    session, seen = call.session, call.values
    assert session.headers == transcript.headers
    assert session.headers["agi_accountcode"] == ""
    assert list(session.headers)[:2] == ["agi_network", "agi_network_script"]
    assert session.script == "hotline"
    assert session.args == ["zh"]
    assert session.uniqueid == "1795376035.0"
    assert session.channel == "Local/s@lab-caller-00000001;1"
    assert session.caller_number == "13800138000"
    assert session.caller_name == "张伟"
    assert session.linkedid is None
    assert seen["name"] == "张伟"
    assert seen["ticket"] is None
    assert seen["stream"] == AgiResult(200, "50", None, "200 result=50 endpos=8000")
    assert seen["digits"] == ["49", None]
    assert seen["queue"] == AgiResult(200, "0", None, "200 result=0")
    await until(lambda: server.active_sessions == 0)
    assert not our_records(caplog, logging.WARNING) and not our_records(caplog, logging.ERROR)


async def test_observer_sees_every_command_round_trip(start_server: StartServer) -> None:
    timings: list[tuple[list[str], float]] = []
    server = await start_server({"hotline": hotline_route([])})
    server.observer = lambda verb, seconds: timings.append((verb, seconds))
    transcript = load("full_session.agi")
    await (await Asterisk.connect(server.port)).play(transcript)
    await until(lambda: server.active_sessions == 0)
    sent = [text.split(" ", 2)[:2] for kind, text in transcript.steps if kind == "rx"]
    assert [verb for verb, _ in timings] == sent
    assert all(0 <= seconds < 5 for _, seconds in timings)


async def test_chinese_name_intact_one_byte_at_a_time(start_server: StartServer) -> None:
    sessions: list[Seen] = []
    server = await start_server({"hotline": hotline_route(sessions)})
    await (await Asterisk.connect(server.port)).play(load("full_session.agi"), dribble=True)
    assert sessions[0].session.caller_name == "张伟"
    assert sessions[0].values["name"] == "张伟"


async def test_non_utf8_header_bytes_are_replaced(start_server: StartServer) -> None:
    sessions: list[AgiSession] = []

    async def route(session: AgiSession) -> None:
        sessions.append(session)

    server = await start_server({"hotline": route})
    client = await Asterisk.connect(server.port)
    await client.send(
        b"agi_network_script: /hotline?from=test\n"
        b"agi_callerid: unknown\n"
        b"agi_calleridname: \xe5\xbc\xa0\xff\xfe\n"
        b"agi_arg_1: a\nagi_arg_2: \nagi_arg_3: c\n\n"
    )
    await client.expect_closed()
    (session,) = sessions
    assert session.script == "hotline"
    assert session.headers["agi_network_script"] == "/hotline?from=test"
    assert session.caller_name == "张\ufffd\ufffd"
    assert session.caller_number is None
    assert session.args == ["a", "", "c"]


async def test_good_session_served_beside_early_closes(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Peers closing before their blank line are dropped at once; no spinning, the loop stays free."""
    sessions: list[Seen] = []
    server = await start_server({"hotline": hotline_route(sessions)})
    transcript = load("full_session.agi")
    early = [b"", b"agi_network: yes\n", transcript.env[:-1], transcript.env[:37]]
    peers: list[str] = []
    good = asyncio.create_task(_play(server.port, transcript))
    for data in early:
        client = await Asterisk.connect(server.port)
        peers.append(client.address)
        await client.send(data)
        client.writer.close()
    cpu_before = time.process_time()
    await asyncio.wait_for(good, PROMPT)
    await until(lambda: server.active_sessions == 0, within=0.5)
    await asyncio.sleep(0.3)
    assert time.process_time() - cpu_before < 0.25, "the server is burning CPU"
    assert len(sessions) == 1
    warnings = our_records(caplog, logging.WARNING)
    assert len(warnings) == len(early)
    for peer in peers:
        assert sum(peer in r.getMessage() for r in warnings) == 1


async def _play(port: int, transcript: Transcript) -> None:
    await (await Asterisk.connect(port)).play(transcript)


GARBAGE = {
    "binary": bytes(range(256)) * 4 + b"\n\n",
    "no colon": b"agi_network_script: hotline\nhello world\n\n",
    "no space after colon": b"agi_network_script:hotline\n\n",
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "too many bytes": b"agi_network_script: hotline\n"
    + b"".join(b"agi_arg_%d: %s\n" % (i, b"x" * 60) for i in range(1, 40)) + b"\n",
    "one endless line": b"agi_calleridname: " + b"x" * 200_000,
}


@pytest.mark.parametrize("payload", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_is_dropped_with_one_warning(
    start_server: StartServer, caplog: pytest.LogCaptureFixture, payload: bytes
) -> None:
    called: list[AgiSession] = []

    async def route(session: AgiSession) -> None:
        called.append(session)

    server = await start_server({"hotline": route}, max_header_bytes=1024)
    client = await Asterisk.connect(server.port)
    client.writer.write(payload)
    waited = await client.expect_closed()
    assert waited < 1.0, "dropped by the header timeout, not recognised as garbage"
    await until(lambda: server.active_sessions == 0)
    assert not called
    (warning,) = our_records(caplog, logging.WARNING)
    assert client.address in warning.getMessage()
    assert not our_records(caplog, logging.ERROR)


@pytest.mark.parametrize("dribble", [False, True], ids=["stall", "slowloris"])
async def test_stalled_headers_dropped_after_header_timeout(
    start_server: StartServer, caplog: pytest.LogCaptureFixture, dribble: bool
) -> None:
    server = await start_server({}, header_timeout=0.3)
    client = await Asterisk.connect(server.port)
    await client.send(b"agi_network: yes\n")
    started = time.monotonic()
    if dribble:
        while not client.reader.at_eof() and time.monotonic() - started < PROMPT:
            try:
                await client.send(b"agi_x: y\n")
            except ConnectionError:
                break
            await asyncio.sleep(0.05)
    await client.expect_closed()
    assert 0.25 < time.monotonic() - started < 1.0
    (warning,) = our_records(caplog, logging.WARNING)
    assert client.address in warning.getMessage()
    assert "0.3" in warning.getMessage()


@pytest.mark.parametrize("env", [b"agi_network_script: nowhere\n\n", b"agi_network: yes\n\n", b"\n"])
async def test_unknown_script_is_closed(
    start_server: StartServer, caplog: pytest.LogCaptureFixture, env: bytes
) -> None:
    server = await start_server({"hotline": hotline_route()})
    client = await Asterisk.connect(server.port)
    await client.send(env)
    await client.expect_closed()
    (warning,) = our_records(caplog, logging.WARNING)
    assert client.address in warning.getMessage()


async def test_hundred_concurrent_sessions(start_server: StartServer) -> None:
    sessions: list[Seen] = []
    server = await start_server({"hotline": hotline_route(sessions)})
    transcript = load("full_session.agi")
    started = time.monotonic()
    await asyncio.gather(*(_play(server.port, transcript) for _ in range(100)))
    assert time.monotonic() - started < 5
    assert len(sessions) == 100
    assert all(s.values["digits"] == ["49", None] for s in sessions)
    await until(lambda: server.active_sessions == 0)


async def test_broken_and_slow_sessions_do_not_delay_a_good_one(start_server: StartServer) -> None:
    release = asyncio.Event()

    async def stuck(session: AgiSession) -> None:
        await release.wait()

    server = await start_server({"hotline": hotline_route(), "stuck": stuck}, header_timeout=10.0)
    stalled = await Asterisk.connect(server.port)
    await stalled.send(b"agi_network: yes\nagi_netw")
    blocked = await Asterisk.connect(server.port)
    await blocked.send(b"agi_network_script: stuck\n\n")
    closed = await Asterisk.connect(server.port)
    await closed.send(b"agi_network_script: hot")
    closed.writer.close()
    await until(lambda: server.active_sessions >= 2)

    started = time.monotonic()
    await _play(server.port, load("full_session.agi"))
    assert time.monotonic() - started < 0.5
    assert server.active_sessions == 2
    release.set()
    await blocked.expect_closed()
    stalled.writer.close()
    await until(lambda: server.active_sessions == 0)


async def test_route_exception_is_isolated(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    hotline = hotline_route()

    async def route(session: AgiSession) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug in the IVR")
        await hotline(session)

    server = await start_server({"hotline": route})
    broken = await Asterisk.connect(server.port)
    await broken.send(load("full_session.agi").env)
    await broken.expect_closed()
    await _play(server.port, load("full_session.agi"))
    assert len(calls) == 2
    (error,) = our_records(caplog, logging.ERROR)
    assert error.exc_info is not None and error.exc_info[0] is RuntimeError
    assert "hotline" in error.getMessage()


async def test_hangup_mid_route(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    outcome: dict[str, object] = {}

    async def route(session: AgiSession) -> None:
        await session.answer()
        outcome["stream"] = (await session.stream_file("custom/welcome")).result
        with pytest.raises(AgiHangup):
            await session.get_data("custom/menu", 5000, 1)
        with pytest.raises(AgiHangup):
            await session.verbose("nobody listens")
        outcome["reached"] = True
        await session.answer()

    server = await start_server({"hotline": route})
    await (await Asterisk.connect(server.port)).play(load("hangup_mid_route.agi"))
    assert outcome == {"stream": "-1", "reached": True}
    await until(lambda: server.active_sessions == 0)
    assert len(our_records(caplog, logging.INFO)) >= 1
    assert any("hung up" in r.getMessage() for r in our_records(caplog, logging.INFO))
    assert not our_records(caplog, logging.ERROR) and not our_records(caplog, logging.WARNING)


async def test_dead_channel_511_is_a_hangup(start_server: StartServer, caplog: pytest.LogCaptureFixture) -> None:
    raised: list[BaseException] = []

    async def route(session: AgiSession) -> None:
        try:
            await session.answer()
        except AgiHangup as exc:
            raised.append(exc)
            raise

    server = await start_server({"hotline": route})
    await (await Asterisk.connect(server.port)).play(load("dead_channel.agi"))
    assert len(raised) == 1 and "511" in str(raised[0])
    assert not our_records(caplog, logging.ERROR)


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
async def test_writing_after_peer_closed_is_a_hangup(
    start_server: StartServer, caplog: pytest.LogCaptureFixture, reset: bool
) -> None:
    outcome: list[str] = []
    peer_gone = asyncio.Event()

    async def route(session: AgiSession) -> None:
        await peer_gone.wait()
        for _ in range(3):
            try:
                await session.answer()
            except AgiHangup:
                outcome.append("hangup")

    server = await start_server({"hotline": route})
    client = await Asterisk.connect(server.port)
    await client.send(load("full_session.agi").env)
    if reset:
        client.writer.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
    client.writer.close()
    peer_gone.set()
    await until(lambda: server.active_sessions == 0)
    assert outcome == ["hangup"] * 3
    assert not our_records(caplog, logging.ERROR)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_set_variable_keeps_each_value_one_argument(start_server: StartServer) -> None:
    values = [
        'say "hi" \\ C:\\temp\\\nsecond line',
        '"; EXEC System "rm -rf /',
        "trailing backslash\\",
        "",
        "张伟 留言",
    ]

    async def route(session: AgiSession) -> None:
        for value in values:
            await session.set_variable("CALLER_NOTE", value)

    server = await start_server({"hotline": route})
    client = await Asterisk.connect(server.port)
    await client.play(load("set_variable_escaping.agi"))
    assert len(client.received) == len(values)
    for line, value in zip(client.received, values, strict=True):
        assert parse_args(line) == ["SET", "VARIABLE", "CALLER_NOTE", value.replace("\n", " ")]


async def test_command_lines_that_would_break_framing_are_refused(start_server: StartServer) -> None:
    refused: list[str] = []

    async def route(session: AgiSession) -> None:
        for line in ["VERBOSE x\nEXEC System y", "VERBOSE \r", "VERBOSE " + "x" * 3000]:
            with pytest.raises(ValueError):
                await session.command(line)
            refused.append(line)
        for name in ["A B", 'A"', "A\nB", ""]:
            with pytest.raises(ValueError):
                await session.set_variable(name, "v")
        with pytest.raises(ValueError):
            await session.exec("System rm", "x")

    server = await start_server({"hotline": route})
    client = await Asterisk.connect(server.port)
    await client.send(load("full_session.agi").env)
    await client.expect_closed()
    assert len(refused) == 3


async def test_refused_commands_keep_the_conversation(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    outcome: dict[str, object] = {}

    async def route(session: AgiSession) -> None:
        with pytest.raises(AgiError, match="510"):
            await session.command("FROB NICATE")
        with pytest.raises(AgiError) as usage:
            await session.command("GET DATA")
        outcome["usage"] = str(usage.value)
        outcome["nickname"] = await session.get_variable("NICKNAME")
        outcome["note"] = await session.get_variable("NOTE")
        outcome["empty"] = await session.get_variable("EMPTY")
        outcome["exec"] = (await session.exec("NoSuchApp")).result

    server = await start_server({"hotline": route})
    await (await Asterisk.connect(server.port)).play(load("command_errors.agi"))
    assert "Usage: GET DATA" in str(outcome["usage"])
    assert "End of proper usage" in str(outcome["usage"])
    assert outcome["nickname"] == "hangup"
    assert outcome["note"] == "call back (after 6 pm)"
    assert outcome["empty"] == ""
    assert outcome["exec"] == "-2"
    assert not our_records(caplog, logging.ERROR)


async def test_command_timeout_closes_the_session(start_server: StartServer) -> None:
    outcome: list[str] = []

    async def route(session: AgiSession) -> None:
        with pytest.raises(TimeoutError):
            await session.command("ANSWER", timeout=0.1)
        outcome.append("timeout")
        with pytest.raises(AgiError):
            await session.verbose("after the timeout")
        outcome.append("refused")

    server = await start_server({"hotline": route})
    client = await Asterisk.connect(server.port)
    await client.send(load("full_session.agi").env)
    assert await asyncio.wait_for(client.reader.readline(), PROMPT) == b"ANSWER\n"
    await client.expect_closed()
    assert outcome == ["timeout", "refused"]


async def test_stop_cancels_running_sessions(start_server: StartServer) -> None:
    cancelled = asyncio.Event()
    entered = asyncio.Event()

    async def forever(session: AgiSession) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server = await start_server({"hotline": forever})
    port = server.port
    client = await Asterisk.connect(port)
    await client.send(load("full_session.agi").env)
    await asyncio.wait_for(entered.wait(), PROMPT)
    await asyncio.wait_for(server.stop(), PROMPT)
    assert cancelled.is_set()
    assert server.active_sessions == 0
    await client.expect_closed()
    with pytest.raises(OSError):
        await Asterisk.connect(port)


def test_routes_must_be_async() -> None:
    server = AgiServer(AgiSettings(port=0))

    def sync_route(session: AgiSession) -> None:
        pass

    class AsyncCallable:
        async def __call__(self, session: AgiSession) -> None:
            pass

    with pytest.raises(TypeError):
        server.route("hotline", sync_route)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server.route("hotline", lambda session: None)  # type: ignore[arg-type, return-value]
    server.route("hotline", hotline_route())
    server.route("other", AsyncCallable())
    with pytest.raises(ValueError):
        server.route("/hotline", hotline_route())


async def test_a_node_marks_each_call_it_takes(start_server: StartServer) -> None:
    """With several nodes the dialplan ([cti-agi]) tries no other node for a request once
    CTI_AGI_NODE is set: the node sets it before its handler says anything."""

    async def route(session: AgiSession) -> None:
        await session.verbose("hello")

    server = await start_server({"hotline": route})
    server.mark = "node-a"
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: yes\nagi_network_script: hotline\nagi_channel: Local/s@x-1;1\n"
                 b"agi_uniqueid: 1795376035.0\n\n")
    received = []
    for _ in range(2):
        received.append((await asyncio.wait_for(reader.readline(), PROMPT)).decode().strip())
        writer.write(b"200 result=1\n")
    await until(lambda: server.active_sessions == 0)
    writer.close()
    assert parse_args(received[0]) == ["SET", "VARIABLE", "CTI_AGI_NODE", "node-a"]
    assert parse_args(received[1])[0] == "VERBOSE"
