"""Check a parsed flow against the language of ``ivr_flows/README.md``.

The flow is loaded by ruamel's round-trip loader, whose mappings and sequences
remember the line and column of every key, value and item. Each check gets a value
together with its position, so every problem points at the exact spot in the file.
The output is plain Python data with the README's defaults filled in; problems are
``(line, column, message)`` triples, 1-based, and the loader adds the file name.

Checks keep going after a problem so that one run reports everything.
"""

from __future__ import annotations

import copy
import difflib
import re
import zoneinfo
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

Pos = tuple[int, int]

LANGUAGES = ("zh", "en")
KEYS = "0123456789*#"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TICKET_TYPES = ("repair", "complaint", "installation", "moving", "inquiry")
INPUT_CHECKS = ("phone", "order_number", "digits")
SOUND_EXTENSIONS = (".wav", ".gsm", ".sln", ".ulaw")
CONDITION_OPS = ("equals", "not_equals", "in", "matches", "set")

FLOW_NAME_RE = re.compile(r"[a-z0-9_-]+")
NODE_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PLACEHOLDER_RE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]|24:00")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SOUND_RE = re.compile(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*")
# what reaches Dial(): no ',', '&', '/' or spaces that could smuggle in options
DESTINATION_RE = re.compile(r"[A-Za-z0-9+*#_.-]+")


class _Bad:
    """Returned by a check whose value is unusable (the problem is already recorded)."""

    def __repr__(self) -> str:
        return "BAD"


BAD: Any = _Bad()
_NO_DEFAULT: Any = object()

Check = Callable[["Context", Any, Pos, str], Any]


@dataclass
class Context:
    queues: Collection[str]
    sounds_dirs: Sequence[Path]
    problems: list[tuple[int, int, str]] = field(default_factory=list)
    #: node references seen so far: (target, position, field name); resolved at the end
    refs: list[tuple[str, Pos, str]] = field(default_factory=list)

    def problem(self, pos: Pos, message: str) -> Any:
        self.problems.append((pos[0], pos[1], message))
        return BAD

    def wrong_type(self, pos: Pos, label: str, expected: str, value: Any) -> Any:
        return self.problem(pos, f"{label} must be {expected}, not {_type_name(value)}")


@dataclass(frozen=True)
class F:
    """One field of a mapping: its check, whether it is required, its default."""

    check: Check
    required: bool = False
    default: Any = _NO_DEFAULT
    #: message when a required field is missing; ``{what}`` is the owner
    missing: str | None = None


# ---- positions (ruamel counts from 0) -------------------------------------------


def key_pos(m: Any, key: Any, fallback: Pos) -> Pos:
    try:
        line, col = m.lc.key(key)
    except (AttributeError, KeyError, TypeError):
        return fallback
    return line + 1, col + 1


def value_pos(m: Any, key: Any, fallback: Pos) -> Pos:
    try:
        line, col = m.lc.value(key)
    except (AttributeError, KeyError, TypeError):
        return fallback
    return line + 1, col + 1


def item_pos(s: Any, index: int, fallback: Pos) -> Pos:
    try:
        line, col = s.lc.item(index)
    except (AttributeError, KeyError, IndexError, TypeError):
        return fallback
    return line + 1, col + 1


def start_pos(m: Any) -> Pos:
    try:
        return m.lc.line + 1, m.lc.col + 1
    except (AttributeError, TypeError):
        return 1, 1


def _type_name(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _suggest(word: Any, choices: Collection[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---- value checks ---------------------------------------------------------------


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


def integer(minimum: int) -> Check:
    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if not _is_int(v):
            return ctx.wrong_type(pos, label, "a whole number", v)
        if v < minimum:
            return ctx.problem(pos, f"{label} must be at least {minimum}, not {v}")
        return int(v)

    return check


def seconds(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
    if not (_is_int(v) or isinstance(v, float)):
        return ctx.wrong_type(pos, label, "a number of seconds", v)
    if v <= 0:
        return ctx.problem(pos, f"{label} must be more than 0 seconds")
    return int(v) if _is_int(v) else float(v)


def one_of(*choices: str) -> Check:
    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if v not in choices or not isinstance(v, str):
            shown = v if isinstance(v, str) else _type_name(v)
            return ctx.problem(
                pos, f"{label} must be {_or(choices)}, not {shown!r}{_suggest(v, choices)}"
            )
        return v

    return check


def _or(choices: Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


language_code = one_of(*LANGUAGES)


def list_of(item: Check, *, at_least: int = 0) -> Check:
    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if not isinstance(v, list):
            return ctx.wrong_type(pos, label, "a list", v)
        if len(v) < at_least:
            return ctx.problem(pos, f"{label} needs at least {at_least} item(s)")
        out = [item(ctx, x, item_pos(v, i, pos), f"{label}[{i}]") for i, x in enumerate(v)]
        return [x for x in out if x is not BAD]

    return check


def record(ctx: Context, v: Any, pos: Pos, spec: Mapping[str, F], what: str) -> Any:
    """A mapping with known fields: unknown ones, missing ones and each value are checked."""
    if not isinstance(v, Mapping):
        return ctx.wrong_type(pos, what, "a mapping", v)
    for k in v:
        if k not in spec:
            ctx.problem(key_pos(v, k, pos), f"unknown field {k!r} in {what}{_suggest(k, spec)}")
    out: dict[str, Any] = {}
    for name, f in spec.items():
        if name in v:
            checked = f.check(ctx, v[name], value_pos(v, name, pos), name)
            if checked is not BAD:
                out[name] = checked
        elif f.required:
            ctx.problem(
                pos, (f.missing or "{what} is missing field {name!r}").format(what=what, name=name)
            )
        elif f.default is not _NO_DEFAULT:
            out[name] = copy.deepcopy(f.default)
    return out


def record_of(spec: Mapping[str, F]) -> Check:
    return lambda ctx, v, pos, label: record(ctx, v, pos, spec, label)


def _key(ctx: Context, k: Any, pos: Pos, label: str) -> Any:
    """A phone key; YAML reads an unquoted ``1:`` as a number, which is accepted."""
    if _is_int(k) and 0 <= k <= 9:
        return str(k)
    if isinstance(k, str) and len(k) == 1 and k in KEYS:
        return k
    return ctx.problem(
        pos, f"{label} key {k!r} is not a phone key: use one of 0-9, * or # (quote * and #)"
    )


def key_map(value: Check) -> Check:
    """A mapping from phone keys to values, as in ``options``."""

    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if not isinstance(v, Mapping):
            return ctx.wrong_type(pos, label, "a mapping of phone keys", v)
        if not v:
            return ctx.problem(pos, f"{label} needs at least one key")
        out: dict[str, Any] = {}
        for k, item in v.items():
            kp = key_pos(v, k, pos)
            digit = _key(ctx, k, kp, label)
            checked = value(ctx, item, value_pos(v, k, pos), f"{label}[{k!r}]")
            if digit is BAD or checked is BAD:
                continue
            if digit in out:
                ctx.problem(kp, f"{label} key {digit!r} is given twice")
                continue
            out[digit] = checked
        return out

    return check


def name_map(value: Check, *, key_re: re.Pattern[str] | None = VAR_RE, at_least: int = 1) -> Check:
    """A mapping from names (variables, ticket fields, variable values) to values."""

    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if not isinstance(v, Mapping):
            return ctx.wrong_type(pos, label, "a mapping", v)
        if len(v) < at_least:
            return ctx.problem(pos, f"{label} needs at least {at_least} entry")
        out: dict[str, Any] = {}
        for k, item in v.items():
            if not isinstance(k, str):
                ctx.problem(key_pos(v, k, pos), f"{label} key {k!r} must be text (quote numbers)")
                continue
            if key_re is not None and not key_re.fullmatch(k):
                ctx.problem(
                    key_pos(v, k, pos), f"{label} key {k!r} must be a name (letters, digits, _)"
                )
                continue
            checked = value(ctx, item, value_pos(v, k, pos), f"{label}.{k}")
            if checked is not BAD:
                out[k] = checked
        return out

    return check


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
        return ctx.problem(pos, f"no queue named {v!r}{_suggest(v, ctx.queues)}; queues: {known}")
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
            pos, f"{label} must be {_or(INPUT_CHECKS)} or {{pattern: REGEX}}, not {v!r}"
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
                f"condition with var needs exactly one of {_or(CONDITION_OPS)} (has: {', '.join(keys)})",
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


# ---- node kinds -----------------------------------------------------------------

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
    "goto": {"target": F(ref, True)},
    "hangup": {"prompt": F(prompt)},
}


def node_edges(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ways out of a (validated) node: ``(label, target node id)``, in a stable order."""
    kind = node.get("kind")
    edges: list[tuple[str, Any]] = []
    if kind == "menu":
        edges += [(digit, target) for digit, target in node.get("options", {}).items()]
        edges.append(("fail", node.get("on_fail")))
    elif kind == "input":
        edges += [("ok", node.get("next")), ("fail", node.get("on_fail"))]
    elif kind == "hours":
        edges += [("open", node.get("when_open")), ("closed", node.get("when_closed"))]
    elif kind == "lookup":
        edges += [
            ("found", node.get("found")),
            ("vip", node.get("vip")),
            ("not found", node.get("not_found")),
        ]
    elif kind == "branch":
        edges += [
            (f"case {i}", case.get("goto")) for i, case in enumerate(node.get("cases", []), 1)
        ]
        edges.append(("else", node.get("else")))
    elif kind == "queue":
        edges.append(("after", node.get("after")))
        edges.append(("no agents", node.get("no_agents")))
    elif kind == "goto":
        edges.append(("", node.get("target")))
    else:
        edges.append(("", node.get("next")))
    return [(label, target) for label, target in edges if isinstance(target, str)]


def check_node(ctx: Context, node_id: str, v: Any, pos: Pos) -> Any:
    if not isinstance(v, Mapping):
        return ctx.wrong_type(pos, f"node {node_id!r}", "a mapping with a kind", v)
    if "kind" not in v:
        return ctx.problem(pos, f"node {node_id!r} has no kind")
    kind = v["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        return ctx.problem(
            value_pos(v, "kind", pos),
            f"unknown kind {kind!r}{_suggest(kind, KINDS)}; kinds: {', '.join(KINDS)}",
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
    elif kind == "queue":
        if ("queue" in v) == ("queue_by" in v):
            ctx.problem(pos, f"{what} needs exactly one of queue or queue_by")
        if ("overflow_queue" in v) != ("overflow_after" in v):
            ctx.problem(pos, f"{what}: overflow_queue and overflow_after go together")
        if "priority" in node:
            node.setdefault("vip_priority", node["priority"])
    elif kind == "hours":
        open_hours = v.get("open")
        for i, hours in enumerate(open_hours if isinstance(open_hours, list) else []):
            if isinstance(hours, Mapping) and _later_or_same(hours.get("from"), hours.get("to")):
                ctx.problem(
                    value_pos(hours, "to", item_pos(open_hours, i, pos)),
                    "closing time is not after opening time (split hours that pass midnight)",
                )
    return node


def _later_or_same(start: Any, end: Any) -> bool:
    valid = all(isinstance(t, str) and TIME_RE.fullmatch(t) for t in (start, end))
    return valid and start >= end


def _loose_targets(v: Any, ids: Collection[str]) -> Iterator[str]:
    """Node ids mentioned anywhere in a broken node, so that one broken node does
    not also make everything behind it 'unreachable'."""
    if isinstance(v, str) and v in ids:
        yield v
    elif isinstance(v, Mapping):
        for item in v.values():
            yield from _loose_targets(item, ids)
    elif isinstance(v, list):
        for item in v:
            yield from _loose_targets(item, ids)


@dataclass
class Checked:
    top: dict[str, Any]
    nodes: dict[str, dict[str, Any]]
    positions: dict[str, Pos]
    problems: list[tuple[int, int, str]]


TOP: dict[str, F] = {
    "flow": F(flow_name, True),
    "entry": F(nonempty_text, True),
    "language": F(language_code, True),
    "start": F(ref, True),
    "nodes": F(lambda ctx, v, pos, label: v, True),
}


def validate_flow(root: Any, *, queues: Collection[str], sounds_dirs: Sequence[Path]) -> Checked:
    ctx = Context(queues=queues, sounds_dirs=sounds_dirs)
    checked = Checked({}, {}, {}, ctx.problems)
    if not isinstance(root, Mapping):
        ctx.problem(
            start_pos(root), "a flow is a mapping with flow, entry, language, start and nodes"
        )
        return checked
    checked.top = record(ctx, root, start_pos(root), TOP, "the flow")
    raw_nodes = checked.top.get("nodes")
    if raw_nodes is None:
        return checked
    nodes_pos = value_pos(root, "nodes", start_pos(root))
    if not isinstance(raw_nodes, Mapping) or not raw_nodes:
        ctx.problem(nodes_pos, "nodes must be a mapping of node id -> node, with at least one node")
        return checked
    broken: dict[str, Any] = {}
    for node_id, raw in raw_nodes.items():
        pos = key_pos(raw_nodes, node_id, nodes_pos)
        if not isinstance(node_id, str) or not NODE_ID_RE.fullmatch(node_id):
            ctx.problem(pos, f"node id {node_id!r} must be letters, digits, _ or - (quote numbers)")
            continue
        checked.positions[node_id] = pos
        before = len(ctx.problems)
        node = check_node(ctx, node_id, raw, pos)
        if node is not BAD:
            checked.nodes[node_id] = node
        if len(ctx.problems) > before:
            broken[node_id] = raw
    _check_refs(ctx, checked.positions)
    start = checked.top.get("start")
    if isinstance(start, str) and start in checked.positions:
        _check_reachable(ctx, checked, start, broken)
    return checked


def _check_refs(ctx: Context, ids: Collection[str]) -> None:
    for target, pos, label in ctx.refs:
        if target not in ids:
            ctx.problem(pos, f"{label}: no node named {target!r}{_suggest(target, ids)}")


def _check_reachable(ctx: Context, checked: Checked, start: str, broken: Mapping[str, Any]) -> None:
    ids = checked.positions
    seen: set[str] = set()
    todo = [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in ids:
            continue
        seen.add(node_id)
        todo += [target for _, target in node_edges(checked.nodes.get(node_id, {}))]
        if node_id in broken:
            todo += _loose_targets(broken[node_id], ids)
    for node_id, pos in ids.items():
        if node_id not in seen:
            ctx.problem(pos, f"node {node_id!r} is unreachable from start {start!r}")
