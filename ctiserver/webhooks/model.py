"""What a webhook delivery is, without I/O: the signature, the back-off, which event comes
next after the cursor, and the body sent for it.

The event log is ``ticket_events`` itself (a transactional outbox): each endpoint is a
consumer of the ticket-event feed (``ctiserver.tickets.feed``) whose cursor is the id of the
last event it was sent (or passed over), and is sent the events after it one at a time, in
id order.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SIGNATURE_PREFIX = "sha256="
#: what an endpoint's name may hold: it goes into the X-CTI-Delivery header
ENDPOINT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: the keys of the body's "event" and "ticket", in the order documented (docs/webhooks.md)
EVENT_KEYS = ("id", "kind", "at", "from_status", "status", "actor", "user_id", "note", "payload")
TICKET_KEYS = ("id", "number", "type", "status", "department", "branch", "source", "customer_id")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256, keyed with ``secret``, of ``timestamp + "." + body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, header: str, *, now: float, tolerance: float = 300.0
) -> bool:
    """What a receiver does: the signature matches and the timestamp is within ``tolerance``
    seconds of ``now`` (a replayed old request is refused)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def backoff(failures: int, first: float, cap: float, jitter: float) -> float:
    """Seconds to wait after ``failures`` failed attempts in a row (1 for the first):
    ``first`` doubled at each further failure, at most ``cap``; half of it fixed, half
    scaled by ``jitter`` (0 <= jitter < 1), so that many servers do not retry in step."""
    if failures < 1:
        return 0.0
    base = min(cap, first * 2.0 ** min(failures - 1, 60))
    return base / 2 + base / 2 * jitter


def delivery_id(endpoint: str, event_id: int) -> str:
    """The same for every attempt at one event for one endpoint: receivers dedupe on it."""
    return f"{endpoint}-{event_id}"


def consumer_name(endpoint: str) -> str:
    """The endpoint's consumer of the ticket-event feed (its cursor's name)."""
    return f"webhook:{endpoint}"


@dataclass(frozen=True)
class DeliveryStep:
    #: the event to send next (the cursor moves to it once it is answered 2xx)
    send: int | None
    #: with nothing to send: the cursor moves here (events of kinds not sent are passed)
    advance_to: int | None


def next_step(events: Sequence[tuple[int, str]], kinds: Collection[str]) -> DeliveryStep:
    """From the passable events after the cursor, as (id, kind): the first to send, or how
    far the cursor moves over events of other kinds."""
    for event_id, kind in events:
        if kind in kinds:
            return DeliveryStep(event_id, None)
    return DeliveryStep(None, events[-1][0] if events else None)


def body(endpoint: str, event: Mapping[str, Any], ticket: Mapping[str, Any]) -> bytes:
    """The JSON POSTed for ``event`` (a ``ticket_events`` row) of ``ticket``: every
    documented key, null where the server's schema has no such column."""
    document = {
        "delivery": delivery_id(endpoint, int(event["id"])),
        "endpoint": endpoint,
        "event": {key: event.get(key) for key in EVENT_KEYS},
        "ticket": {key: ticket.get(key) for key in TICKET_KEYS},
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=_json_value).encode()


def _json_value(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return isoformat(timespec="milliseconds")
    return str(value)
