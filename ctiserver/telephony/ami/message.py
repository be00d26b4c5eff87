"""AMI messages built for speed: every node reads the whole AMI stream of every box.

``parse_message`` gives what ``panoramisk.Message.from_line`` gives, without panoramisk's
per-key ``__setitem__``. ``AmiMessage`` is that same ``Message``, parsed on first use: for
an event whose first line is its only ``Event`` header (and which answers no action), the
event's name is known without parsing the rest, so the three quarters of the stream nobody
reads past its name (VarSet, Newexten, DeviceStateChange...) are never split into
headers. Anything else asked of it (a header, ``items()``, ``repr``) parses it first, to
the same store ``parse_message`` builds. bench/nodes.py measures the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from panoramisk.message import Message

#: responses whose last lines are a body (panoramisk parses those itself)
_HAS_BODY = ("Response: Follows", "Response: Fail")
_EVENT_KEYS = ("Event", "event")
#: a second Event header or an ActionID, in any case (simple case folding: at worst a false
#: alarm, which only means the message is parsed at once)
_MORE_EVENT_OR_ACTION_ID = re.compile(r"\n(?:event|actionid): ", re.IGNORECASE)


def _headers(text: str) -> tuple[dict[str, Any], bool]:
    """The headers of ``text`` by lower-cased name, as the case-insensitive store holds them
    (with its ``content``), and whether an ``Event`` or ``Response`` header is among them.
    One pass; a name seen twice (in any case) takes panoramisk's exact path."""
    headers: dict[str, Any] = {}
    framed = False
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        low = key.lower()
        if low in headers:
            store, framed = _exact_store(text)
            return {name: value for name, (_, value) in store.items()}, framed
        if low == "result":
            value = unquote(value).strip()
        elif key == "Event" or key == "Response":
            framed = True
        headers[low] = value
    headers["content"] = ""
    return headers, framed


def _event_headers(text: str) -> dict[str, Any]:
    """``_headers`` for an event known to start with its Event header: the same, leaner."""
    headers: dict[str, Any] = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            low = key.lower()
            if low in headers:
                return _headers(text)[0]
            headers[low] = value
    result = headers.get("result")
    if result is not None:
        headers["result"] = unquote(result).strip()
    headers["content"] = ""
    return headers


def _exact_store(text: str) -> tuple[dict[str, tuple[str, Any]], bool]:
    """CaseInsensitiveDict's store for ``text``, as ``Message.from_line`` fills it (a name
    repeated exactly makes a list, the last spelling wins), and whether it is framed."""
    headers: dict[str, Any] = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key.lower() == "result":
            value = unquote(value).strip()
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    store: dict[str, tuple[str, Any]] = {key.lower(): (key, value) for key, value in headers.items()}
    store["content"] = ("content", "")
    return store, "Event" in headers or "Response" in headers


class AmiMessage(Message):
    """A panoramisk ``Message`` whose headers are split when first asked for.

    ``_lowered`` (headers by lower-cased name) serves lookups; panoramisk's ``_store``
    (name, value pairs) is only made for what needs the names' spelling (iteration,
    ``items()``, ``repr``). Both are made from the text, on first use."""

    def __init__(self, text: str, event: str | None, lowered: dict[str, Any] | None = None) -> None:
        # Message.__init__ is not called: it would fill the store key by key.
        self._text = text
        #: the Event header's value, known without parsing (None: not known that way)
        self._event = event
        self.manager = None
        if lowered is not None:
            self._lowered = lowered

    def __getattr__(self, attr: str) -> Any:
        if attr == "_lowered":  # first use (an instance attribute from then on)
            self._lowered = _event_headers(self._text)
            return self._lowered
        if attr == "_store":
            self._store = _exact_store(self._text)[0]
            return self._store
        if attr.startswith("__") or attr in ("_text", "_event"):
            raise AttributeError(attr)
        return self.get(attr, "")

    def get(self, key: str, default: Any = None) -> Any:
        if self._event is not None and key in _EVENT_KEYS:
            return self._event
        return self._lowered.get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        if self._event is not None and key in _EVENT_KEYS:
            return self._event
        return self._lowered[key.lower()]

    def __contains__(self, key: object) -> bool:
        if self._event is not None and key in _EVENT_KEYS:
            return True
        return isinstance(key, str) and key.lower() in self._lowered

    def __setitem__(self, key: str, value: Any) -> None:
        self._event = None
        self._store[key.lower()] = (key, value)
        self._lowered[key.lower()] = value

    @property
    def action_id(self) -> Any:
        """None without parsing for an event that answers no action (see ``parse_message``)."""
        if self._event is not None:
            return None
        return self._lowered.get("actionid")


def lowered_headers(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """A message's headers by lower-cased name (a plain dict's lookups are the fastest)."""
    if isinstance(message, AmiMessage):
        return message._lowered
    return {key.lower(): value for key, value in message.items()}


def parse_message(text: str) -> Message | None:
    """The message in ``text`` (stripped of its blank line), or None when it is neither an
    event nor a response. A response with a body goes to panoramisk."""
    if text.startswith(_HAS_BODY):
        return Message.from_line(text)
    if text.startswith("Event: ") and _MORE_EVENT_OR_ACTION_ID.search(text) is None:
        end = text.find("\r\n")
        return AmiMessage(text, text[7:] if end < 0 else text[7:end])
    lowered, framed = _headers(text)
    return AmiMessage(text, None, lowered) if framed else None
