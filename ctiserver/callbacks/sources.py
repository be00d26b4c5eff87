"""Where callback tasks come from on the event path: the statistics log's abandons (after
the queue's threshold) become misses, its answers cancel what the number is owed.

Both go through one durable writer, in event order (a miss is written before the answer
that cancels it), each exactly once (``CallbackRepository.record_miss`` counts a call
once; a cancellation is idempotent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ctiserver.callbacks.model import Miss, Source, abandon_counts
from ctiserver.calls.model import CallTracker
from ctiserver.stats.model import CallAbandoned, CallAnswered, Record


@dataclass(frozen=True)
class Answered:
    """A call from ``number`` reached an agent at ``at``."""

    number: str
    at: float
    linkedid: str


Change = Miss | Answered


def change_to_dict(change: Change) -> dict[str, Any]:
    if isinstance(change, Answered):
        return {"kind": "answered", "number": change.number, "at": change.at, "linkedid": change.linkedid}
    return {
        "kind": "miss", "number": change.number, "source": change.source.value, "at": change.at,
        "queue": change.queue, "reason": change.reason, "wait_seconds": change.wait_seconds,
        "customer_id": change.customer_id, "linkedid": change.linkedid, "choices": list(change.choices),
        "vip": change.vip,
    }


def change_from_dict(data: Mapping[str, Any]) -> Change:
    if data["kind"] == "answered":
        return Answered(str(data["number"]), float(data["at"]), str(data["linkedid"]))
    return Miss(
        str(data["number"]), Source(data["source"]), float(data["at"]), queue=data.get("queue"),
        reason=str(data.get("reason") or ""), wait_seconds=data.get("wait_seconds"),
        customer_id=data.get("customer_id"), linkedid=data.get("linkedid"),
        choices=tuple(data.get("choices") or ()), vip=bool(data.get("vip")),
    )


class MissedCalls:
    """Turns statistics records into changes for the writer (``put``)."""

    def __init__(
        self, calls: CallTracker, thresholds: Mapping[str, int], put: Callable[[Change], None]
    ) -> None:
        self._calls = calls
        self._thresholds = dict(thresholds)
        self._put = put

    def __call__(self, record: Record) -> None:
        if isinstance(record, CallAbandoned):
            threshold = self._thresholds.get(record.queue, -1)
            number = self._number(record.linkedid)
            if number and abandon_counts(record.wait_seconds, threshold):
                self._put(Miss(
                    # no prose: the source, the queue and the wait say it, each page in its language
                    number, Source.ABANDONED, record.at, queue=record.queue,
                    wait_seconds=round(record.wait_seconds, 1), linkedid=record.linkedid,
                ))
        elif isinstance(record, CallAnswered):
            number = self._number(record.linkedid)
            if number:
                self._put(Answered(number, record.at, record.linkedid))

    def _number(self, linkedid: str) -> str | None:
        call = self._calls.get(linkedid)
        return None if call is None else call.caller_number
