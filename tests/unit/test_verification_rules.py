"""Art. 15-20: dispatch, deadlines, the employer route, results and the Art. 18 records."""

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from certification.errors import RuleViolation, ValidationFailed
from certification.verification import (
    DeathRecord,
    DecisionProposal,
    HomeVisitReason,
    HomeVisitRequest,
    HomeVisitStatus,
    ProposalKind,
    ProposalStatus,
    Statement,
    TaskRoute,
    TaskStatus,
    VerificationChannel,
    VerificationResult,
    VerificationTask,
    deadline_for,
)

NOW = datetime(2026, 11, 27, 3, tzinfo=UTC)


def task(work_injury=False, received=date(2026, 11, 27)):
    return VerificationTask.dispatch(
        person_id=uuid4(),
        district_code="500103",
        township_code="500103001",
        work_injury=work_injury,
        received_on=received,
        source="comparison_run",
        source_id=uuid4(),
    )


@pytest.mark.parametrize(
    ("received", "deadline"),
    [
        (date(2026, 11, 27), date(2027, 2, 27)),
        (date(2026, 11, 30), date(2027, 2, 28)),  # no 30 February: the month's last day
        (date(2027, 11, 30), date(2028, 2, 29)),  # leap year
        (date(2026, 1, 31), date(2026, 4, 30)),
    ],
)
def test_the_deadline_is_three_months_from_receipt(received, deadline):
    assert deadline_for(received) == deadline
    assert task(received=received).deadline_on == deadline


def test_overdue_only_after_the_deadline_and_while_open():
    t = task()
    assert not t.is_overdue(date(2027, 2, 27))
    assert t.is_overdue(date(2027, 2, 28))
    t.record(
        result=VerificationResult.QUALIFIED,
        channel=VerificationChannel.APP,
        evidence=[],
        statement=None,
        note=None,
        actor_id=None,
        at=NOW,
    )
    assert not t.is_overdue(date(2027, 3, 1))


def test_work_injury_goes_to_the_employer_first_then_the_township():
    t = task(work_injury=True)
    assert t.route is TaskRoute.EMPLOYER
    assert task(work_injury=False).route is TaskRoute.TOWNSHIP
    t.employer_could_not_confirm(date(2026, 12, 10), "单位已注销", None)
    assert t.route is TaskRoute.TOWNSHIP
    assert (t.received_on, t.deadline_on) == (date(2026, 12, 10), date(2027, 3, 10))
    assert t.employer_note == "单位已注销"
    with pytest.raises(RuleViolation, match="already with the township"):
        t.employer_could_not_confirm(date(2026, 12, 11), "again", None)


def test_only_an_employer_task_can_be_confirmed_by_the_employer():
    with pytest.raises(ValidationFailed, match="employer"):
        task().record(
            result=VerificationResult.QUALIFIED,
            channel=VerificationChannel.EMPLOYER,
            evidence=["verification/x/1.jpg"],
            statement=None,
            note=None,
            actor_id=None,
            at=NOW,
        )


def test_qualified_needs_photo_or_video_unless_through_the_app():
    with pytest.raises(ValidationFailed, match="photo or video") as err:
        task().record(
            result=VerificationResult.QUALIFIED,
            channel=VerificationChannel.HOME_VISIT,
            evidence=[],
            statement=None,
            note=None,
            actor_id=None,
            at=NOW,
        )
    assert err.value.field == "evidence"


ON = date(2026, 10, 3)
SIGNED = Statement(
    reason="2026年10月病故",
    since=date(2026, 10, 3),
    signer_name="李明",
    signer_relationship="儿子",
    signature_key="verification/t/form.jpg",
)


@pytest.mark.parametrize(
    ("statement", "ok", "field"),
    [
        (None, False, "statement"),
        (SIGNED, True, None),
        (replace(SIGNED, since=None), False, "statement.since"),  # reason *and* date
        (
            Statement(reason="病故", since=ON, signer_name="李明", signer_relationship="儿子"),
            False,
            "statement",
        ),
        (Statement(reason="病故", since=ON, refused_to_sign=True), False, "statement.told_at"),
        (
            Statement(reason="病故", since=ON, refused_to_sign=True, told_on_spot=True),
            False,
            "statement.told_at",  # told on the spot: when
        ),
        (
            Statement(
                reason="病故", since=ON, refused_to_sign=True, told_on_spot=True, told_at=NOW
            ),
            True,
            None,
        ),
        (
            Statement(reason=" ", since=ON, refused_to_sign=True, told_on_spot=True, told_at=NOW),
            False,
            "statement.reason",
        ),
        # a person living alone: the death record stands for the statement
        (
            Statement(
                reason="独居老人病故",
                since=ON,
                death_record=DeathRecord.CREMATION,
                death_record_key="verification/t/cremation.jpg",
            ),
            True,
            None,
        ),
        (
            Statement(reason="病故", since=ON, death_record=DeathRecord.DEATH_CERTIFICATE),
            False,
            "statement.death_record_key",
        ),
        (
            Statement(
                reason="病故",
                since=ON,
                death_record=DeathRecord.VILLAGE_RECORD,
                death_record_key="verification/t/village.jpg",
                witnesses=("王村长", "王村长"),
            ),
            False,
            "statement.witnesses",  # two different people
        ),
        (
            Statement(
                reason="病故",
                since=ON,
                death_record=DeathRecord.VILLAGE_RECORD,
                death_record_key="verification/t/village.jpg",
                witnesses=("王村长", "邻居刘芳"),
            ),
            True,
            None,
        ),
    ],
)
def test_art18_statement_or_on_the_spot_notice(statement, ok, field):
    t = task()

    def record():
        t.record(
            result=VerificationResult.LOST,
            channel=VerificationChannel.HOUSEHOLD_SURVEY,
            evidence=[],
            statement=statement,
            note=None,
            actor_id=None,
            at=NOW,
        )

    if ok:
        record()
        assert t.status is TaskStatus.DONE
        assert t.statement is not None and t.statement["reason"] == statement.reason
    else:
        with pytest.raises(ValidationFailed) as err:
            record()
        assert err.value.field == field
        assert t.status is TaskStatus.OPEN


def test_a_task_is_recorded_once():
    t = task()
    t.cancel("certified at the counter meanwhile", None, NOW)
    with pytest.raises(RuleViolation, match="cancelled"):
        t.cancel("again", None, NOW)


def test_a_proposal_is_decided_once_and_dismissal_needs_a_reason():
    p = DecisionProposal(
        kind=ProposalKind.SUSPEND,
        person_id=uuid4(),
        entitlement_id=uuid4(),
        district_code="500103",
        source="comparison_run",
        source_id=None,
        reason="lost_qualification: cremation",
    )
    with pytest.raises(ValidationFailed, match="why"):
        p.decide(ProposalStatus.DISMISSED, "", None, NOW)
    p.decide(ProposalStatus.DISMISSED, "the death record is of a namesake", None, NOW)
    with pytest.raises(RuleViolation, match="already dismissed"):
        p.decide(ProposalStatus.CONFIRMED, None, None, NOW)


def test_home_visit_is_taken_scheduled_and_closed():
    r = HomeVisitRequest(
        person_id=uuid4(),
        district_code="500103",
        township_code="500103001",
        reason=HomeVisitReason.ELDERLY,
        requested_via="phone",
    )
    with pytest.raises(RuleViolation, match="Schedule"):
        r.close(HomeVisitStatus.DONE, "visited", None, NOW)
    with pytest.raises(ValidationFailed, match="today or later"):
        r.schedule(date(2026, 11, 1), date(2026, 11, 27), None)
    r.schedule(date(2026, 12, 2), date(2026, 11, 27), None)
    r.close(HomeVisitStatus.DONE, "本人在家，精神良好", None, NOW)
    assert r.status is HomeVisitStatus.DONE
    with pytest.raises(RuleViolation):
        r.schedule(date(2026, 12, 3), date(2026, 11, 27), None)


def test_a_runs_progress_bar_follows_the_notes_the_run_writes() -> None:
    from datetime import date

    from certification.services.runs import APPLYING, progress_percent
    from certification.verification import ComparisonRun

    run = ComparisonRun(date(2026, 1, 1), date(2026, 11, 27), None, None)
    assert progress_percent(run) == 0  # queued
    run.advance("exporting")
    assert progress_percent(run) == 5
    run.progress = "classifying 1000 benefits"
    assert progress_percent(run) == 10
    run.progress = "storing the lists"
    assert progress_percent(run) == 20
    run.counts = {"qualified": 800, "lost": 50, "to_verify": 150}
    run.progress = f"{APPLYING}500 people done"
    assert progress_percent(run) == 20 + int(79 * 500 / 1000)
    run.finish_applied(datetime(2026, 11, 27, 12, tzinfo=UTC))
    assert progress_percent(run) == 100
    with pytest.raises(RuleViolation, match="applied cannot become running"):
        run.advance("exporting")  # a redelivered task cannot take a finished run back


def test_the_audit_trail_keeps_an_art18_record_with_the_names_masked():
    from certification.privacy import mask_name, redacted_statement

    full = Statement(
        reason="病故",
        since=ON,
        signer_name="李明",
        signer_relationship="儿子",
        signature_key="verification/t/form.jpg",
        witnesses=("王建国", "刘芳"),
    ).as_dict()
    kept = redacted_statement(full)
    assert kept is not None
    assert kept["signer_name"] == "李*" and kept["witnesses"] == ["王**", "刘*"]
    assert kept["reason"] == "病故" and kept["signer_relationship"] == "儿子"
    assert full["signer_name"] == "李明"  # the task keeps the record itself
    assert mask_name("Li Ming") == "L******" and mask_name(None) is None
    assert redacted_statement(None) is None
