"""The ticket's pure model: the kinds' fields, every transition, the SLA clock in business hours
(nights, weekends, holidays, pauses), and the dispatch rules."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from ctiserver.calendar import BusinessCalendar
from ctiserver.dispatch.model import Rule, match
from ctiserver.tickets.model.kinds import KIND_FIELDS, FieldsInvalid, kinds_meta, validate_fields
from ctiserver.tickets.model.sla import Move, SlaPolicy, SlaRules, SlaTargets, sla_clock
from ctiserver.tickets.model.workflow import TRANSITIONS, TransitionRefused, check_move
from ctiserver.vocabulary import TICKET_STATUSES, TICKET_TYPES

CST = dt.timezone(dt.timedelta(hours=8))
H = 3600.0


def at(day: int, hour: int, minute: int = 0, month: int = 9) -> dt.datetime:
    """A moment of 2026 in Beijing time, as UTC (2026-09-28 is a Monday)."""
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CST).astimezone(dt.UTC)


# -- kinds -------------------------------------------------------------------


def test_every_kind_declares_its_fields_with_the_stable_keys() -> None:
    assert tuple(KIND_FIELDS) == TICKET_TYPES and "removal" in TICKET_TYPES
    keys = {kind: [spec.key for spec in specs] for kind, specs in KIND_FIELDS.items()}
    assert {"product_model", "serial", "fault_symptom", "fault_code", "appointment_start", "appointment_end",
            "engineer_id", "parts", "result", "distance_km"} <= set(keys["repair"])
    assert keys["complaint"] == ["about", "severity", "resolution"]
    for kind in ("installation", "moving", "removal"):
        assert {"address", "appointment_start", "appointment_end"} <= set(keys[kind])
    meta = kinds_meta()
    about = next(f for f in meta["complaint"] if f["key"] == "about")
    assert about == {"key": "about", "type": "choice", "choices": ["product", "service", "engineer", "branch"],
                     "max_length": None, "minimum": None, "maximum": None, "desk": True}
    # the agent opening a ticket fills what the caller says; the department the rest
    desk = {kind: {f["key"] for f in fields if f["desk"]} for kind, fields in meta.items()}
    assert desk["repair"] == {"product_model", "serial", "fault_symptom", "fault_code", "address"}
    assert desk["complaint"] == {"about", "severity"}
    assert desk["installation"] == {"address"}


def test_valid_fields_are_stored_as_json() -> None:
    stored = validate_fields("repair", {
        "product_model": "KFR-35GW", "serial": "SN001", "parts": ["压缩机", "电容"], "distance_km": 12,
        "appointment_start": "2026-09-30T09:00:00+08:00", "appointment_end": "2026-09-30T11:00:00+08:00",
        "engineer_id": 7, "result": "parts_replaced",
    })
    assert stored["distance_km"] == 12.0 and stored["parts"] == ["压缩机", "电容"]
    assert stored["appointment_start"] == "2026-09-30T09:00:00+08:00"
    assert validate_fields("complaint", {"about": "engineer", "severity": "high"}) == {
        "about": "engineer", "severity": "high"}
    assert validate_fields("inquiry", {}) == {}


@pytest.mark.parametrize(("kind", "fields", "message"), [
    ("complaint", {"about": "weather"}, "about"),
    ("complaint", {"severity": "apocalyptic"}, "severity"),
    ("complaint", {"fault_code": "E1"}, "no field fault_code"),
    ("repair", {"distance_km": -1}, "distance_km"),
    ("repair", {"distance_km": "far"}, "distance_km"),
    ("repair", {"parts": "压缩机"}, "parts"),
    ("repair", {"serial": "x" * 65}, "serial"),
    ("repair", {"engineer_id": 0}, "engineer_id"),
    ("repair", {"appointment_start": "2026-09-30 09:00"}, "appointment_start"),
    ("installation", {"appointment_start": "2026-09-30T11:00:00+08:00",
                      "appointment_end": "2026-09-30T09:00:00+08:00"}, "after"),
    ("inquiry", {"address": "x"}, "no field address"),
    ("party", {}, "unknown ticket kind"),
])
def test_invalid_fields_are_refused(kind: str, fields: dict[str, object], message: str) -> None:
    with pytest.raises(FieldsInvalid, match=message):
        validate_fields(kind, fields)


def test_the_ivr_keeps_its_own_keys_as_text() -> None:
    assert validate_fields("repair", {"product": "空调", "fault_code": "E3"}, free=True) == {
        "fault_code": "E3", "product": "空调"}


# -- transitions ---------------------------------------------------------------

ALLOWED = {
    ("new", "dispatched"), ("new", "cancelled"),
    ("dispatched", "dispatched"), ("dispatched", "scheduled"), ("dispatched", "in_progress"),
    ("dispatched", "cancelled"),
    ("scheduled", "scheduled"), ("scheduled", "in_progress"), ("scheduled", "cancelled"),
    ("in_progress", "waiting_customer"), ("in_progress", "waiting_parts"), ("in_progress", "completed"),
    ("waiting_customer", "in_progress"), ("waiting_parts", "in_progress"),
    ("completed", "return_visit"), ("completed", "closed"),
    ("return_visit", "closed"), ("return_visit", "reopened"),
    ("reopened", "dispatched"), ("reopened", "in_progress"), ("reopened", "cancelled"),
}


@pytest.mark.parametrize(("current", "to"), list(itertools.product(TICKET_STATUSES, TICKET_STATUSES)))
def test_every_transition_is_allowed_or_refused(current: str, to: str) -> None:
    if (current, to) in ALLOWED:
        assert check_move("R1", current, to)
    else:
        with pytest.raises(TransitionRefused, match=f"cannot go from {current} to {to}"):
            check_move("R1", current, to)


def test_the_table_is_the_one_asked_for_and_moves_name_their_events() -> None:
    assert {(a, b) for a, tos in TRANSITIONS.items() for b in tos} == ALLOWED
    assert check_move("R1", "dispatched", "in_progress") == "started"
    assert check_move("R1", "waiting_parts", "in_progress") == "resumed"
    assert check_move("R1", "in_progress", "waiting_customer") == "waiting"
    assert check_move("R1", "scheduled", "scheduled") == "scheduled"
    assert check_move("R1", "return_visit", "reopened") == "reopened"
    with pytest.raises(TransitionRefused, match="unknown ticket status"):
        check_move("R1", "new", "done")


# -- business hours and the SLA clock -------------------------------------------

CALENDAR = BusinessCalendar.parse(
    ["mon-fri 09:00-18:00", "sat 09:00-12:00"], ["2026-10-01", "2026-10-02"], "Asia/Shanghai"
)


def test_business_time_skips_nights_weekends_and_holidays() -> None:
    # Friday 17:00 -> Monday 10:00: 1 h Friday, 3 h Saturday morning, 1 h Monday
    assert CALENDAR.seconds_between(at(25, 17), at(28, 10)) == 5 * H
    # Wednesday 30th 17:00 -> Saturday 3rd 10:00: 1 h, two holidays, 1 h on Saturday
    assert CALENDAR.seconds_between(at(30, 17), at(3, 10, month=10)) == 2 * H
    assert CALENDAR.seconds_between(at(28, 20), at(28, 22)) == 0
    assert CALENDAR.add(at(30, 16), 4 * H) == at(3, 11, month=10)
    assert CALENDAR.add(at(26, 11, 30), 30 * 60) == at(26, 12)  # Saturday closes at noon
    assert CALENDAR.add(at(26, 11, 30), H) == at(28, 9, 30)
    assert CALENDAR.add(at(27, 3), 0) == at(28, 9)


def test_calendar_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown day"):
        BusinessCalendar.parse(["mon-fry 09:00-18:00"], [], "UTC")
    with pytest.raises(ValueError, match="ends before"):
        BusinessCalendar.parse(["mon 18:00-09:00"], [], "UTC")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        BusinessCalendar.parse([], ["30/09/2026"], "UTC")


def test_response_and_resolution_across_a_night() -> None:
    targets = SlaTargets(response=4 * H, resolution=16 * H)
    created = at(29, 16)  # Tuesday 16:00
    clock = sla_clock(created, [Move(at(30, 10), "in_progress")], targets, CALENDAR, at(30, 12))
    assert clock.responded_at == at(30, 10)
    assert clock.response_used == 3 * H and not clock.breached
    assert clock.response_due == at(30, 11)
    assert clock.resolution_used == 5 * H  # 16-18 Tuesday, 9-12 Wednesday
    # 11 h left from Wednesday 12:00: 6 h Wednesday, then the 1st and 2nd are holidays,
    # 3 h Saturday, 2 h Monday
    assert clock.resolution_due == at(5, 11, month=10)
    assert clock.due == clock.resolution_due
    assert clock.level == 0 and clock.used == pytest.approx(5 / 16)


def test_waiting_pauses_the_clock() -> None:
    targets = SlaTargets(response=4 * H, resolution=8 * H)
    created = at(28, 9)  # Monday 09:00
    moves = [Move(at(28, 10), "in_progress"), Move(at(28, 11), "waiting_parts"),
             Move(at(29, 15), "in_progress")]
    clock = sla_clock(created, moves, targets, CALENDAR, at(29, 17))
    # counted: 9-11 Monday, then 15-17 Tuesday; waiting 11:00 Monday -> 15:00 Tuesday not counted
    assert clock.resolution_used == 4 * H
    assert clock.paused_seconds == 28 * H and not clock.paused
    assert clock.resolution_due == at(30, 12)  # 4 h left: 1 h Tuesday, 3 h Wednesday
    waiting = sla_clock(created, moves[:2], targets, CALENDAR, at(29, 17))
    assert waiting.paused and waiting.due is None and waiting.resolution_used == 2 * H
    # projected from now (Tuesday 17:00): 1 h Tuesday, 5 h Wednesday
    assert waiting.resolution_due == at(30, 14)


def test_completion_stops_the_clock_and_reopening_runs_it_again() -> None:
    targets = SlaTargets(response=2 * H, resolution=4 * H)
    created = at(28, 9)
    moves = [Move(at(28, 10), "in_progress"), Move(at(28, 12), "completed"), Move(at(29, 9), "return_visit"),
             Move(at(29, 10), "reopened")]
    done = sla_clock(created, moves[:2], targets, CALENDAR, at(29, 17))
    assert done.completed_at == at(28, 12) and done.due is None and done.resolution_used == 3 * H
    assert done.level == 0 and not done.breached
    again = sla_clock(created, moves, targets, CALENDAR, at(29, 11))
    assert again.completed_at is None and again.resolution_used == 4 * H
    assert again.breached and again.level == 2


def test_escalation_levels_by_threshold() -> None:
    targets = SlaTargets(response=10 * H, resolution=40 * H)
    created = at(28, 9)
    assert sla_clock(created, [], targets, CALENDAR, at(28, 16, 59)).level == 0
    at_80 = sla_clock(created, [], targets, CALENDAR, at(28, 17))
    assert at_80.level == 1 and at_80.used == pytest.approx(0.8) and not at_80.breached
    late = sla_clock(created, [], targets, CALENDAR, at(29, 10))
    assert late.level == 2 and late.breached and late.due == at(29, 10)
    # a late response stays breached once responded
    responded = sla_clock(created, [Move(at(29, 11), "scheduled")], targets, CALENDAR, at(29, 12))
    assert responded.breached and responded.level == 0


def test_policy_urgent_and_vip_targets() -> None:
    policy = SlaPolicy.parse(["* normal 4h 40h", "* urgent 1h 16h", "complaint normal 30m 8"])
    assert policy.for_ticket("repair", "normal", vip=False) == SlaTargets(4 * H, 40 * H)
    assert policy.for_ticket("repair", "normal", vip=True) == SlaTargets(1 * H, 16 * H)
    assert policy.for_ticket("complaint", "normal", vip=False) == SlaTargets(30 * 60, 8 * H)
    with pytest.raises(ValueError, match="no target for repair urgent"):
        SlaPolicy.parse(["* normal 4h 40h"])
    with pytest.raises(ValueError, match="unknown ticket kind"):
        SlaPolicy.parse(["party normal 4h 40h"])
    with pytest.raises(ValueError, match="increasing"):
        SlaRules.parse(sla=["* normal 1h 2h", "* urgent 1h 2h"], hours=[], holidays=[], timezone="UTC",
                       escalate_at=[1.0, 0.8])


# -- dispatch rules --------------------------------------------------------------

RULES = [
    Rule(1, "repair", None, None, "repair", None),
    Rule(2, "complaint", None, None, "complaint", None),
    Rule(3, "repair", "广东省", None, "repair", 10),
    Rule(4, "repair", "广东省", "深圳市", "repair", 11),
    Rule(5, None, "北京市", None, "support", 20),
    Rule(6, None, "广东省", None, "repair", 12),
]


@pytest.mark.parametrize(("kind", "province", "city", "department", "branch"), [
    ("repair", "广东省", "深圳市", "repair", 11),  # the city's branch
    ("repair", "广东省", "广州市", "repair", 10),  # the province's, kind-specific before kindless
    ("repair", "湖南省", "长沙市", "repair", None),  # no branch for the region
    ("repair", None, None, "repair", None),
    ("complaint", "北京市", None, "complaint", None),  # the kind's department; no complaint branch in Beijing
    ("inquiry", "北京市", "北京市", "support", 20),  # only the regional rule matches
])
def test_most_specific_rule_wins(
    kind: str, province: str | None, city: str | None, department: str, branch: int | None
) -> None:
    target = match(RULES, kind, province, city)
    assert target is not None and (target.department, target.branch_id) == (department, branch)


def test_no_matching_rule() -> None:
    assert match(RULES, "inquiry", "湖南省", None) is None
