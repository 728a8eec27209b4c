"""Appeals on in-memory fakes: who may contest what, the deadline in working days, and each
remedy applied through the procedure's own steps."""

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from certification.appeals import AppealStatus, AppealSubject, Remedy
from certification.errors import AccessDenied, NotFound, RuleViolation, ValidationFailed
from certification.model import FaceTemplate, FamilyBinding
from certification.notices import COPY_TO
from certification.selfservice import BindingStatus, CaseStatus
from certification.services import appeals, overview, review
from certification.services.proposals import decide_proposal
from certification.verification import ProposalKind, ProposalStatus, TaskStatus
from certification.vocabulary import CertificationChannel, EntitlementStatus, StaffRole
from tests.fakes import staff, use_case
from tests.unit.test_use_cases import (
    beneficiary,
    certify_by_hand,
    enrolled_person,
    family_member,
    open_case,
    proposal_for,
)

FRIDAY = datetime(2026, 12, 4, 9, tzinfo=UTC)
DISTRICT_CLERK = staff(StaffRole.CLERK, scope="500103")


def rejected_case(ctx, person):
    case = open_case(ctx, person)
    review.decide_case(
        ctx,
        staff(StaffRole.REVIEWER),
        case.id,
        decision="reject",
        comment="face too dark to compare",
        expected_version=0,
    )
    return case


def bound_helper(ctx, person):
    helper = family_member()
    binding = FamilyBinding(
        family_account_id=helper.account_id, person_id=person.id, relationship="child"
    )
    binding.status = BindingStatus.ACTIVE
    ctx.uow.bindings.add(binding)
    return helper


def contest(ctx, actor, subject, subject_id, statement, person_id=None):
    return appeals.file_appeal(
        ctx,
        actor,
        person_id=person_id,
        subject=subject,
        subject_id=subject_id,
        statement=statement,
    )


def answer(ctx, appeal, *, uphold, reason, clerk=DISTRICT_CLERK, version=0):
    return appeals.decide_appeal(
        ctx, clerk, appeal.id, uphold=uphold, reason=reason, expected_version=version
    )


def suspended(ctx, person):
    loss = proposal_for(ctx, person, ProposalKind.SUSPEND)
    decide_proposal(ctx, DISTRICT_CLERK, loss.id, confirm=True, note="death record checked")
    return ctx.uow.suspensions.rows[loss.suspension_id], loss


def test_a_rejected_review_contested_by_the_son_is_certified_on_appeal_and_both_are_told():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    case = rejected_case(ctx, person)
    son = bound_helper(ctx, person)
    seen = overview.overview(ctx, son, person.id)
    assert seen.name == "张*" and seen.viewer == "family"
    assert [(c.subject, c.subject_id) for c in seen.contestable] == [
        (AppealSubject.REJECTED_REVIEW, case.id)
    ]
    assert [t.who for t in seen.open_tasks] == ["township"]  # the rejection sent the township

    appeal = contest(
        ctx,
        son,
        AppealSubject.REJECTED_REVIEW,
        case.id,
        "  我父亲在家，视频里就是他本人  ",
        person_id=person.id,
    )
    assert appeal.filed_via == "family" and appeal.statement == "我父亲在家，视频里就是他本人"
    assert appeal.due_on == date(2026, 12, 25)  # 15 working days after a Friday
    received = ctx.uow.notices.by_key(f"appeal_received:{appeal.id}")
    assert received is not None and received.data[COPY_TO] == str(son.account_id)
    assert received.data["due_on"] == "2026-12-25"
    assert overview.overview(ctx, son, person.id).contestable == []  # contested already

    decided = answer(ctx, appeal, uphold=True, reason="second look: same person as the ID photo")
    assert decided.status is AppealStatus.UPHELD and decided.remedy is Remedy.CERTIFIED
    (made,) = ctx.uow.certifications.rows.values()
    assert made.channel is CertificationChannel.STAFF_REVIEW
    assert made.evidence[:2] == [f"appeal:{appeal.id}", f"review_case:{case.id}"]
    assert case.status is CaseStatus.REJECTED  # the review's own record is not rewritten
    (task,) = ctx.uow.tasks.rows.values()
    assert task.status is not TaskStatus.OPEN  # the certification settled the township task
    told = ctx.uow.notices.by_key(f"appeal_decided:{appeal.id}")
    assert told is not None and told.data["outcome"] == "upheld_certified"
    assert told.data[COPY_TO] == str(son.account_id)
    assert ctx.uow.audit.actions()[-2:] == ["certification.recorded", "appeal.upheld"]
    with pytest.raises(RuleViolation, match="already upheld"):
        answer(ctx, appeal, uphold=False, reason="changed my mind", version=None)


def test_a_suspension_upheld_without_a_certification_goes_to_the_township_first():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    suspension, _ = suspended(ctx, person)
    me = beneficiary(person)
    appeal = contest(ctx, me, AppealSubject.SUSPENSION, suspension.id, "我还健在，死亡记录是错的")
    assert appeal.filed_via == "app"
    assert COPY_TO not in ctx.uow.notices.by_key(f"appeal_received:{appeal.id}").data
    # filing pauses nothing and pays nothing: the benefit stays suspended
    assert person.entitlements[0].status is EntitlementStatus.SUSPENDED
    decided = answer(ctx, appeal, uphold=True, reason="the death record names another man")
    assert decided.remedy is Remedy.VERIFICATION_OPENED
    (task,) = [t for t in ctx.uow.tasks.rows.values() if t.status is TaskStatus.OPEN]
    assert task.source == "appeal" and task.source_id == appeal.id
    assert person.entitlements[0].status is EntitlementStatus.SUSPENDED  # Art. 21: certify first


def test_a_suspension_upheld_after_a_certification_is_restored_with_arrears():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    suspension, _ = suspended(ctx, person)
    ctx.clock.advance(days=40)
    certify_by_hand(ctx, DISTRICT_CLERK, person, evidence=["ID card seen"])
    waiting = ctx.uow.proposals.open_for(suspension.entitlement_id, ProposalKind.RESTORE.value)
    assert waiting is not None  # the certification proposed the restoration (Art. 21)
    appeal = contest(
        ctx,
        beneficiary(person),
        AppealSubject.SUSPENSION,
        suspension.id,
        "我已在柜台认证，请恢复待遇",
    )
    decided = answer(ctx, appeal, uphold=True, reason="certified at the counter on 13 Jan")
    assert decided.remedy is Remedy.RESTORED
    assert person.entitlements[0].status is EntitlementStatus.ACTIVE
    assert suspension.arrears_fen == 300_000  # 1 January fell while suspended (decision 0003)
    assert waiting.status is ProposalStatus.CONFIRMED  # answered, not left for a second click
    assert ctx.uow.notices.by_key(f"appeal_decided:{appeal.id}").data["outcome"] == (
        "upheld_restored"
    )


def test_a_loss_record_set_aside_on_appeal_and_a_dismissed_appeal_changes_nothing():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    loss = proposal_for(ctx, person, ProposalKind.SUSPEND)
    me = beneficiary(person)
    first = contest(ctx, me, AppealSubject.LOSS_RECORD, loss.id, "我没有出境，一直在重庆")
    dismissed = answer(ctx, first, uphold=False, reason="the border record is confirmed")
    assert dismissed.status is AppealStatus.DISMISSED and dismissed.remedy is None
    assert loss.status is ProposalStatus.PROPOSED
    assert ctx.uow.notices.by_key(f"appeal_decided:{first.id}").data["outcome"] == "dismissed"
    # a decided appeal does not block a new one with new facts
    second = contest(
        ctx, me, AppealSubject.LOSS_RECORD, loss.id, "附上出入境记录证明，那天我在医院"
    )
    answer(ctx, second, uphold=True, reason="hospital record for that day")
    assert second.remedy is Remedy.PROPOSAL_DISMISSED
    assert loss.status is ProposalStatus.DISMISSED
    assert person.entitlements[0].status is EntitlementStatus.ACTIVE
    assert overview.overview(ctx, me, None).contestable == []


def test_who_may_contest_what_and_nothing_is_stored_when_refused():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    other = enrolled_person(ctx, serial=12)
    case = rejected_case(ctx, person)
    others_case = rejected_case(ctx, other)
    still_open = open_case(ctx, person)

    def file(actor, subject_id, *, person_id=None, subject=AppealSubject.REJECTED_REVIEW):
        return contest(ctx, actor, subject, subject_id, "审核结论不对，请复查", person_id)

    stranger = family_member()
    with pytest.raises(AccessDenied, match="bound to"):
        file(stranger, case.id, person_id=person.id)
    with pytest.raises(AccessDenied, match="Confirm your identity"):
        file(beneficiary(person, verified=False), case.id)
    with pytest.raises(AccessDenied, match="only for yourself"):
        file(beneficiary(person), case.id, person_id=other.id)
    with pytest.raises(AccessDenied, match="Only the beneficiary or a bound family member"):
        file(DISTRICT_CLERK, case.id, person_id=person.id)
    me = beneficiary(person)
    with pytest.raises(NotFound):
        file(me, others_case.id)  # another person's review: not found, not "not yours"
    with pytest.raises(NotFound):
        file(me, case.id, subject=AppealSubject.SUSPENSION)
    with pytest.raises(RuleViolation, match="Only a rejected review"):
        file(me, still_open.id)
    with pytest.raises(ValidationFailed, match="why the decision is wrong"):
        contest(ctx, me, AppealSubject.REJECTED_REVIEW, case.id, "  错 ")
    assert not ctx.uow.appeals.rows
    file(me, case.id)
    with pytest.raises(RuleViolation, match="already contested"):
        file(me, case.id)
    ctx.clock.advance(days=61)
    late = rejected_case(ctx, person)
    ctx.clock.advance(days=61)
    with pytest.raises(RuleViolation, match="within 60 days"):
        file(me, late.id)
    assert len(ctx.uow.appeals.rows) == 1


def test_only_district_agency_clerks_decide_with_reasons_on_the_current_version():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    case = rejected_case(ctx, person)
    appeal = contest(
        ctx, beneficiary(person), AppealSubject.REJECTED_REVIEW, case.id, "视频是我本人录的"
    )
    township = staff(StaffRole.CLERK, scope="500103001")
    elsewhere = staff(StaffRole.CLERK, scope="500104")
    for clerk, refusal in ((township, "district/county or municipal"), (elsewhere, "outside")):
        with pytest.raises(AccessDenied, match=refusal):
            answer(ctx, appeal, uphold=True, reason="looks fine", clerk=clerk)
    with pytest.raises(NotFound):
        appeals.get_appeal(ctx, elsewhere, appeal.id)
    with pytest.raises(ValidationFailed, match="reasons"):
        answer(ctx, appeal, uphold=False, reason=" no ")
    assert appeal.is_open and not ctx.uow.certifications.rows
    assert appeal.is_overdue(date(2026, 12, 28)) and not appeal.is_overdue(date(2026, 12, 25))
    appeals.withdraw_appeal(ctx, beneficiary(person), appeal.id)
    assert appeal.status is AppealStatus.WITHDRAWN


def test_withdrawing_is_for_the_person_or_whoever_filed_it():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    case = rejected_case(ctx, person)
    son = bound_helper(ctx, person)
    appeal = contest(
        ctx,
        son,
        AppealSubject.REJECTED_REVIEW,
        case.id,
        "我父亲在家，视频里就是他本人",
        person_id=person.id,
    )
    with pytest.raises(NotFound):
        appeals.withdraw_appeal(ctx, family_member(), appeal.id)
    appeals.withdraw_appeal(ctx, son, appeal.id)
    assert appeal.status is AppealStatus.WITHDRAWN
    assert ctx.uow.audit.actions()[-1] == "appeal.withdrawn"
    assert uuid4() not in ctx.uow.appeals.rows
    assert ctx.clock.now() - appeal.filed_at < timedelta(seconds=1)


def test_an_appeal_answered_after_the_procedure_put_things_right_does_nothing_twice():
    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    suspension, loss = suspended(ctx, person)
    me = beneficiary(person)
    about_suspension = contest(ctx, me, AppealSubject.SUSPENSION, suspension.id, "我还健在")
    ctx.clock.advance(days=3)
    certify_by_hand(ctx, DISTRICT_CLERK, person, evidence=["ID card seen"])
    restore = ctx.uow.proposals.open_for(suspension.entitlement_id, ProposalKind.RESTORE.value)
    decide_proposal(ctx, DISTRICT_CLERK, restore.id, confirm=True, note="seen at the counter")
    paid = suspension.arrears_fen
    answered = answer(ctx, about_suspension, uphold=True, reason="restored after the counter visit")
    assert answered.remedy is Remedy.RESTORED and suspension.arrears_fen == paid
    assert ctx.uow.audit.actions().count("entitlement.restored") == 1
    with pytest.raises(RuleViolation, match="nothing to contest"):
        contest(ctx, me, AppealSubject.LOSS_RECORD, loss.id, "记录有误")  # restored since


def test_the_person_sees_what_is_held_and_asks_for_a_correction():
    from certification.services import my_data

    ctx = use_case(FRIDAY)
    person = enrolled_person(ctx)
    me = beneficiary(person)
    ctx.uow.templates.add(FaceTemplate(person.id, "w600k_r50", "1", {"embedding": [0.5]}, "photo"))
    certify_by_hand(ctx, DISTRICT_CLERK, person, evidence=["ID card seen"])
    held = my_data.my_data(ctx, me)
    assert held.person["citizen_id"] == person.citizen_id and held.period is not None
    assert [c["channel"] for c in held.certifications] == ["counter"]
    assert held.consents[0]["channel"] == "paper"
    (template,) = held.face_templates
    assert template == {
        "made_from": "photo",
        "model": "w600k_r50",
        "created_at": template["created_at"],
        "in_use": True,
        "erased": False,
    }  # when and from what, never the vector
    for other in (bound_helper(ctx, person), beneficiary(person, verified=False), DISTRICT_CLERK):
        with pytest.raises(AccessDenied):
            my_data.my_data(ctx, other)

    asked = appeals.ask_correction(ctx, me, statement="住址已变更为民族路1号，请更正")
    assert (asked.subject, asked.subject_id) == (AppealSubject.RECORD_CORRECTION, person.id)
    with pytest.raises(RuleViolation, match="already contested"):
        appeals.ask_correction(ctx, me, statement="再次申请更正住址")
    with pytest.raises(AccessDenied):
        appeals.ask_correction(ctx, bound_helper(ctx, person), statement="替父亲更正住址")
    done = answer(ctx, asked, uphold=True, reason="address corrected from the household book")
    assert done.remedy is Remedy.RECORD_CORRECTED
    told = ctx.uow.notices.by_key(f"appeal_decided:{asked.id}")
    assert told.data["outcome"] == "upheld_record_corrected"
    assert [a["subject"] for a in my_data.my_data(ctx, me).appeals] == ["record_correction"]
