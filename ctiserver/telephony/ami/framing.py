"""Cut the AMI byte stream into messages.

panoramisk 1.4 decodes every TCP chunk on its own with ``errors='ignore'``: a
Chinese caller name whose UTF-8 bytes straddle two reads loses characters. Here
bytes are buffered until a whole message (ending in a blank line) is there, and
only then decoded; bytes that are not UTF-8 become U+FFFD instead of vanishing
or raising. A decoded message becomes a panoramisk ``Message`` (message.py).
"""

from __future__ import annotations

from panoramisk.message import Message

from ctiserver.telephony.ami.message import parse_message

GREETING_PREFIX = b"Asterisk Call Manager/"
_END = b"\r\n\r\n"

__all__ = ["FrameSplitter", "parse_message"]


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
        last = self._buffer.rfind(_END)
        messages: list[Message] = []
        if last >= 0:
            # Decoded at once, then split: a CR or LF is never part of a UTF-8 sequence,
            # nor of what replaces a broken one, so each frame decodes as it would alone.
            block = bytes(self._buffer[:last]).decode("utf-8", errors="replace")
            del self._buffer[: last + len(_END)]
            for frame in block.split("\r\n\r\n"):
                text = frame.strip("\r\n")
                if not text:
                    continue
                message = parse_message(text)
                if message is None:
                    self.rejected.append(text[:200])
                    continue
                messages.append(message)
        if len(self._buffer) > self._max:
            self.rejected.append(f"frame over {self._max} bytes dropped")
            self._buffer.clear()
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
