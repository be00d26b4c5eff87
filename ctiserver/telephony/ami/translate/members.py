"""Queue member and queue events -> domain events, and QueueStatus listings.

They name no channel: they need a Queue (and an Interface) instead of a Uniqueid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

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
    value = integer(m, "Status")
    try:
        return None if value is None else DeviceStatus(value)
    except ValueError:
        return None


_Member = TypeVar("_Member", bound=MemberEvent)


def _member(
    cls: type[_Member], m: Mapping[str, str], at: float,
    interface_key: str = "Interface", name_key: str = "MemberName",
) -> _Member | None:
    queue, interface = text(m, "Queue"), text(m, interface_key)
    if not queue or not interface:
        return None
    return cls(
        at, queue, interface,
        member_name=opt(m, name_key),
        state_interface=opt(m, "StateInterface"),
        membership=opt(m, "Membership"),
        penalty=integer(m, "Penalty"),
        calls_taken=integer(m, "CallsTaken"),
        last_call=epoch(m, "LastCall"),
        last_pause=epoch(m, "LastPause"),
        login_time=epoch(m, "LoginTime"),
        in_call=flag(m, "InCall"),
        status=_device_status(m),
        paused=flag(m, "Paused"),
        # Asterisk before 13 named it Reason.
        paused_reason=opt(m, "PausedReason") or opt(m, "Reason"),
        wrapup_seconds=integer(m, "Wrapuptime"),
    )


def _queue_params(m: Mapping[str, str], at: float) -> QueueParamsListed | None:
    queue = text(m, "Queue")
    if not queue:
        return None
    return QueueParamsListed(
        at, queue,
        strategy=opt(m, "Strategy"),
        max_callers=integer(m, "Max"),
        calls=integer(m, "Calls"),
        holdtime=integer(m, "Holdtime"),
        talktime=integer(m, "TalkTime"),
        completed=integer(m, "Completed"),
        abandoned=integer(m, "Abandoned"),
        service_level=integer(m, "ServiceLevel"),
        service_level_perf=finite_float(m, "ServicelevelPerf"),
        weight=integer(m, "Weight"),
    )


_QueueBuilder = Callable[[Mapping[str, str], float], DomainEvent | None]

MEMBER_BUILDERS: dict[str, _QueueBuilder] = {
    "queuememberadded": lambda m, at: _member(QueueMemberAdded, m, at),
    "queuememberremoved": lambda m, at: _member(QueueMemberRemoved, m, at),
    "queuememberpause": lambda m, at: _member(QueueMemberPauseChanged, m, at),
    "queuememberstatus": lambda m, at: _member(QueueMemberStatusChanged, m, at),
    "queuemember": lambda m, at: _member(QueueMemberListed, m, at, "Location", "Name"),
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
        item = MEMBER_BUILDERS[name.lower()](m, at)
        if isinstance(item, QueueMemberListed | QueueParamsListed):
            items.append(item)
    return items
