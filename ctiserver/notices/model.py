"""SMS notices, pure: which notices a ticket event owes, their texts (templates per notice
and language, rendered in jinja2's sandbox), quiet hours, the back-off, and the states a
notice goes through.

A notice is owed at most once per (ticket event, recipient, notice): its outbox key. States:

* ``pending``: waiting to be sent (``due_at``: now, a back-off, or the end of quiet hours);
* ``sending``: claimed by a sender, the provider being asked; a notice found ``sending``
  after its sender died is ``unknown`` (it may have been sent: it is never sent again);
* ``sent``: the provider accepted it (its id recorded); ``failed``: given up;
* ``opted_out``: the customer asked for no SMS; ``no_phone``: no mobile number known.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

LANGUAGES = ("zh", "en")
STATES = ("pending", "sending", "sent", "failed", "unknown", "opted_out", "no_phone")
#: the states after which nothing more happens to a notice
FINAL_STATES = frozenset({"sent", "failed", "unknown", "opted_out", "no_phone"})
#: the longest text sent (a long SMS is split by the network; 5 parts at most)
MAX_TEXT = 335


@dataclass(frozen=True)
class NoticeKind:
    name: str
    #: "customer" or "engineer"
    recipient: str
    #: the ticket event kind that owes it
    event: str


NOTICES: Mapping[str, NoticeKind] = {
    kind.name: kind for kind in (
        NoticeKind("customer_accepted", "customer", "scheduled"),
        NoticeKind("engineer_task", "engineer", "scheduled"),
        NoticeKind("customer_completed", "customer", "completed"),
        NoticeKind("customer_survey", "customer", "return_visit"),
    )
}

#: the built-in texts; ``[[sms.templates]]`` replaces any of them
DEFAULT_TEMPLATES: Mapping[tuple[str, str], str] = {
    ("customer_accepted", "zh"): (
        "{{ customer }}您好，您的服务单{{ number }}已受理，工程师{{ engineer }}将于{{ window }}上门，"
        "请保持电话畅通。回T退订"
    ),
    ("customer_accepted", "en"): (
        "Dear {{ customer }}, your service ticket {{ number }} is accepted: engineer {{ engineer }} "
        "will visit {{ window }}. Reply T to opt out"
    ),
    ("engineer_task", "zh"): (
        "新任务 {{ number }}：{{ customer }} {{ phone }}，地址：{{ address }}，产品：{{ product }}，"
        "故障：{{ fault }}，预约：{{ window }}"
    ),
    ("engineer_task", "en"): (
        "New task {{ number }}: {{ customer }} {{ phone }}, address: {{ address }}, product: {{ product }}, "
        "fault: {{ fault }}, window: {{ window }}"
    ),
    ("customer_completed", "zh"): "{{ customer }}您好，您的服务单{{ number }}已完工，感谢您的支持。回T退订",
    ("customer_completed", "en"): "Dear {{ customer }}, your service ticket {{ number }} is completed. Thank you. "
                                  "Reply T to opt out",
    ("customer_survey", "zh"): (
        "{{ customer }}您好，请为服务单{{ number }}的服务打分：回复1-5（5为非常满意）。回T退订"
    ),
    ("customer_survey", "en"): (
        "Dear {{ customer }}, please rate the service of ticket {{ number }}: reply 1-5 (5 is best). "
        "Reply T to opt out"
    ),
}

#: what an inbound SMS says when it asks for no more SMS (回T退订)
OPT_OUT_WORDS = frozenset({"T", "TD", "N", "退订", "STOP", "UNSUBSCRIBE"})

_ENV = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


class TemplateRefused(ValueError):
    """A template that does not compile, or names an unknown notice or language."""


def notices_for(event_kind: str, enabled: tuple[str, ...]) -> list[NoticeKind]:
    """The notices a ticket event of ``event_kind`` owes, among those ``enabled``."""
    return [NOTICES[name] for name in enabled if name in NOTICES and NOTICES[name].event == event_kind]


def outbox_key(event_id: int, recipient: str, notice: str) -> str:
    """The notice's unique key: one per (ticket event, recipient, notice)."""
    return f"{event_id}:{recipient}:{notice}"


def check_template(notice: str, language: str, text: str) -> None:
    if notice not in NOTICES:
        raise TemplateRefused(f"sms template: unknown notice {notice!r} (one of {', '.join(NOTICES)})")
    if language not in LANGUAGES:
        raise TemplateRefused(f"sms template {notice}: language must be zh or en, not {language!r}")
    try:
        _ENV.from_string(text)
    except TemplateError as exc:
        raise TemplateRefused(f"sms template {notice} ({language}): {exc}") from exc


def render(text: str, values: Mapping[str, Any]) -> str:
    """The template ``text`` with ``values``, in the sandbox; one line, at most MAX_TEXT."""
    rendered = _ENV.from_string(text).render(**values)
    return " ".join(rendered.split())[:MAX_TEXT]


def window_text(
    start: dt.datetime | None, end: dt.datetime | None, zone: ZoneInfo, language: str
) -> str:
    """An appointment window in the hotline's time zone: ``12月7日 09:00-11:00``."""
    if start is None:
        return "待定" if language == "zh" else "to be agreed"
    local = start.astimezone(zone)
    day = f"{local.month}月{local.day}日" if language == "zh" else local.strftime("%d %b")
    until = "" if end is None else "-" + end.astimezone(zone).strftime("%H:%M")
    return f"{day} {local:%H:%M}{until}"


_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def clock(text: str) -> dt.time:
    found = _CLOCK.fullmatch(text)
    if found is None:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return dt.time(int(found[1]), int(found[2]))


def quiet_until(now: dt.datetime, zone: ZoneInfo, start: dt.time, end: dt.time) -> dt.datetime | None:
    """When quiet hours [start, end) (local, may span midnight) around ``now`` end, in UTC;
    None when ``now`` is not in them (start == end: no quiet hours)."""
    if start == end:
        return None
    local = now.astimezone(zone)
    at = local.time()
    quiet = (start <= at < end) if start < end else (at >= start or at < end)
    if not quiet:
        return None
    day = local.date() if at < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone).astimezone(dt.UTC)


def backoff(failures: int, low: float, high: float, jitter: float = 0.0) -> float:
    """Seconds before the next try after ``failures`` failed ones (1, 2...): low doubled
    each time up to high, plus up to a tenth of jitter (``jitter`` in [0, 1))."""
    wait = min(high, low * 2.0 ** max(0, failures - 1))
    return wait * (1.0 + 0.1 * jitter)


def asks_opt_out(text: str) -> bool:
    """An inbound SMS asking for no more SMS."""
    return text.strip().upper() in OPT_OUT_WORDS
