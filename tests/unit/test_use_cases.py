"""Use cases on in-memory fakes (tests/fakes.py): the procedure's steps end to end in
milliseconds, without Flask or a database."""

import hashlib
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from certification.access import Actor
from certification.citizen_id import make_citizen_id
from certification.consent import FACE_NOTICE, FACE_PROCESSING, Consent, ConsentChannel
from certification.errors import AccessDenied, RuleViolation, StaleVersion, ValidationFailed
from certification.model import Entitlement, FamilyBinding, Person, ReviewCase
from certification.periods import PeriodPolicy
from certification.regions import RegionPlacement
from certification.selfservice import BindingStatus, CaseStatus
from certification.services import family, review
from certification.services.certifications import record_certification
from certification.verification import TaskStatus
from certification.vocabulary import (
    AccountKind,
    BenefitKind,
    CertificationChannel,
    RecipientRole,
    StaffRole,
)
from tests.fakes import staff, use_case

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def enrolled_person(ctx, *, region: str = "500103001002", serial: int = 11) -> Person:
    person = Person.register(
        citizen_id=make_citizen_id(region[:6], date(1950, 3, 1), serial),
        name="张三",
        phone=None,
        placement=RegionPlacement.of(region),
    )
    pension = Entitlement(
        person.id, BenefitKind.PENSION, RecipientRole.INSURED, date(2010, 5, 1), 300_000
    )
    pension.open(None)
    person.entitlements.append(pension)
    person.refresh_period(PeriodPolicy())
    ctx.uow.persons.add(person)
    ctx.uow.consents.add(  # the form the person signed when the photo was taken
        Consent(FACE_PROCESSING, FACE_NOTICE.version, ConsentChannel.PAPER, person_id=person.id)
    )
    return person


def certify_by_hand(ctx, actor: Actor, person: Person, **given):
    """record_certification at a counter, now, with whatever the test changes."""
    fields = {
        "channel": CertificationChannel.COUNTER,
        "certified_at": None,
        "evidence": None,
        "note": None,
        "source_ref": None,
    }
    return record_certification(ctx, actor, person.id, **(fields | given))


# --- a staff member records a certification (Art. 12) ----------------------------------


def test_a_counter_certification_restarts_the_period_and_is_audited():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    clerk = staff(StaffRole.CLERK)
    outcome = certify_by_hand(ctx, clerk, person, evidence=["counter slip 42"])
    assert outcome.period is not None and outcome.period.due_on > NOW.date()
    assert person.due_on == outcome.period.due_on
    assert list(ctx.uow.certifications.rows.values()) == [outcome.certification]
    assert ctx.uow.audit.actions() == ["certification.recorded"]
    assert ctx.uow.commits == 1


def test_a_clerk_outside_the_region_cannot_certify_and_nothing_is_written():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    elsewhere = staff(StaffRole.CLERK, scope="500105")
    with pytest.raises(AccessDenied, match="outside your region"):
        certify_by_hand(ctx, elsewhere, person)
    assert not ctx.uow.certifications.rows and not ctx.uow.audit.records


@pytest.mark.parametrize(
    "channel",
    [
        CertificationChannel.SELF_SERVICE_FACE,
        CertificationChannel.DATA_COMPARISON,
        # a township result needs its task's photo or video (Art. 16), a review its case
        CertificationChannel.TOWNSHIP_VERIFICATION,
        CertificationChannel.STAFF_REVIEW,
    ],
)
def test_workflow_channels_are_not_recorded_by_hand(channel):
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    with pytest.raises(ValidationFailed, match="own workflow"):
        certify_by_hand(ctx, staff(StaffRole.CLERK), person, channel=channel)
    assert not ctx.uow.certifications.rows


def test_a_certification_cannot_be_dated_in_the_future():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    with pytest.raises(ValidationFailed, match="future"):
        certify_by_hand(ctx, staff(StaffRole.CLERK), person, certified_at=NOW + timedelta(hours=1))


# --- a reviewer decides a failed self-service certification ------------------------------


def open_case(ctx, person: Person) -> ReviewCase:
    case = ReviewCase(person_id=person.id, reason="failed")
    ctx.uow.review_cases.add(case)
    return case


def test_approving_a_case_certifies_the_person_once():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    case = open_case(ctx, person)
    reviewer = staff(StaffRole.REVIEWER)
    decided = review.decide_case(
        ctx,
        reviewer,
        case.id,
        decision="approve",
        comment="matches the ID photo",
        expected_version=0,
    )
    assert decided.status is CaseStatus.APPROVED
    assert decided.certification_id in ctx.uow.certifications.rows
    made = ctx.uow.certifications.rows[decided.certification_id]
    # its own channel: a staff judgement of the clip, neither a counter visit nor self-service
    assert made.channel is CertificationChannel.STAFF_REVIEW
    assert made.evidence[0] == f"review_case:{case.id}"
    assert ctx.uow.audit.actions() == ["certification.recorded", "review.approve"]
    with pytest.raises(RuleViolation, match="already decided"):
        review.decide_case(
            ctx,
            reviewer,
            case.id,
            decision="reject",
            comment="second thoughts",
            expected_version=0,
        )
    assert len(ctx.uow.certifications.rows) == 1


def test_rejecting_a_case_sends_the_person_to_township_verification():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    case = open_case(ctx, person)
    review.decide_case(
        ctx,
        staff(StaffRole.REVIEWER),
        case.id,
        decision="reject",
        comment="another person in the video",
        expected_version=0,
    )
    (task,) = ctx.uow.tasks.rows.values()
    assert task.person_id == person.id and task.status is TaskStatus.OPEN
    assert task.township_code == person.township_code
    assert task.deadline_on > NOW.date() + timedelta(days=85)  # three months (Art. 20)
    assert not ctx.uow.certifications.rows


def test_a_retake_tells_the_person_and_certifies_nobody():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    case = open_case(ctx, person)
    review.decide_case(
        ctx,
        staff(StaffRole.REVIEWER),
        case.id,
        decision="retake",
        comment="too dark, please retry",
        expected_version=0,
    )
    assert ctx.uow.notices.told(person.id) == ["review_decided"]
    assert ctx.uow.notices.by_key(f"review_decided:{case.id}").data["outcome"] == "retake"
    assert not ctx.uow.certifications.rows and not ctx.uow.tasks.rows


def test_a_decision_on_a_stale_page_or_without_the_role_is_refused():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    case = open_case(ctx, person)
    case.version = 3  # someone decided meanwhile (the database bumps it)
    with pytest.raises(StaleVersion):
        review.decide_case(
            ctx,
            staff(StaffRole.REVIEWER),
            case.id,
            decision="approve",
            comment="looks fine",
            expected_version=2,
        )
    with pytest.raises(AccessDenied, match="reviewer role"):
        review.decide_case(
            ctx,
            staff(StaffRole.CLERK),
            case.id,
            decision="approve",
            comment="looks fine",
            expected_version=3,
        )
    assert case.status is CaseStatus.OPEN


# --- family bindings ---------------------------------------------------------------------


def family_member() -> Actor:
    return Actor(kind=AccountKind.FAMILY.value, account_id=uuid4(), label="child")


def beneficiary(person: Person, *, verified: bool = True) -> Actor:
    return Actor(
        kind=AccountKind.BENEFICIARY.value,
        account_id=uuid4(),
        label="self",
        person_id=person.id,
        identity_verified=verified,
    )


def test_a_binding_request_answers_the_same_for_unknown_and_known_people():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    helper = family_member()
    unknown = family.request_binding(
        ctx,
        helper,
        citizen_id=make_citizen_id("500103", date(1951, 1, 1), 99).value,
        name="李四",
        relationship="child",
    )
    wrong_name = family.request_binding(
        ctx, helper, citizen_id=person.citizen_id, name="李四", relationship="child"
    )
    assert unknown is None and wrong_name is None
    recorded = family.request_binding(
        ctx, helper, citizen_id=person.citizen_id, name="张三", relationship="child"
    )
    assert recorded is not None and recorded.status is BindingStatus.REQUESTED
    again = family.request_binding(
        ctx, helper, citizen_id=person.citizen_id, name="张三", relationship="child"
    )
    assert again is None  # one request in force is enough
    assert family.my_bindings(ctx, helper) == []  # not shown until the person confirms


def test_only_the_verified_beneficiary_confirms_and_either_side_revokes():
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    helper = family_member()
    binding = FamilyBinding(
        family_account_id=helper.account_id, person_id=person.id, relationship="child"
    )
    ctx.uow.bindings.add(binding)
    with pytest.raises(AccessDenied, match="Only the beneficiary"):
        family.confirm_binding(ctx, helper, binding.id)
    with pytest.raises(AccessDenied, match="Confirm your own identity"):
        family.confirm_binding(ctx, beneficiary(person, verified=False), binding.id)
    family.confirm_binding(ctx, beneficiary(person), binding.id)
    assert family.my_bindings(ctx, helper) == [binding]
    family.revoke_binding(ctx, beneficiary(person), binding.id, reason="no longer needed")
    assert binding.status is BindingStatus.REVOKED
    with pytest.raises(RuleViolation, match="already revoked"):
        family.revoke_binding(ctx, helper, binding.id, reason="twice")
    assert ctx.uow.audit.actions() == ["binding.confirmed", "binding.revoked"]


# --- suspension and restoration proposals (Art. 13, 21) ----------------------------------


def proposal_for(ctx, person: Person, kind, *, source: str = "comparison_run"):
    from certification.verification import DecisionProposal

    proposal = DecisionProposal(
        kind=kind,
        person_id=person.id,
        entitlement_id=person.entitlements[0].id,
        district_code=person.district_code,
        source=source,
        source_id=uuid4(),
        reason="death record from the civil affairs bureau",
    )
    ctx.uow.proposals.add(proposal)
    return proposal


def test_a_confirmed_suspension_then_restoration_pays_the_months_in_between():
    from certification.services.proposals import decide_proposal
    from certification.verification import ProposalKind, ProposalStatus
    from certification.vocabulary import EntitlementStatus

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    district_clerk = staff(StaffRole.CLERK, scope="500103")
    suspend = proposal_for(ctx, person, ProposalKind.SUSPEND)
    decide_proposal(ctx, district_clerk, suspend.id, confirm=True, note="confirmed by phone")
    pension = person.entitlements[0]
    assert pension.status is EntitlementStatus.SUSPENDED
    assert suspend.status is ProposalStatus.CONFIRMED and suspend.suspension_id
    ctx.clock.advance(days=92)  # three months later the person turns up alive at the counter
    with pytest.raises(RuleViolation, match="Record the certification"):
        decide_proposal(
            ctx,
            district_clerk,
            proposal_for(ctx, person, ProposalKind.RESTORE, source="verification_task").id,
            confirm=True,
            note="no certification yet",
        )
    certify_by_hand(ctx, district_clerk, person, evidence=["ID card seen"])
    restore = proposal_for(ctx, person, ProposalKind.RESTORE, source="verification_task")
    decided = decide_proposal(ctx, district_clerk, restore.id, confirm=True, note="seen alive")
    assert pension.status is EntitlementStatus.ACTIVE
    # the months whose first day fell while suspended (decision 0003): 1 Dec, 1 Jan, 1 Feb, 1 Mar
    assert decided.arrears_fen == 4 * 300_000
    assert ctx.uow.audit.actions().count("proposal.confirmed") == 2


def test_a_township_clerk_cannot_suspend_and_a_dismissed_loss_goes_to_verification():
    from certification.services.proposals import decide_proposal
    from certification.verification import ProposalKind, ProposalStatus

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    suspend = proposal_for(ctx, person, ProposalKind.SUSPEND)
    township = staff(StaffRole.CLERK, scope="500103001")
    with pytest.raises(AccessDenied, match="district/county or municipal"):
        decide_proposal(ctx, township, suspend.id, confirm=True, note="x")
    with pytest.raises(ValidationFailed, match="Say why"):
        decide_proposal(ctx, staff(StaffRole.CLERK), suspend.id, confirm=False, note="no")
    decide_proposal(
        ctx, staff(StaffRole.CLERK), suspend.id, confirm=False, note="the record is wrong"
    )
    assert suspend.status is ProposalStatus.DISMISSED
    (task,) = ctx.uow.tasks.rows.values()  # the data said lost, the clerk doubts it: verify
    assert task.person_id == person.id


# --- the worker's part of self-service ----------------------------------------------------


def submitted_attempt(ctx, person: Person):
    from certification.model import Attempt, ChallengeSession

    session = ChallengeSession(
        person_id=person.id,
        requested_by=uuid4(),
        nonce="n",
        actions=["blink"],
        seconds_per_action=3,
        max_video_seconds=15,
        expires_at=NOW + timedelta(minutes=10),
        upload_key=f"videos/{uuid4()}.mp4",
    )
    session.submit()
    attempt = Attempt(
        session_id=session.id,
        person_id=person.id,
        object_key=session.upload_key,
        size=1000,
        sha256="a" * 64,
    )
    ctx.uow.challenge_sessions.add(session)
    ctx.uow.attempts.add(attempt)
    return session, attempt


class _NeverCalledEngine:
    model = "w600k_r50"

    def verify(self, *args, **kw):
        raise AssertionError("no video, nothing to verify")

    def enrol(self, *args, **kw):
        raise AssertionError("no photo, nothing to enrol")


def test_a_video_gone_from_the_store_is_an_error_for_staff_not_an_endless_retry():
    from contextlib import nullcontext

    from certification.selfservice import AttemptStatus, SessionStatus
    from certification.services.selfservice import SelfServiceConfig, process_attempt
    from tests.fakes import FakeObjectStore

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    session, attempt = submitted_attempt(ctx, person)
    result = process_attempt(
        lambda: nullcontext(ctx),
        _NeverCalledEngine(),
        FakeObjectStore(),  # the video was never stored (or deleted at retention)
        SelfServiceConfig(),
        attempt.id,
    )
    assert result.outcome == "error"
    assert attempt.status is AttemptStatus.ERROR and attempt.reasons == ["video_missing"]
    assert session.status is SessionStatus.DECIDED
    (case,) = ctx.uow.review_cases.rows.values()
    assert case.attempt_id == attempt.id and case.reason == "processing_error"
    assert not ctx.uow.certifications.rows
    again = process_attempt(
        lambda: nullcontext(ctx),
        _NeverCalledEngine(),
        FakeObjectStore(),
        SelfServiceConfig(),
        attempt.id,
    )
    assert again.outcome == "skipped"  # a redelivered task finds the work done


# --- claiming an account at the counter (decision 0013) -----------------------------------


def test_a_counter_clerk_confirms_a_claim_and_the_earlier_account_steps_back():
    from certification.claims import Claim, ClaimStatus, target_hash
    from certification.model import Account
    from certification.services.claims import link_at_counter

    key = "k" * 32
    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    squatter = Account(
        kind=AccountKind.BENEFICIARY, display_name="x", person_id=person.id, identity_verified=True
    )
    real = Account(kind=AccountKind.FAMILY, display_name="张三")
    other = Account(kind=AccountKind.FAMILY, display_name="李四")
    for account in (squatter, real, other):
        ctx.uow.accounts.add(account)
    mine = Claim(real.id, target_hash(person.citizen_id, key), person_id=person.id)
    theirs = Claim(other.id, target_hash(person.citizen_id, key), person_id=person.id)
    ctx.uow.claims.add(mine)
    ctx.uow.claims.add(theirs)
    counter = staff(StaffRole.COUNTER, scope="500105")  # any city counter may confirm
    with pytest.raises(ValidationFailed, match="does not match"):
        link_at_counter(
            ctx, counter, mine.id,
            citizen_id_seen=person.citizen_id, name_seen="王五", key=key,
        )  # fmt: skip
    assert real.kind is AccountKind.FAMILY and mine.status is ClaimStatus.PENDING
    account = link_at_counter(
        ctx, counter, mine.id,
        citizen_id_seen=person.citizen_id, name_seen="张三", key=key,
    )  # fmt: skip
    assert account is real and real.kind is AccountKind.BENEFICIARY and real.identity_verified
    assert real.person_id == person.id
    assert squatter.kind is AccountKind.FAMILY and squatter.person_id is None
    assert squatter.id in ctx.uow.refresh_tokens.ended  # its sessions end at once
    assert (mine.status, theirs.status) == (ClaimStatus.VERIFIED, ClaimStatus.DROPPED)
    assert ctx.uow.notices.told(person.id) == ["account_confirmed"]
    assert "claim.verified" in ctx.uow.audit.actions()


def test_only_counter_or_clerk_staff_link_claims():
    from certification.claims import Claim, target_hash
    from certification.services.claims import link_at_counter

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    claim = Claim(uuid4(), target_hash(person.citizen_id, "k" * 32), person_id=person.id)
    ctx.uow.claims.add(claim)
    with pytest.raises(AccessDenied, match="Only counter staff"):
        link_at_counter(
            ctx, staff(StaffRole.REVIEWER), claim.id,
            citizen_id_seen=person.citizen_id, name_seen="张三", key="k" * 32,
        )  # fmt: skip


def test_an_enrolment_photo_gone_from_the_store_is_refused_not_retried():
    from certification.model import EnrolmentRequest
    from certification.selfservice import EnrolmentStatus
    from certification.services.selfservice import compute_template
    from tests.fakes import FakeObjectStore

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    request = EnrolmentRequest(person_id=person.id, photo_key="photos/gone.jpg", requested_by=None)
    ctx.uow.enrolments.add(request)
    decided = compute_template(ctx, _NeverCalledEngine(), FakeObjectStore(), request.id)
    assert decided.status is EnrolmentStatus.REFUSED and decided.reason == "photo_missing"
    assert decided.decided_at == NOW and not ctx.uow.templates.rows
    assert ctx.uow.audit.actions() == ["enrolment.refused"]


# --- the joints: a certification by any channel asks for suspended benefits back ----------


class _PassingEngine:
    model = "w600k_r50"

    def verify(self, video_path, actions, templates, *, mirrored):
        from certification.ports import FaceVerification

        assert templates, "the enrolled template reaches the engine"
        return FaceVerification("pass", [], {"match": 0.71}, 0.71, [b"jpeg"], None)


def test_a_suspended_pensioner_who_passes_in_the_app_gets_a_restoration_proposal():
    from contextlib import nullcontext

    from certification.model import FaceTemplate
    from certification.services.proposals import decide_proposal
    from certification.services.selfservice import SelfServiceConfig, process_attempt
    from certification.verification import ProposalKind, ProposalStatus, VerificationTask
    from certification.vocabulary import EntitlementStatus
    from tests.fakes import FakeObjectStore

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    district_clerk = staff(StaffRole.CLERK, scope="500103")
    decide_proposal(
        ctx,
        district_clerk,
        proposal_for(ctx, person, ProposalKind.SUSPEND).id,
        confirm=True,
        note="confirmed by phone",
    )
    pension = person.entitlements[0]
    assert pension.status is EntitlementStatus.SUSPENDED
    task = VerificationTask.dispatch(
        person_id=person.id,
        district_code="500103",
        township_code="500103001",
        work_injury=False,
        received_on=NOW.date(),
        source="staff",
        source_id=None,
    )
    ctx.uow.tasks.add(task)
    config = SelfServiceConfig()
    ctx.uow.templates.add(
        FaceTemplate(person.id, config.match_model, "1", {"embedding": [0.1]}, "photo")
    )
    ctx.clock.advance(days=40)
    _session, attempt = submitted_attempt(ctx, person)
    store = FakeObjectStore()
    store.objects[attempt.object_key] = b"video"
    attempt.sha256 = hashlib.sha256(b"video").hexdigest()  # as hashed at submit
    result = process_attempt(lambda: nullcontext(ctx), _PassingEngine(), store, config, attempt.id)
    assert result.outcome == "decided"
    (certification,) = ctx.uow.certifications.rows.values()
    assert certification.channel is CertificationChannel.SELF_SERVICE_FACE
    (restore,) = [p for p in ctx.uow.proposals.rows.values() if p.kind is ProposalKind.RESTORE]
    assert restore.entitlement_id == pension.id and restore.source == "certification"
    assert restore.source_id == certification.id
    assert task.status is TaskStatus.CANCELLED
    assert task.evidence == [f"certification:{certification.id}"]

    decided = decide_proposal(ctx, district_clerk, restore.id, confirm=True, note="seen alive")
    assert decided.status is ProposalStatus.CONFIRMED
    assert pension.status is EntitlementStatus.ACTIVE


def test_a_video_swapped_after_submit_is_never_judged():
    """The upload key stays writable until the session expires: a clip put there after the
    hash was taken at submit (an old recording whose hash would have been refused) is an
    error for staff, not a certification."""
    from contextlib import nullcontext

    from certification.selfservice import AttemptStatus
    from certification.services.selfservice import SelfServiceConfig, process_attempt
    from tests.fakes import FakeObjectStore

    ctx = use_case(NOW)
    person = enrolled_person(ctx)
    _session, attempt = submitted_attempt(ctx, person)
    attempt.sha256 = hashlib.sha256(b"the clip that was submitted").hexdigest()
    store = FakeObjectStore()
    store.objects[attempt.object_key] = b"an old clip put in its place"
    result = process_attempt(
        lambda: nullcontext(ctx),
        _NeverCalledEngine(),  # the swapped clip never reaches the engine
        store,
        SelfServiceConfig(),
        attempt.id,
    )
    assert result.outcome == "error"
    assert attempt.status is AttemptStatus.ERROR and attempt.reasons == ["video_changed"]
    assert not ctx.uow.certifications.rows
    (case,) = ctx.uow.review_cases.rows.values()
    assert case.attempt_id == attempt.id
