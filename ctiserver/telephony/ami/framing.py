"""Cut the AMI byte stream into messages.

panoramisk 1.4 decodes every TCP chunk on its own with ``errors='ignore'``: a
Chinese caller name whose UTF-8 bytes straddle two reads loses characters. Here
bytes are buffered until a whole message (ending in a blank line) is there, and
only then decoded; bytes that are not UTF-8 become U+FFFD instead of vanishing
or raising. Parsing a decoded message is left to panoramisk's ``Message``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from panoramisk.message import Message

GREETING_PREFIX = b"Asterisk Call Manager/"
_END = b"\r\n\r\n"
#: responses whose last lines are a body (panoramisk parses those itself)
_HAS_BODY = ("Response: Follows", "Response: Fail")
#: header names seen, lower-cased once (Asterisk's set is small; bounded all the same)
_LOWER: dict[str, str] = {}
_LOWER_MAX = 4096


def parse_message(text: str) -> Message | None:
    """What ``Message.from_line(text)`` gives, built without panoramisk's per-key
    ``__setitem__``: every node parses the whole AMI stream, and that was most of the
    pipeline's time (bench/nodes.py). Events and plain responses only; a response with a
    body goes to panoramisk."""
    if text.startswith(_HAS_BODY):
        return Message.from_line(text)
    headers: dict[str, Any] = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key[:1] in "rR" and key.lower() == "result":
            value = unquote(value).strip()
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    if "Event" not in headers and "Response" not in headers:
        return None
    store: dict[str, tuple[str, Any]] = {}
    for key, value in headers.items():
        low = _LOWER.get(key)
        if low is None:
            low = key.lower()
            if len(_LOWER) < _LOWER_MAX:
                _LOWER[key] = low
        store[low] = (key, value)
    store["content"] = ("content", "")
    message = Message.__new__(Message)
    message._store = store  # what CaseInsensitiveDict.__init__ would fill, as it would
    message.manager = None
    return message


class FrameSplitter:
    """Feed bytes in, get complete AMI messages out, in order."""

    def __init__(self, max_frame_bytes: int = 4 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_frame_bytes
        self.greeting: str | None = None
        #: frames that were neither an event nor a response (logged by the caller)
        self.rejected: list[str] = []

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        if self.greeting is None and not self._take_greeting():
            return []
        messages: list[Message] = []
        while True:
            end = self._buffer.find(_END)
            if end < 0:
                if len(self._buffer) > self._max:
                    self.rejected.append(f"frame over {self._max} bytes dropped")
                    self._buffer.clear()
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + len(_END)]
            text = raw.decode("utf-8", errors="replace").strip("\r\n")
            if not text:
                continue
            message = parse_message(text)
            if message is None:
                self.rejected.append(text[:200])
                continue
            messages.append(message)
        return messages

    def _take_greeting(self) -> bool:
        """The first line is ``Asterisk Call Manager/x.y.z`` and has a single CRLF."""
        if not self._buffer.startswith(GREETING_PREFIX[: len(self._buffer)]):
            self.greeting = ""
            return True
        newline = self._buffer.find(b"\r\n")
        if newline < 0:
            return False
        line = bytes(self._buffer[:newline]).decode("utf-8", errors="replace")
        self.greeting = line[len(GREETING_PREFIX):].strip()
        del self._buffer[: newline + 2]
        return True
