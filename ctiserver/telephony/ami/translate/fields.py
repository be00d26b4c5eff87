"""Reading AMI headers leniently: a missing, repeated (list-valued) or garbage value
gives ``''`` or ``None``, never an exception."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

UNKNOWN_CALLER_ID = frozenset({"", "<unknown>"})

#: what Asterisk's ast_escape_c() writes for a character in a caller id it sends on AMI
_C_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "?": "?",
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
}
_C_ESCAPED = re.compile(r"\\(.)", re.S)


def text(m: Mapping[str, str], key: str) -> str:
    """The header's value, or '' when missing or repeated (a list)."""
    value = m.get(key)
    return value if isinstance(value, str) else ""


def opt(m: Mapping[str, str], key: str) -> str | None:
    return text(m, key) or None


def caller_id(m: Mapping[str, str], key: str) -> str | None:
    """A caller id as the caller sent it: Asterisk C-escapes quotes, question marks,
    backslashes and control characters in the caller ids of its AMI events; they are
    unescaped here, once, where they enter (``O\\'Brien`` is ``O'Brien``)."""
    value = c_unescaped(text(m, key).strip())
    return None if value in UNKNOWN_CALLER_ID else value


def c_unescaped(value: str) -> str:
    """Undo ast_escape_c(); a backslash before anything else is kept as it came."""
    if "\\" not in value:
        return value
    return _C_ESCAPED.sub(lambda m: _C_ESCAPES.get(m.group(1), m.group(0)), value)


def integer(m: Mapping[str, str], key: str) -> int | None:
    try:
        return int(text(m, key))
    except ValueError:
        return None


def timestamp(message: Mapping[str, str], received_at: float) -> float:
    """Asterisk's ``Timestamp`` header (``timestampevents = yes``) wins."""
    raw = text(message, "timestamp")
    if raw:
        try:
            value = float(raw)
        except ValueError:
            return received_at
        if math.isfinite(value):
            return value
    return received_at


def flag(m: Mapping[str, str], key: str) -> bool | None:
    value = text(m, key).strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    return None


def epoch(m: Mapping[str, str], key: str) -> float | None:
    """An epoch-seconds field; 0 (Asterisk's "never") and garbage are None."""
    try:
        value = float(text(m, key))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def finite_float(m: Mapping[str, str], key: str) -> float | None:
    try:
        value = float(text(m, key))
    except ValueError:
        return None
    return value if math.isfinite(value) else None
