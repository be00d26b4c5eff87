"""The callback task's rules: deduplication window, back-off, outcomes, order, calling window."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ctiserver import vocabulary
from ctiserver.callbacks.model import (
    CallingWindows,
    Outcome,
    Policy,
    Source,
    Status,
    abandon_counts,
    after_attempt,
    calling_window,
    joins,
    number_key,
    outcome_of,
    priority_key,
)

POLICY = Policy(dedup_window=600, expire_after=3600, max_attempts=3, retry_min=60, retry_max=150)


def test_the_words_are_the_vocabulary() -> None:
    assert tuple(Status) == vocabulary.CALLBACK_STATUSES
    assert tuple(Source) == vocabulary.CALLBACK_SOURCES
    assert tuple(Outcome) == vocabulary.CALLBACK_OUTCOMES


def test_one_number_however_written() -> None:
    assert number_key("+86 138-0013-8000") == number_key("013800138000") == "13800138000"
    assert number_key(" 4008001234 ") == "4008001234"


def test_an_abandon_counts_after_the_queue_threshold() -> None:
    assert abandon_counts(10.0, 10) and abandon_counts(31.5, 10)
    assert not abandon_counts(9.9, 10)
    assert not abandon_counts(None, 0)
    assert not abandon_counts(500, -1)  # -1: this queue owes no callback for abandons


def test_misses_within_the_window_join_one_task() -> None:
    assert joins(1000, 1000, POLICY) and joins(1000, 1600, POLICY)
    assert not joins(1000, 1601, POLICY)
    assert not joins(1000, 999, POLICY)  # a miss older than the task is not folded into it


def test_back_off_doubles_up_to_the_maximum() -> None:
    assert [POLICY.backoff(n) for n in (1, 2, 3, 4)] == [60, 120, 150, 150]


def test_outcomes_count_towards_the_maximum_but_an_agent_who_misses_does_not() -> None:
    now = 10_000.0
    first = after_attempt(Outcome.NO_ANSWER, 0, now, POLICY)
    assert (first.status, first.attempts, first.due_at) == (Status.PENDING, 1, now + 60)
    second = after_attempt(Outcome.BUSY, 1, now, POLICY)
    assert (second.status, second.attempts, second.due_at) == (Status.PENDING, 2, now + 120)
    third = after_attempt(Outcome.FAILED, 2, now, POLICY)
    assert (third.status, third.attempts, third.due_at) == (Status.FAILED, 3, None)
    missed = after_attempt(Outcome.AGENT_MISSED, 2, now, POLICY)
    assert (missed.status, missed.attempts, missed.due_at) == (Status.PENDING, 2, now)
    done = after_attempt(Outcome.CONNECTED, 2, now, POLICY)
    assert (done.status, done.attempts) == (Status.CONNECTED, 2)


@pytest.mark.parametrize(
    ("cause", "answered", "outcome"),
    [(16, True, Outcome.CONNECTED), (17, False, Outcome.BUSY), (19, False, Outcome.NO_ANSWER),
     (None, False, Outcome.NO_ANSWER), (34, False, Outcome.FAILED), (1, False, Outcome.FAILED)],
)
def test_the_customer_legs_outcome(cause: int | None, answered: bool, outcome: Outcome) -> None:
    assert outcome_of(cause, answered) is outcome


def test_vip_first_then_the_oldest() -> None:
    tasks = [(False, 100.0, 1), (True, 300.0, 2), (False, 50.0, 3), (True, 200.0, 4)]
    assert [t[2] for t in sorted(tasks, key=lambda t: priority_key(*t))] == [4, 2, 3, 1]


def _at(hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 12, 1, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


def test_the_calling_windows_of_the_queues_each_open_in_its_hours() -> None:
    windows = CallingWindows({"support": calling_window("08:00-20:00", "Asia/Shanghai")})
    moment = [dt.datetime.fromtimestamp(_at(h, m), dt.UTC) for h, m in ((7, 59), (8, 0), (19, 59), (20, 0), (9, 0))]
    assert [windows.open("support", m) for m in moment] == [False, True, True, False, True]
    assert windows.open("sales", moment[0]), "a queue not in the settings: any time"


def test_the_calling_window_is_the_queues_hours_in_the_hotlines_zone() -> None:
    window = calling_window("08:00-20:00", "Asia/Shanghai")
    assert window.is_open(_at(8)) and window.is_open(_at(19, 59))
    assert not window.is_open(_at(7, 59)) and not window.is_open(_at(20))
    night = calling_window("22:00-02:00", "Asia/Shanghai")
    assert night.is_open(_at(23)) and night.is_open(_at(1)) and not night.is_open(_at(12))
    assert calling_window("", "Asia/Shanghai").is_open(_at(3))
    for bad in ("8-20", "08:00-25:00", "08:60-09:00"):
        with pytest.raises(ValueError):
            calling_window(bad, "UTC")
