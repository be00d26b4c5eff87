"""Queue member and queue events -> domain events, and QueueStatus listings.

They name no channel: they need a Queue (and an Interface) instead of a Uniqueid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from ctiserver.telephony.ami.message import lowered_headers
from ctiserver.telephony.ami.translate.fields import epoch, finite_float, flag, integer, opt, text
from ctiserver.telephony.events import (
    DeviceStatus,
    DomainEvent,
    MemberEvent,
    QueueMemberAdded,
    QueueMemberListed,
    QueueMemberPauseChanged,
    QueueMemberRemoved,
    QueueMemberStatusChanged,
    QueueParamsListed,
)


def _device_status(m: Mapping[str, str]) -> DeviceStatus | None:
    value = integer(m, "status")
    try:
        return None if value is None else DeviceStatus(value)
    except ValueError:
        return None


_Member = TypeVar("_Member", bound=MemberEvent)


def _member(
    cls: type[_Member], m: Mapping[str, str], at: float,
    interface_key: str = "interface", name_key: str = "membername",
) -> _Member | None:
    queue, interface = text(m, "queue"), text(m, interface_key)
    if not queue or not interface:
        return None
    return cls(
        at, queue, interface,
        member_name=opt(m, name_key),
        state_interface=opt(m, "stateinterface"),
        membership=opt(m, "membership"),
        penalty=integer(m, "penalty"),
        calls_taken=integer(m, "callstaken"),
        last_call=epoch(m, "lastcall"),
        last_pause=epoch(m, "lastpause"),
        login_time=epoch(m, "logintime"),
        in_call=flag(m, "incall"),
        status=_device_status(m),
        paused=flag(m, "paused"),
        # Asterisk before 13 named it Reason.
        paused_reason=opt(m, "pausedreason") or opt(m, "reason"),
        wrapup_seconds=integer(m, "wrapuptime"),
    )


def _queue_params(m: Mapping[str, str], at: float) -> QueueParamsListed | None:
    queue = text(m, "queue")
    if not queue:
        return None
    return QueueParamsListed(
        at, queue,
        strategy=opt(m, "strategy"),
        max_callers=integer(m, "max"),
        calls=integer(m, "calls"),
        holdtime=integer(m, "holdtime"),
        talktime=integer(m, "talktime"),
        completed=integer(m, "completed"),
        abandoned=integer(m, "abandoned"),
        service_level=integer(m, "servicelevel"),
        service_level_perf=finite_float(m, "servicelevelperf"),
        weight=integer(m, "weight"),
    )


_QueueBuilder = Callable[[Mapping[str, str], float], DomainEvent | None]

MEMBER_BUILDERS: dict[str, _QueueBuilder] = {
    "queuememberadded": lambda m, at: _member(QueueMemberAdded, m, at),
    "queuememberremoved": lambda m, at: _member(QueueMemberRemoved, m, at),
    "queuememberpause": lambda m, at: _member(QueueMemberPauseChanged, m, at),
    "queuememberstatus": lambda m, at: _member(QueueMemberStatusChanged, m, at),
    "queuemember": lambda m, at: _member(QueueMemberListed, m, at, "location", "name"),
    "queueparams": _queue_params,
}


def queue_status_items(
    messages: Iterable[Mapping[str, str]], at: float
) -> list[QueueMemberListed | QueueParamsListed]:
    """The QueueMember and QueueParams items of a QueueStatus result, taken at ``at``.

    QueueEntry items (waiting callers) are not among them: ``to_event`` gives
    those to the call model. Items without a Queue (or Location) are skipped.
    """
    items: list[QueueMemberListed | QueueParamsListed] = []
    for m in messages:
        name = m.get("Event")
        if not isinstance(name, str) or name.lower() not in ("queuemember", "queueparams"):
            continue
        item = MEMBER_BUILDERS[name.lower()](lowered_headers(m), at)
        if isinstance(item, QueueMemberListed | QueueParamsListed):
            items.append(item)
    return items
