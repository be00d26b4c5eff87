"""Where a value stands in the flow file, so that a problem can point at it.

ruamel's round-trip mappings and sequences remember the line and column of every
key, value and item, counting from 0; these helpers give them 1-based, or the
``fallback`` (usually the owner's position) when the data carries none.
"""

from __future__ import annotations

from typing import Any

Pos = tuple[int, int]


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
