"""Asterisk's record of an outbound attempt (the dialplan's AstDB values) and the outcome
each dialler draws from it when no server saw the attempt end."""

from __future__ import annotations

import datetime as dt

from ctiserver.callbacks.model import Outcome
from ctiserver.callbacks.model import recorded_outcome as callback_outcome
from ctiserver.telephony.outbound import AttemptRecord, Found, parse_record, record_days
from ctiserver.visits.model import VisitOutcome
from ctiserver.visits.model import recorded_outcome as visit_outcome


def test_the_dialplans_values_are_read() -> None:
    assert parse_record("dial") == AttemptRecord(True, None)
    assert parse_record("end:ANSWER") == AttemptRecord(True, "ANSWER")
    assert parse_record("end:noanswer").status == "NOANSWER"  # type: ignore[union-attr]
    assert parse_record("end:") == AttemptRecord(False, "")
    assert parse_record("answer") == AttemptRecord(True, "ANSWER")
    assert parse_record("junk") is None


def test_an_attempts_record_is_looked_for_in_the_utc_days_its_dialplan_may_run() -> None:
    noon = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC).timestamp()
    assert record_days(noon, 120) == ["cti-attempt-20261206"]
    late = dt.datetime(2026, 12, 6, 23, 59, tzinfo=dt.UTC).timestamp()
    assert record_days(late, 1800) == ["cti-attempt-20261206", "cti-attempt-20261207"]


def test_a_callbacks_outcome_from_its_record() -> None:
    def outcome(found: Found) -> Outcome:
        return callback_outcome(found.dialled, found.status)

    assert outcome(Found(None, AttemptRecord(True, "ANSWER"))) is Outcome.CONNECTED
    assert outcome(Found(None, AttemptRecord(True, "BUSY"))) is Outcome.BUSY
    assert outcome(Found(None, AttemptRecord(True, "NOANSWER"))) is Outcome.NO_ANSWER
    assert outcome(Found(None, AttemptRecord(True, "CHANUNAVAIL"))) is Outcome.FAILED
    assert outcome(Found(None, AttemptRecord(True, "CANCEL"))) is Outcome.AGENT_MISSED
    # the customer was never dialled: not counted, due again
    assert outcome(Found(None, None)) is Outcome.AGENT_MISSED
    assert outcome(Found(None, AttemptRecord(False, ""))) is Outcome.AGENT_MISSED
    # dialled and no end written (Asterisk stopped), or too old for a record: unknown, counted
    assert outcome(Found(None, AttemptRecord(True, None))) is Outcome.FAILED
    assert outcome(Found(None, None, expired=True)) is Outcome.FAILED


def test_a_visits_outcome_from_its_record() -> None:
    assert visit_outcome("agent", True, "ANSWER") is VisitOutcome.ANSWERED
    assert visit_outcome("agent", False, None) is VisitOutcome.AGENT_MISSED
    assert visit_outcome("agent", True, None) is VisitOutcome.FAILED
    assert visit_outcome("auto", True, "ANSWER") is VisitOutcome.NO_SCORE
    assert visit_outcome("auto", False, None) is VisitOutcome.NO_ANSWER
    assert visit_outcome("auto", True, None) is VisitOutcome.FAILED
