"""The node kinds: the fields of each kind, and the checks across the fields of a node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ctiserver.ivr.validation.fields import (
    Context,
    F,
    integer,
    key_map,
    list_of,
    name_map,
    one_of,
    record,
    record_of,
    suggest,
)
from ctiserver.ivr.validation.positions import Pos, item_pos, key_pos, value_pos
from ctiserver.ivr.validation.values import (
    a_date,
    bool_value,
    callback_number,
    condition,
    destination,
    input_check,
    language_code,
    prompt,
    queue_name,
    ref,
    seconds,
    terminator,
    text,
    time_of_day,
    timezone,
    var_name,
)
from ctiserver.ivr.validation.vocabulary import DAYS, TIME_RE
from ctiserver.vocabulary import TICKET_TYPES

NO_WAY_OUT = "{what} has no on_fail: callers who keep failing would have no way out"

_open_hours = record_of(
    {
        "days": F(list_of(one_of(*DAYS), at_least=1), True),
        "from": F(time_of_day, True),
        "to": F(time_of_day, True),
    }
)
_case = record_of({"when": F(condition, True), "goto": F(ref, True)})
_queue_by = record_of(
    {
        "var": F(var_name, True),
        "map": F(name_map(queue_name, key_re=None), True),
        "default": F(queue_name, True),
    }
)

KINDS: dict[str, dict[str, F]] = {
    "play": {"prompt": F(prompt, True), "next": F(ref, True)},
    "menu": {
        "prompt": F(prompt, True),
        "options": F(key_map(ref), True),
        "timeout": F(seconds, default=5),
        "retries": F(integer(1), default=3),
        "invalid_prompt": F(prompt),
        "timeout_prompt": F(prompt),
        "on_fail": F(ref, True, missing=NO_WAY_OUT),
    },
    "input": {
        "prompt": F(prompt, True),
        "var": F(var_name, True),
        "min_digits": F(integer(1), default=1),
        "max_digits": F(integer(1), default=20),
        "terminator": F(terminator, default="#"),
        "timeout": F(seconds, default=5),
        "retries": F(integer(1), default=3),
        "validate": F(input_check),
        "invalid_prompt": F(prompt),
        "next": F(ref, True),
        "on_fail": F(ref, True, missing=NO_WAY_OUT),
    },
    "hours": {
        "timezone": F(timezone, True),
        "open": F(list_of(_open_hours, at_least=1), True),
        "holidays": F(list_of(a_date), default=[]),
        "workdays": F(list_of(a_date)),
        "public_holidays": F(bool_value),
        "when_open": F(ref, True),
        "when_closed": F(ref, True),
    },
    "lookup": {
        "by": F(one_of("caller_id", "digits"), True),
        "var": F(var_name),
        "found": F(ref, True),
        "not_found": F(ref, True),
        "vip": F(ref),
    },
    "branch": {"cases": F(list_of(_case, at_least=1), True), "else": F(ref, True)},
    "set": {"vars": F(name_map(text), True), "next": F(ref, True)},
    "ticket": {
        "type": F(one_of(*TICKET_TYPES), True),
        "summary": F(text),
        "fields": F(name_map(text, at_least=0)),
        "next": F(ref, True),
    },
    "queue": {
        "queue": F(queue_name),
        "queue_by": F(_queue_by),
        "priority": F(integer(0), default=0),
        "vip_priority": F(integer(0)),
        "timeout": F(integer(0), default=0),
        "after": F(ref),
        "overflow_queue": F(queue_name),
        "overflow_after": F(integer(1)),
        "no_agents": F(ref),
    },
    "callback": {"number": F(callback_number, True), "prompt": F(prompt), "next": F(ref, True)},
    "voicemail": {
        "prompt": F(prompt),
        "max_seconds": F(integer(1), default=120),
        "next": F(ref, True),
    },
    "transfer": {"to": F(destination, True)},
    "survey": {
        "prompt": F(prompt, True),
        "var": F(var_name, default="survey_score"),
        "timeout": F(seconds, default=5),
        "retries": F(integer(1), default=2),
        "thanks": F(prompt),
        "next": F(ref, True),
    },
    "language": {
        "prompt": F(prompt, True),
        "options": F(key_map(language_code), True),
        "timeout": F(seconds, default=5),
        "default": F(language_code),
        "next": F(ref, True),
    },
    "progress": {
        "by": F(one_of("caller_id", "digits"), default="caller_id"),
        "var": F(var_name),
        "timeout": F(seconds, default=5),
        "retries": F(integer(1), default=2),
        "none": F(ref, True),
        "confirmed": F(ref, True),
        "another_time": F(ref, True),
        "agent": F(ref, True),
        "next": F(ref, True),
    },
    "goto": {"target": F(ref, True)},
    "hangup": {"prompt": F(prompt)},
}


def check_node(ctx: Context, node_id: str, v: Any, pos: Pos) -> Any:
    if not isinstance(v, Mapping):
        return ctx.wrong_type(pos, f"node {node_id!r}", "a mapping with a kind", v)
    if "kind" not in v:
        return ctx.problem(pos, f"node {node_id!r} has no kind")
    kind = v["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        return ctx.problem(
            value_pos(v, "kind", pos),
            f"unknown kind {kind!r}{suggest(kind, KINDS)}; kinds: {', '.join(KINDS)}",
        )
    what = f"{kind} node {node_id!r}"
    node = record(ctx, v, pos, {"kind": F(lambda *a: kind), **KINDS[kind]}, what)
    if kind == "input" and node.get("min_digits", 1) > node.get("max_digits", 20):
        ctx.problem(value_pos(v, "min_digits", pos), "min_digits is more than max_digits")
    elif kind == "lookup":
        if node.get("by") == "digits" and "var" not in v:
            ctx.problem(pos, f"{what} is by digits: it needs var, the variable holding the number")
        elif node.get("by") == "caller_id" and "var" in v:
            ctx.problem(key_pos(v, "var", pos), "var is only used with by: digits")
        if "found" in node:
            node.setdefault("vip", node["found"])
    elif kind == "progress":
        if node.get("by") == "digits" and "var" not in v:
            ctx.problem(pos, f"{what} is by digits: it needs var, the variable holding the ticket number")
        elif node.get("by", "caller_id") == "caller_id" and "var" in v:
            ctx.problem(key_pos(v, "var", pos), "var is only used with by: digits")
    elif kind == "queue":
        if ("queue" in v) == ("queue_by" in v):
            ctx.problem(pos, f"{what} needs exactly one of queue or queue_by")
        if ("overflow_queue" in v) != ("overflow_after" in v):
            ctx.problem(pos, f"{what}: overflow_queue and overflow_after go together")
        if "priority" in node:
            node.setdefault("vip_priority", node["priority"])
    elif kind == "hours":
        both = _dates(node.get("holidays")) & _dates(node.get("workdays"))
        if both:
            ctx.problem(key_pos(v, "workdays", pos), f"{', '.join(sorted(both))} both a holiday and a working day")
        open_hours = v.get("open")
        for i, hours in enumerate(open_hours if isinstance(open_hours, list) else []):
            if isinstance(hours, Mapping) and _later_or_same(hours.get("from"), hours.get("to")):
                ctx.problem(
                    value_pos(hours, "to", item_pos(open_hours, i, pos)),
                    "closing time is not after opening time (split hours that pass midnight)",
                )
    return node


def _dates(value: Any) -> set[str]:
    return {d for d in value if isinstance(d, str)} if isinstance(value, list) else set()


def _later_or_same(start: Any, end: Any) -> bool:
    valid = all(isinstance(t, str) and TIME_RE.fullmatch(t) for t in (start, end))
    return valid and start >= end
