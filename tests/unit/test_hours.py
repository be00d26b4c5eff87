"""Business hours: spans in the node's time zone, weekdays, holidays."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ctiserver.calendar import DAYS, DayRules, minutes
from ctiserver.ivr.engine.routing import opening_hours


def is_open(node, at):
    """An ``hours`` node's own hours and dates (no public holidays: the engine's default)."""
    return opening_hours(node, DayRules()).is_open(at)

SHANGHAI_OFFICE = {
    "timezone": "Asia/Shanghai",
    "open": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "18:00"},
        {"days": ["sat"], "from": "10:00", "to": "16:00"},
    ],
    "holidays": ["2025-10-01", "2025-10-02"],
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (utc(2025, 6, 2, 2, 0), True),  # Monday 10:00 in Shanghai, 02:00 UTC
        (utc(2025, 6, 2, 1, 0), True),  # 09:00 sharp: opening time is included
        (utc(2025, 6, 2, 0, 59), False),  # 08:59
        (utc(2025, 6, 2, 10, 0), False),  # 18:00 sharp: closing time is not
        (utc(2025, 6, 2, 9, 59), True),  # 17:59
        (utc(2025, 6, 1, 23, 30), False),  # Sunday 23:30 UTC is Monday 07:30 in Shanghai
        (utc(2025, 6, 1, 2, 0), False),  # Sunday 10:00 in Shanghai
        (utc(2025, 6, 7, 3, 0), True),  # Saturday 11:00
        (utc(2025, 6, 7, 8, 0), False),  # Saturday 16:00
        (utc(2025, 10, 1, 2, 0), False),  # Wednesday, National Day
        (utc(2025, 10, 3, 2, 0), True),  # Friday 3 October, 10:00
    ],
)
def test_shanghai_office(at: datetime, expected: bool):
    assert is_open(SHANGHAI_OFFICE, at) is expected


def test_the_same_instant_is_open_in_shanghai_and_closed_in_utc():
    at = utc(2025, 6, 2, 2, 0)
    assert is_open(SHANGHAI_OFFICE, at)
    assert not is_open({**SHANGHAI_OFFICE, "timezone": "UTC"}, at)


def test_any_timezone_of_the_instant_gives_the_same_answer():
    at = utc(2025, 6, 2, 2, 0)
    assert is_open(SHANGHAI_OFFICE, at.astimezone(timezone(timedelta(hours=-5))))


def test_naive_datetimes_are_utc():
    assert is_open(SHANGHAI_OFFICE, datetime(2025, 6, 2, 2, 0))


ALWAYS = {"timezone": "Asia/Shanghai", "open": [{"days": list(DAYS), "from": "00:00", "to": "24:00"}]}


def test_holidays_are_local_dates():
    node = {**ALWAYS, "holidays": ["2025-06-03"]}
    assert not is_open(node, utc(2025, 6, 2, 17, 0))  # 2 June in UTC, 3 June 01:00 in Shanghai
    assert is_open(node, utc(2025, 6, 3, 17, 0))  # 3 June in UTC, 4 June 01:00 in Shanghai


def test_until_midnight_and_all_week():
    assert is_open(ALWAYS, utc(2025, 6, 1, 15, 59))  # Sunday 23:59 local
    assert is_open(ALWAYS, utc(2025, 6, 1, 16, 0))  # Monday 00:00 local


def test_no_spans_means_closed():
    assert not is_open({"timezone": "UTC", "open": []}, utc(2025, 6, 2, 12, 0))


@pytest.mark.parametrize(("value", "expected"), [("00:00", 0), ("09:30", 570), ("24:00", 1440), (540, 540)])
def test_minutes(value, expected):
    assert minutes(value) == expected


@pytest.mark.parametrize("value", ["9", "09:60", "25:00", "ab:cd", "9:5"])
def test_bad_times(value):
    with pytest.raises(ValueError):
        minutes(value)
