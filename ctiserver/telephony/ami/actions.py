"""AMI actions: the errors a caller sees, checking fields, collecting the answer.

panoramisk's ``Action`` serialises the action, numbers it (ActionID) and knows
when a multi-message answer (an EventList) is complete; what it lacks, and is
added here, is refusing header injection and failing on ``Response: Error``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from panoramisk.actions import Action
from panoramisk.message import Message

Fields = Mapping[str, str | Sequence[str]]

_FORBIDDEN_IN_KEY = frozenset("\r\n:")
_FORBIDDEN_IN_VALUE = frozenset("\r\n")
_SECRET_KEYS = frozenset({"secret", "key"})


class AmiError(Exception):
    """Base of every AMI link error."""


class AmiNotConnected(AmiError):
    """The link is not ready (not logged in, Asterisk not fully booted, or down)."""


class AmiLinkLost(AmiError):
    """The link dropped after the action was written and before its answer.

    The action may or may not have run in Asterisk; it is never sent again.
    """


class AmiActionFailed(AmiError):
    """Asterisk answered ``Response: Error``."""

    def __init__(self, response: Message) -> None:
        super().__init__(response.message or response.response or "action failed")
        self.response = response


class AmiTimeout(AmiError):
    """No answer (or no ready link) within the time allowed."""


def check_fields(fields: Fields) -> None:
    """Raise ValueError (TypeError for non-strings) unless ``fields`` make one AMI action.

    Values such as a caller ID come from outside: a CR or LF in them would let
    the sender append headers (or whole actions) of their choosing.
    """
    if not isinstance(fields, Mapping):
        raise TypeError(f"AMI action fields must be a mapping, not {type(fields).__name__}")
    if not any(isinstance(k, str) and k.lower() == "action" for k in fields):
        raise ValueError("AMI action fields have no 'Action' key")
    for key, value in fields.items():
        if not isinstance(key, str) or not key or key != key.strip():
            raise ValueError(f"invalid AMI header name {key!r}")
        if _FORBIDDEN_IN_KEY.intersection(key):
            raise ValueError(f"AMI header name {key!r} contains CR, LF or ':'")
        for item in _values(key, value):
            if _FORBIDDEN_IN_VALUE.intersection(item):
                raise ValueError(f"AMI header {key!r} has a value containing CR or LF")


def _values(key: str, value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or not all(isinstance(i, str) for i in items):
        raise TypeError(f"AMI header {key!r} must be a string or a sequence of strings")
    return list(items)


def _retrieve(future: asyncio.Future[object]) -> None:
    """Mark an exception as seen: an abandoned action must not log 'never retrieved'."""
    if not future.cancelled():
        future.exception()


class PendingAction:
    """One action written (or about to be) and the messages answering it."""

    def __init__(self, fields: Fields, *, as_list: bool) -> None:
        check_fields(fields)
        self.action = Action(
            {k: (v if isinstance(v, str) else list(v)) for k, v in fields.items()},
            as_list=as_list,
        )
        self.as_list = as_list
        self.name = str(self.action["action"])
        self.future: asyncio.Future[Message | list[Message]] = self.action.future
        self.future.add_done_callback(_retrieve)

    @property
    def id(self) -> str:
        return str(self.action.action_id)

    def encode(self) -> bytes:
        return str(self.action).encode("utf-8")

    def redacted(self) -> str:
        """The action as text for logs, without the login secret."""
        return " | ".join(
            f"{k}: {'***' if k.lower() in _SECRET_KEYS else v}" for k, v in sorted(self.action.items())
        )

    def feed(self, message: Message) -> bool:
        """Take a message carrying this ActionID; False if it is not part of the answer.

        Events can carry an action's ActionID without being its answer (an
        ``OriginateResponse`` comes long after the Originate's own response):
        those go back to the caller, to be delivered as events.
        """
        if self.future.done():
            return False
        is_response = "event" not in message and "response" in message
        if not self.action.responses:
            if not is_response:
                return False
            if not message.success:
                self.future.set_exception(AmiActionFailed(message))
                return True
        elif is_response or not self.as_list:
            return False
        self.action.add_message(message)
        return True

    def fail(self, error: AmiError) -> None:
        if not self.future.done():
            self.future.set_exception(error)
