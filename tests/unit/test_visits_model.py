"""The return visit's rules, pure: outcomes and retries with back-off up to unreached, what a
score does to the ticket, which statuses may be called or scored, digits only to Dial."""

from __future__ import annotations

import pytest

from ctiserver.visits.model import (
    VisitOutcome,
    VisitPolicy,
    VisitRefused,
    VisitStatus,
    after_attempt,
    check_call,
    check_result,
    dial_outcome,
    digits_only,
    hangup_outcome,
    verdict,
)

POLICY = VisitPolicy(max_attempts=3, retry_min=60, retry_max=100, close_score=4, complaint_score=1)


def test_an_unanswered_call_is_retried_with_back_off_then_unreached() -> None:
    first = after_attempt(VisitOutcome.NO_ANSWER, 0, 1000.0, POLICY)
    assert (first.status, first.attempts, first.next_at) == (VisitStatus.PENDING, 1, 1060.0)
    second = after_attempt(VisitOutcome.BUSY, 1, 2000.0, POLICY)
    assert (second.status, second.attempts, second.next_at) == (VisitStatus.PENDING, 2, 2100.0)  # 120 capped
    third = after_attempt(VisitOutcome.FAILED, 2, 3000.0, POLICY)
    assert (third.status, third.attempts, third.next_at) == (VisitStatus.UNREACHED, 3, None)
    assert after_attempt(VisitOutcome.NO_SCORE, 2, 3000.0, POLICY).status is VisitStatus.UNREACHED


def test_an_agent_who_missed_the_ring_does_not_count_and_an_answer_waits_for_the_score() -> None:
    missed = after_attempt(VisitOutcome.AGENT_MISSED, 2, 500.0, POLICY)
    assert (missed.status, missed.attempts, missed.next_at) == (VisitStatus.PENDING, 2, 500.0)
    answered = after_attempt(VisitOutcome.ANSWERED, 1, 500.0, POLICY)
    assert (answered.status, answered.attempts, answered.next_at) == (VisitStatus.CALLING, 1, None)


@pytest.mark.parametrize(("score", "status", "complaint"), [
    (5, "closed", False), (4, "closed", False), (3, "reopened", False), (2, "reopened", False), (1, "reopened", True),
])
def test_the_score_closes_or_reopens_the_ticket_and_the_worst_opens_a_complaint(
    score: int, status: str, complaint: bool,
) -> None:
    decided = verdict(score, POLICY)
    assert (decided.ticket_status, decided.complaint) == (status, complaint)


def test_the_thresholds_are_settings() -> None:
    strict = VisitPolicy(close_score=5, complaint_score=2)
    assert verdict(4, strict).ticket_status == "reopened"
    assert verdict(2, strict).complaint
    assert not verdict(1, VisitPolicy(complaint_score=0)).complaint


@pytest.mark.parametrize("score", [0, 6, -1, True, "5", 4.5])
def test_a_score_is_one_to_five(score: object) -> None:
    with pytest.raises(VisitRefused):
        verdict(score, POLICY)  # type: ignore[arg-type]


def test_which_statuses_may_be_called_and_scored() -> None:
    for status in ("pending", "calling"):
        check_call(status)
    for status in ("done", "unreached", "cancelled"):
        with pytest.raises(VisitRefused):
            check_call(status)
    for status in ("pending", "calling", "unreached"):
        check_result(status, 3)
    for status in ("done", "cancelled"):
        with pytest.raises(VisitRefused):
            check_result(status, 3)


def test_outcomes_from_the_dial_and_the_hangup_cause() -> None:
    assert [dial_outcome(s) for s in ("ANSWER", "busy", "NOANSWER", "CANCEL", "CHANUNAVAIL")] == [
        VisitOutcome.ANSWERED, VisitOutcome.BUSY, VisitOutcome.NO_ANSWER, VisitOutcome.AGENT_MISSED, VisitOutcome.FAILED,
    ]
    assert hangup_outcome(17) is VisitOutcome.BUSY
    assert hangup_outcome(19) is VisitOutcome.NO_ANSWER and hangup_outcome(None) is VisitOutcome.NO_ANSWER


def test_only_ascii_digits_reach_the_dial() -> None:
    assert digits_only("+86 138-0013,8000") == "8613800138000"
    assert digits_only("１３８²;Hangup()&x") == ""
