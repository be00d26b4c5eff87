"""The values of the flow language: texts and prompts, sound files, node references,
variable names, numbers, times and dates, queues, destinations and conditions.

Some need the outside world, which the Context brings: the configured queues and the
sounds directories. A node reference is only noted here; it is resolved once every
node id is known (``references``).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import date
from typing import Any

from ctiserver.ivr.validation.fields import (
    BAD,
    Context,
    F,
    is_int,
    list_of,
    one_of,
    or_list,
    record,
    suggest,
)
from ctiserver.ivr.validation.positions import Pos, key_pos, value_pos
from ctiserver.ivr.validation.vocabulary import (
    CONDITION_OPS,
    DATE_RE,
    DESTINATION_RE,
    FLOW_NAME_RE,
    INPUT_CHECKS,
    KEYS,
    LANGUAGES,
    PLACEHOLDER_RE,
    SOUND_EXTENSIONS,
    SOUND_RE,
    TIME_RE,
    VAR_RE,
)


def text(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "text (quote numbers)", v)
    start = v.find("${")
    while start != -1:
        if not PLACEHOLDER_RE.match(v, start):
            return ctx.problem(
                pos, f"{label} has a bad placeholder {v[start : start + 20]!r}: use ${{name}}"
            )
        start = v.find("${", start + 2)
    return str(v)


def nonempty_text(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if isinstance(v, str) and not v.strip():
        return ctx.problem(pos, f"{label} must not be empty")
    return text(ctx, v, pos, label)


def prompt(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if isinstance(v, str):
        return nonempty_text(ctx, v, pos, label)
    if not isinstance(v, Mapping):
        return ctx.wrong_type(pos, label, "text, {zh: ..., en: ...} or {file: NAME}", v)
    if "file" in v:
        return record(ctx, v, pos, {"file": F(sound_file, True)}, label)
    if not v:
        return ctx.problem(pos, f"{label} needs zh or en text, or a file")
    out = {}
    for lang, spoken in v.items():
        if lang not in LANGUAGES:
            ctx.problem(key_pos(v, lang, pos), f"language {lang!r} in {label} must be zh or en")
            continue
        checked = nonempty_text(ctx, spoken, value_pos(v, lang, pos), f"{label}.{lang}")
        if checked is not BAD:
            out[lang] = checked
    return out


def sound_file(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "a sound name", v)
    if not SOUND_RE.fullmatch(v):
        return ctx.problem(
            pos, f"prompt file {v!r} must be a sound name like custom/welcome (no extension)"
        )
    for directory in ctx.sounds_dirs:
        if any((directory / (v + ext)).is_file() for ext in SOUND_EXTENSIONS):
            return v
    where = ", ".join(str(d) for d in ctx.sounds_dirs) or "no sounds directory given"
    return ctx.problem(pos, f"prompt file {v!r} not found (.wav, .gsm, .sln or .ulaw in {where})")


def ref(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "a node id", v)
    ctx.refs.append((v, pos, label))
    return v


def var_name(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "a variable name", v)
    if not VAR_RE.fullmatch(v):
        return ctx.problem(pos, f"{label} {v!r} is not a variable name (letters, digits, _)")
    return v


def seconds(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not (is_int(v) or isinstance(v, float)):
        return ctx.wrong_type(pos, label, "a number of seconds", v)
    if v <= 0:
        return ctx.problem(pos, f"{label} must be more than 0 seconds")
    return int(v) if is_int(v) else float(v)


language_code = one_of(*LANGUAGES)


def time_of_day(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str) or not TIME_RE.fullmatch(v):
        return ctx.problem(pos, f"bad time {v!r} for {label}: expected HH:MM from 00:00 to 24:00")
    return v


def a_date(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if isinstance(v, str) and DATE_RE.fullmatch(v):
        try:
            return date.fromisoformat(v).isoformat()
        except ValueError:
            pass
    return ctx.problem(pos, f"bad date {v!r}: expected an existing day as YYYY-MM-DD")


def timezone(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "an IANA time zone name", v)
    try:
        zoneinfo.ZoneInfo(v)
    except (KeyError, ValueError, OSError):
        return ctx.problem(pos, f"unknown time zone {v!r} (an IANA name like Asia/Shanghai)")
    return v


def regex(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "a regular expression", v)
    try:
        re.compile(v)
    except re.error as exc:
        return ctx.problem(pos, f"regex {v!r} does not compile: {exc}")
    return v


def queue_name(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "a queue name", v)
    if v not in ctx.queues:
        known = ", ".join(sorted(ctx.queues)) or "none configured"
        return ctx.problem(pos, f"no queue named {v!r}{suggest(v, ctx.queues)}; queues: {known}")
    return v


def destination(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str):
        return ctx.wrong_type(pos, label, "an extension or number (quote it)", v)
    if not DESTINATION_RE.fullmatch(v):
        return ctx.problem(pos, f"{label} {v!r} is not an extension or number")
    return v


def terminator(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str) or (v and (len(v) != 1 or v not in KEYS)):
        return ctx.problem(pos, f"{label} must be one of 0-9, * or # (quoted), or '' for none")
    return v


def flow_name(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not isinstance(v, str) or not FLOW_NAME_RE.fullmatch(v):
        return ctx.problem(pos, f"flow name {v!r} must be lower-case letters, digits, _ or -")
    return v


def bool_value(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    return v if isinstance(v, bool) else ctx.wrong_type(pos, label, "true or false", v)


def input_check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if isinstance(v, Mapping):
        return record(ctx, v, pos, {"pattern": F(regex, True)}, label)
    if v not in INPUT_CHECKS:
        return ctx.problem(
            pos, f"{label} must be {or_list(INPUT_CHECKS)} or {{pattern: REGEX}}, not {v!r}"
        )
    return v


def callback_number(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if isinstance(v, Mapping):
        return record(ctx, v, pos, {"var": F(var_name, True)}, label)
    if v != "caller_id":
        return ctx.problem(pos, f"{label} must be caller_id or {{var: NAME}}")
    return v


def condition(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    """``{var, <one operator>}``, ``{all: [...]}``, ``{any: [...]}`` or ``{not: ...}``."""
    if not isinstance(v, Mapping):
        return ctx.wrong_type(pos, label, "a condition mapping", v)
    keys = sorted(map(str, v))
    if "var" in v:
        ops = [k for k in keys if k in CONDITION_OPS]
        if len(ops) != 1 or len(keys) != 2:
            return ctx.problem(
                pos,
                f"condition with var needs exactly one of {or_list(CONDITION_OPS)} (has: {', '.join(keys)})",
            )
        op = ops[0]
        value_check = {
            "equals": text,
            "not_equals": text,
            "in": list_of(text, at_least=1),
            "matches": regex,
            "set": bool_value,
        }[op]
        return record(ctx, v, pos, {"var": F(var_name, True), op: F(value_check, True)}, label)
    if len(keys) == 1 and keys[0] in ("all", "any"):
        return record(ctx, v, pos, {keys[0]: F(list_of(condition, at_least=1), True)}, label)
    if keys == ["not"]:
        return record(ctx, v, pos, {"not": F(condition, True)}, label)
    return ctx.problem(
        pos,
        f"malformed condition (has: {', '.join(keys) or 'nothing'}): use {{var: NAME, "
        "equals|not_equals|in|matches|set: ...}, {all: [...]}, {any: [...]} or {not: ...}",
    )
