"""Logs as text (the default) or as JSON lines (``--log-format json``), with the call id when
one is known.

The call id (a call's Linkedid, or the AGI channel's Uniqueid until the flow knows it) is a
context variable: set around each telephony event's dispatch and for each FastAGI session,
so everything logged while handling that call, in tasks started from there too (asyncio
copies the context into each new task), carries it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar

#: the call being handled, if any
CALL_ID: ContextVar[str | None] = ContextVar("call_id", default=None)
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextlib.contextmanager
def call_context(call_id: str | None) -> Iterator[None]:
    """Log lines written inside carry ``call_id`` (None: leave the current one)."""
    if not call_id:
        yield
        return
    token = CALL_ID.set(call_id)
    try:
        yield
    finally:
        CALL_ID.reset(token)


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, call_id when
    known, node when set, exception text when there is one."""

    def __init__(self, node: str | None = None) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        call_id = CALL_ID.get()
        if call_id:
            line["call_id"] = call_id
        if self.node:
            line["node"] = self.node
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: int, log_format: str = "text", node: str | None = None) -> None:
    """The root logger's one handler, on stderr; as ``logging.basicConfig``, nothing when
    the root logger has a handler already (a test's capture)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines(node) if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
