"""Figures from summed hourly totals: counts, rates (percent) and averages (seconds).

Each function takes the totals of a set of rows already summed (maxima kept as
maxima) and gives the figures in the order of its ``*_FIGURES`` tuple; the
definitions are in docs/statistics.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

QUEUE_FIGURES = (
    "offered", "answered", "abandoned", "short_abandoned", "unanswered", "answered_in_sl",
    "service_level", "average_answer_seconds", "average_abandon_seconds", "longest_answer_wait",
    "longest_wait", "completed", "average_talk_seconds", "transfers", "callbacks_owed",
    "callbacks_made", "callbacks_connected",
)
AGENT_FIGURES = (
    "answered", "completed", "transfers", "talk_seconds", "average_handle_seconds",
    "ready_seconds", "ringing_seconds", "on_call_seconds", "wrap_up_seconds", "paused_seconds",
    "logged_in_seconds", "occupancy", "utilisation", "callbacks_made", "callbacks_connected",
)
DAY_FIGURES = (
    "offered", "answered", "abandoned", "short_abandoned", "unanswered", "service_level",
    "average_answer_seconds", "longest_wait",
)


def _get(totals: Mapping[str, float], name: str) -> float:
    return float(totals.get(name) or 0.0)


def _ratio(part: float, whole: float, scale: float = 1.0, digits: int = 1) -> float | None:
    return round(scale * part / whole, digits) if whole else None


def service_level(totals: Mapping[str, float]) -> float | None:
    """Percent answered within the threshold of answered + abandoned, short abandons left out."""
    counted = _get(totals, "answered") + _get(totals, "abandoned") - _get(totals, "short_abandoned")
    return _ratio(_get(totals, "answered_in_sl"), counted, 100.0)


def queue_figures(totals: Mapping[str, float], callbacks: Mapping[str, int] | None = None) -> dict[str, Any]:
    callbacks = callbacks or {}
    answered, abandoned = _get(totals, "answered"), _get(totals, "abandoned")
    completed = _get(totals, "completed")
    return {
        **{name: int(_get(totals, name)) for name in (
            "offered", "answered", "abandoned", "short_abandoned", "unanswered", "answered_in_sl")},
        "service_level": service_level(totals),
        "average_answer_seconds": _ratio(_get(totals, "answer_wait"), answered),
        "average_abandon_seconds": _ratio(_get(totals, "abandon_wait"), abandoned),
        "longest_answer_wait": round(_get(totals, "answer_wait_max"), 1),
        "longest_wait": round(_get(totals, "wait_max"), 1),
        "completed": int(completed),
        "average_talk_seconds": _ratio(_get(totals, "talk"), completed),
        "transfers": int(_get(totals, "transfers")),
        "callbacks_owed": int(callbacks.get("owed", 0)),
        "callbacks_made": int(callbacks.get("made", 0)),
        "callbacks_connected": int(callbacks.get("connected", 0)),
    }


def agent_figures(
    totals: Mapping[str, float],
    pauses: Mapping[str, float],
    callbacks: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    callbacks = callbacks or {}
    states = {name: _get(totals, name) for name in ("ready", "ringing", "on_call", "wrap_up", "paused")}
    busy = states["ringing"] + states["on_call"] + states["wrap_up"]
    available = busy + states["ready"]
    logged_in = available + states["paused"]
    talk, completed = _get(totals, "talk"), _get(totals, "completed")
    return {
        "answered": int(_get(totals, "answered")),
        "completed": int(completed),
        "transfers": int(_get(totals, "transfers")),
        "talk_seconds": round(talk, 1),
        "average_handle_seconds": _ratio(talk + states["wrap_up"], completed),
        **{f"{name}_seconds": round(seconds, 1) for name, seconds in states.items()},
        "logged_in_seconds": round(logged_in, 1),
        "occupancy": _ratio(busy, available, 100.0),
        "utilisation": _ratio(busy, logged_in, 100.0),
        "callbacks_made": int(callbacks.get("made", 0)),
        "callbacks_connected": int(callbacks.get("connected", 0)),
        "pause_seconds": {reason: round(s, 1) for reason, s in sorted(pauses.items())},
    }


def day_figures(totals: Mapping[str, float]) -> dict[str, Any]:
    figures = queue_figures(totals)
    return {name: figures[name] for name in DAY_FIGURES}
