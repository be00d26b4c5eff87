"""How a check works, and the checks made of other checks.

A check is called as ``check(ctx, value, pos, label)``. It returns the value as plain
Python data, or ``BAD`` once it has recorded a problem at ``pos`` in the Context.
``record`` checks a mapping of known fields (each an ``F``); ``list_of``, ``key_map``
and ``name_map`` check every item, so that one bad item does not hide the others.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctiserver.ivr.validation.positions import Pos, item_pos, key_pos, value_pos
from ctiserver.ivr.validation.vocabulary import KEYS, VAR_RE


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
        return self.problem(pos, f"{label} must be {expected}, not {type_name(value)}")


@dataclass(frozen=True)
class F:
    """One field of a mapping: its check, whether it is required, its default."""

    check: Check
    required: bool = False
    default: Any = _NO_DEFAULT
    #: message when a required field is missing; ``{what}`` is the owner
    missing: str | None = None


def type_name(value: Any) -> str:
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


def suggest(word: Any, choices: Collection[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def or_list(choices: Sequence[str]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


def integer(minimum: int) -> Check:
    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if not is_int(v):
            return ctx.wrong_type(pos, label, "a whole number", v)
        if v < minimum:
            return ctx.problem(pos, f"{label} must be at least {minimum}, not {v}")
        return int(v)

    return check


def one_of(*choices: str) -> Check:
    def check(ctx: Context, v: Any, pos: Pos, label: str) -> Any:
        if v not in choices or not isinstance(v, str):
            shown = v if isinstance(v, str) else type_name(v)
            return ctx.problem(
                pos, f"{label} must be {or_list(choices)}, not {shown!r}{suggest(v, choices)}"
            )
        return v

    return check


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
            ctx.problem(key_pos(v, k, pos), f"unknown field {k!r} in {what}{suggest(k, spec)}")
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
    if is_int(k) and 0 <= k <= 9:
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
