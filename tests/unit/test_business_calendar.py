"""The business calendar across China's 2026 arrangement (国务院办公厅关于2026年部分节假日安排
的通知, 4 November 2025): Spring Festival 15-23 February off, Saturdays 14 and 28 February
worked; National Day 1-7 October off, Sunday 20 September and Saturday 10 October worked.
The calendar itself, an SLA clock and a callback window on it (the IVR's hours node:
tests/unit/test_flow_engine.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ctiserver.agents.model import AgentBoard
from ctiserver.calendar import BusinessCalendar, DayRules, WeeklyHours, uncovered_note
from ctiserver.callbacks.dialer import CallbackDialer
from ctiserver.callbacks.model import Miss, Policy, Source, calling_window
from ctiserver.callbacks.store import CallbackRepository
from ctiserver.settings import CalendarSettings, Settings, SettingsError, load_settings
from ctiserver.storage.database import Database
from ctiserver.telephony.events import QueueMemberAdded
from ctiserver.tickets.model.sla import Move, SlaRules, SlaTargets, sla_clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = 3600.0
OFFICIAL = DayRules.official("CN")
OFFICE = BusinessCalendar.parse(["mon-fri 09:00-18:00"], [], "Asia/Shanghai", days=OFFICIAL)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A 2026 local time in Shanghai, as UTC."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def days_of(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# -- the official arrangement ---------------------------------------------------


def test_the_package_holds_the_2026_arrangement_as_published() -> None:
    assert OFFICIAL.years is not None and OFFICIAL.years[1] >= 2026
    spring = days_of(dt.date(2026, 2, 15), dt.date(2026, 2, 23))
    national = days_of(dt.date(2026, 10, 1), dt.date(2026, 10, 7))
    for day in spring + national:
        assert OFFICIAL.kind(day) == "holiday", day
    for day in (dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 9, 20), dt.date(2026, 10, 10)):
        assert OFFICIAL.kind(day) == "workday", day
    assert [d.strftime("%a") for d in (dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 10, 10))] == \
        ["Sat"] * 3
    for day in (dt.date(2026, 2, 13), dt.date(2026, 2, 24), dt.date(2026, 9, 30), dt.date(2026, 10, 8)):
        assert OFFICIAL.kind(day) is None, day  # ordinary working days around them
    assert OFFICIAL.kind(dt.date(2026, 2, 7)) is None  # an ordinary Saturday: the weekly hours say


def test_a_year_the_package_does_not_know_is_told_and_the_operator_fills_it() -> None:
    assert OFFICIAL.years is not None
    after = OFFICIAL.years[1] + 1
    note = uncovered_note(OFFICIAL, after)
    assert note is not None and str(after) in note and "calendar.holidays" in note
    filled = OFFICIAL.plus(holidays=[f"{after}-01-01"])
    assert filled.uncovered(after, after + 1) == [after + 1]
    assert f"for {after + 1}:" in (uncovered_note(filled, after) or "")
    assert uncovered_note(DayRules.official(""), after) is None
    assert uncovered_note(OFFICIAL, 2025) is None


def test_the_operators_dates_win_over_the_official_ones() -> None:
    own = OFFICIAL.plus(holidays=["2026-02-14", "2026-12-31"], workdays=["2026-02-16"])
    assert own.kind(dt.date(2026, 2, 14)) == "holiday"
    assert own.kind(dt.date(2026, 2, 16)) == "workday"
    assert own.kind(dt.date(2026, 12, 31)) == "holiday"
    with pytest.raises(ValueError, match="both a holiday and a working day"):
        OFFICIAL.plus(holidays=["2026-12-31"], workdays=["2026-12-31"])
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        OFFICIAL.plus(workdays=["31/12/2026"])
    with pytest.raises(ValueError, match="not known"):
        DayRules.official("US")


def test_settings_shape_and_its_errors() -> None:
    settings = load_settings(environ={"CTISERVER_CALENDAR__HOLIDAYS": "2026-12-31",
                                      "CTISERVER_CALENDAR__WORKDAYS": "2026-12-27"})
    days = DayRules.from_settings(settings.calendar)
    assert days.kind(dt.date(2026, 12, 31)) == "holiday" and days.kind(dt.date(2026, 12, 27)) == "workday"
    assert days.kind(dt.date(2026, 10, 1)) == "holiday"
    assert DayRules.from_settings(CalendarSettings(official="")).kind(dt.date(2026, 10, 1)) is None
    for env, message in [
        ({"CTISERVER_CALENDAR__OFFICIAL": "HK"}, "calendar.official"),
        ({"CTISERVER_CALENDAR__HOLIDAYS": "2026-02-30"}, "calendar.holidays"),
        ({"CTISERVER_CALENDAR__WORKDAY_HOURS": "someday"}, "calendar.workday_hours"),
        ({"CTISERVER_CALENDAR__HOLIDAYS": "2026-12-31", "CTISERVER_CALENDAR__WORKDAYS": "2026-12-31"}, "both"),
    ]:
        with pytest.raises(SettingsError, match=message):
            load_settings(environ=env)


# -- the calendar ---------------------------------------------------------------


def test_open_and_closed_around_the_spring_festival() -> None:
    assert OFFICE.is_open(at(2, 13))  # Friday
    assert OFFICE.is_open(at(2, 14))  # make-up Saturday, with Monday's hours
    assert not OFFICE.is_open(at(2, 14, 8, 59)) and not OFFICE.is_open(at(2, 14, 18))
    assert not OFFICE.is_open(at(2, 16))  # Monday, Spring Festival
    assert not OFFICE.is_open(at(2, 23))  # Monday, its last day
    assert OFFICE.is_open(at(2, 24))
    assert not OFFICE.is_open(at(2, 7))  # an ordinary Saturday
    assert OFFICE.is_open(at(2, 28))  # the second make-up Saturday
    assert OFFICE.is_open(at(9, 20)) and not OFFICE.is_open(at(10, 1)) and OFFICE.is_open(at(10, 10))
    # epoch seconds and naive UTC are the same instants
    assert OFFICE.is_open(at(2, 14).timestamp()) and OFFICE.is_open(at(2, 14).replace(tzinfo=None))


def test_next_opening_and_the_window() -> None:
    assert OFFICE.next_open(at(2, 14, 18)) == at(2, 24, 9)  # nine days off between
    assert OFFICE.next_open(at(2, 14, 11)) == at(2, 14, 11)
    assert OFFICE.window(at(2, 14, 11)) == (at(2, 14, 9), at(2, 14, 18))
    assert OFFICE.window(at(9, 30, 19)) == (at(10, 8, 9), at(10, 8, 18))
    never = BusinessCalendar(SHANGHAI, WeeklyHours.build([]))
    assert never.window(at(1, 1)) is None and never.next_open(at(1, 1)) is None


def test_business_seconds_and_adding_them() -> None:
    # Friday 13 Feb 16:00 -> Tuesday 24 Feb 12:00: 2 h Friday, 9 h make-up Saturday, 3 h Tuesday
    assert OFFICE.seconds_between(at(2, 13, 16), at(2, 24, 12)) == 14 * H
    assert OFFICE.seconds_between(at(2, 15), at(2, 23, 23)) == 0
    assert OFFICE.add(at(2, 13, 16), 12 * H) == at(2, 24, 10)
    # National Day: Wednesday 30 Sep 17:00 + 4 h = 1 h, seven days off, 3 h on Thursday 8 Oct
    assert OFFICE.add(at(9, 30, 17), 4 * H) == at(10, 8, 12)


def test_a_make_up_day_keeps_its_own_hours_and_a_weekdays() -> None:
    week = WeeklyHours.parse(["mon-fri 09:00-18:00", "sat 08:00-12:00"])
    calendar = BusinessCalendar(SHANGHAI, week, OFFICIAL)
    assert calendar.window(at(2, 14, 8)) == (at(2, 14, 8), at(2, 14, 18))
    late = BusinessCalendar(SHANGHAI, WeeklyHours.parse("mon 13:00-21:00; tue-fri 09:00-18:00"),
                            DayRules.official("CN", workday_as="tue"))
    assert late.window(at(2, 14, 8)) == (at(2, 14, 9), at(2, 14, 18))


def test_text_hours() -> None:
    week = WeeklyHours.parse(["mon-fri 09:00-12:00; mon-fri 11:00-18:00", "sat,sun 10:00 - 16:00"])
    assert week.on(0) == ((540, 1080),) and week.on(6) == ((600, 960),)
    assert WeeklyHours.parse("08:00-20:00").on(3) == ((480, 1200),)
    night = WeeklyHours.parse("fri 22:00-02:00", overnight=True)
    assert night.on(4) == ((1320, 1440),) and night.on(5) == ((0, 120),)
    for bad, message in [("mon-fry 09:00-18:00", "unknown day"), ("mon 18:00-09:00", "ends before"),
                         ("9-18", "HH:MM"), ("mon 09:00-25:00", "time of day"), ("mon 09:00-09:00", "empty")]:
        with pytest.raises(ValueError, match=message):
            WeeklyHours.parse(bad)


def test_a_span_past_midnight_is_one_window() -> None:
    nights = BusinessCalendar.parse("22:00-02:00", (), "Asia/Shanghai", overnight=True)
    assert nights.window(at(3, 3, 23)) == (at(3, 3, 22), at(3, 4, 2))
    assert nights.window(at(3, 4, 1)) == (at(3, 3, 22), at(3, 4, 2))


# -- an SLA clock ----------------------------------------------------------------

RULES = SlaRules.parse(sla=["* normal 4h 16h", "* urgent 1h 8h"], hours=["mon-fri 09:00-18:00"], holidays=[],
                       timezone="Asia/Shanghai", escalate_at=[0.8, 1.0], days=OFFICIAL)


def test_an_sla_deadline_across_the_spring_festival_counts_the_make_up_saturday() -> None:
    created = at(2, 13, 16)  # Friday before the festival, 16:00
    clock = RULES.clock("repair", "normal", created, [], at(2, 13, 17))
    # response 4 h: 2 h on Friday, 2 h on the make-up Saturday
    assert clock.response_due == at(2, 14, 11)
    # resolution 16 h: 2 h Friday, 9 h Saturday 14th, the festival (15-23) not counted, 5 h Tuesday 24th
    assert clock.resolution_due == at(2, 24, 14)
    # without the official days the same hours would fall due on Tuesday 17th, mid-festival
    plain = SlaRules.parse(sla=["* normal 4h 16h", "* urgent 1h 8h"], hours=["mon-fri 09:00-18:00"], holidays=[],
                           timezone="Asia/Shanghai", escalate_at=[0.8, 1.0])
    assert plain.clock("repair", "normal", created, [], at(2, 13, 17)).resolution_due == at(2, 17, 14)


def test_an_sla_clock_run_through_the_festival_with_a_pause() -> None:
    targets = SlaTargets(response=4 * H, resolution=16 * H)
    created = at(2, 13, 16)
    moves = [Move(at(2, 14, 10), "in_progress"), Move(at(2, 14, 12), "waiting_parts"),
             Move(at(2, 24, 9), "in_progress")]
    clock = sla_clock(created, moves, targets, RULES.calendar, at(2, 24, 12), RULES.thresholds)
    assert clock.responded_at == at(2, 14, 10) and clock.response_used == 3 * H and not clock.breached
    # counted: 2 h Friday, 3 h Saturday 9-12 (waiting from noon), 3 h Tuesday 9-12
    assert clock.resolution_used == 8 * H and clock.used == pytest.approx(0.5) and clock.level == 0
    assert clock.resolution_due == at(2, 25, 11)  # 8 h left: 6 h Tuesday, 2 h Wednesday
    on_holiday = sla_clock(created, moves[:1], targets, RULES.calendar, at(2, 20, 12), RULES.thresholds)
    assert on_holiday.resolution_used == 11 * H  # the festival's days do not count


# -- a callback window -----------------------------------------------------------


def test_the_calling_window_follows_holidays_and_make_up_days() -> None:
    window = calling_window("mon-fri 08:00-20:00", "Asia/Shanghai", OFFICIAL)
    assert not window.is_open(at(2, 16).timestamp())  # a holiday Monday
    assert not window.is_open(at(10, 2).timestamp())  # a holiday Friday
    assert window.is_open(at(2, 14).timestamp())  # make-up Saturday
    assert window.is_open(at(9, 20).timestamp())  # make-up Sunday
    assert not window.is_open(at(2, 7).timestamp())  # an ordinary Saturday
    every_day = calling_window("08:00-20:00", "Asia/Shanghai", OFFICIAL)
    assert every_day.is_open(at(2, 7).timestamp()) and not every_day.is_open(at(2, 17).timestamp())
    anytime = calling_window("", "Asia/Shanghai", OFFICIAL)
    assert anytime.is_open(at(2, 17, 3).timestamp())
    with pytest.raises(ValueError, match="calling window"):
        calling_window("mon-fri 8-20", "Asia/Shanghai", OFFICIAL)


AGENT = "Local/{extension}@lab-agents/n"


class Ami:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send_action(self, action: dict[str, str]) -> dict[str, str]:
        self.sent.append(action)
        return {"Response": "Success"}


def _dialer(db: Database, now: list[float]) -> tuple[CallbackDialer, CallbackRepository, Ami]:
    settings = Settings().replace(hotline={"agent_interface": AGENT, "callback_interface": "Local/{number}@c"})
    queues = tuple(dataclasses.replace(q, hours="mon-fri 08:00-20:00") for q in settings.hotline.queues)
    settings = settings.replace(hotline={"queues": queues})
    board = AgentBoard(clock=lambda: now[0])
    for n, extension in enumerate(("1001", "1002")):
        board.handle(QueueMemberAdded(now[0] - 100 + n, "support", AGENT.format(extension=extension),
                                      member_name=f"agent {extension}", paused=False))
    store = CallbackRepository(db, Policy(expire_after=30 * 86400))
    ami = Ami()
    dialer = CallbackDialer(store, ami, board, settings, clock=lambda: now[0],  # type: ignore[arg-type]
                            changed=lambda task: None, offer=lambda interface, body: None)
    return dialer, store, ami


async def test_the_dialler_waits_through_a_holiday_weekday_and_dials_on_a_make_up_saturday(db: Database) -> None:
    now = [at(2, 7).timestamp()]  # an ordinary Saturday
    dialer, store, ami = _dialer(db, now)
    await store.record_miss(Miss("13800000001", Source.ABANDONED, now[0] - 50, queue="support"))
    assert await dialer.tick() == 0 and len(dialer.free_agents("support")) == 2
    now[0] = at(2, 14).timestamp()  # the make-up Saturday
    assert await dialer.tick() == 1
    assert ami.sent[0]["Exten"] == "13800000001"
    now[0] = at(2, 16).timestamp()  # Monday, Spring Festival
    await store.record_miss(Miss("13800000002", Source.ABANDONED, now[0] - 50, queue="support"))
    assert await dialer.tick() == 0 and len(dialer.free_agents("support")) == 1, "a free agent, but a holiday"
    now[0] = at(2, 24).timestamp()  # Tuesday after the festival
    assert await dialer.tick() == 1
    assert ami.sent[1]["Exten"] == "13800000002"
