"""Conditions of ``branch`` nodes, evaluated as data (nothing is ever ``eval``-ed).

Forms (see ivr_flows/README.md): ``{var, equals}``, ``{var, not_equals}``,
``{var, in}``, ``{var, matches}`` (full match), ``{var, set}``, ``{all}``,
``{any}``, ``{not}``. Variables are strings; an unset variable is ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_OPERATORS = ("equals", "not_equals", "in", "matches", "set")


class ConditionError(ValueError):
    """A condition that is not one of the documented forms."""


def evaluate(condition: Mapping[str, Any], variables: Mapping[str, str]) -> bool:
    if not isinstance(condition, Mapping):
        raise ConditionError(f"a condition must be a mapping, not {condition!r}")
    if "all" in condition:
        return all(evaluate(c, variables) for c in _items(condition, "all"))
    if "any" in condition:
        return any(evaluate(c, variables) for c in _items(condition, "any"))
    if "not" in condition:
        return not evaluate(condition["not"], variables)
    if "var" not in condition:
        raise ConditionError(f"unknown condition {dict(condition)!r}")
    value = variables.get(str(condition["var"]), "") or ""
    operators = [op for op in _OPERATORS if op in condition]
    if len(operators) != 1:
        raise ConditionError(f"a var condition needs exactly one of {_OPERATORS}: {dict(condition)!r}")
    op = operators[0]
    expected = condition[op]
    if op == "equals":
        return value == text(expected)
    if op == "not_equals":
        return value != text(expected)
    if op == "in":
        return value in {text(v) for v in _items(condition, "in")}
    if op == "matches":
        return _regex(str(expected)).fullmatch(value) is not None
    return bool(value) == _truth(expected)


def text(value: Any) -> str:
    """A YAML scalar as the string a variable would hold (``true`` -> ``"true"``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _items(condition: Mapping[str, Any], key: str) -> list[Any]:
    items = condition[key]
    if not isinstance(items, (list, tuple)):
        raise ConditionError(f"{key!r} needs a list, not {items!r}")
    return list(items)


def _truth(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConditionError(f"'set' takes true or false, not {value!r}")


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConditionError(f"bad regex {pattern!r}: {exc}") from exc
