"""Appeals (申诉): filed from the app by the person or a bound family member, answered by the
agency clerks of the person's district within the configured working days, told to the
person (and to the family member who filed), audited, counted on the dashboard.

Upholding an appeal applies its remedy through the procedure's own steps, never beside them:
- a rejected review: the clip is approved on appeal, a certification through ``certify``
  (which also proposes restoring any suspended benefit and closes the open township task);
- a suspension: restored with its arrears when a certification dated on or after the
  suspension exists (Art. 21); otherwise the township verifies the person, and the
  certification it records proposes the restoration;
- a loss record still proposed: dismissed for good (the same department events never propose
  again); a loss record already applied: as a suspension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.appeals import (
    Appeal,
    AppealStatus,
    AppealSubject,
    Remedy,
    clean_statement,
)
from certification.errors import AccessDenied, NotFound, RuleViolation
from certification.model import Person, Suspension
from certification.notices import COPY_TO, NoticeKind
from certification.ports import Page, PageRequest
from certification.selfservice import CaseStatus
from certification.services import family
from certification.services.certifications import certify
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.services.proposing import record_decision
from certification.services.records import check_version, found
from certification.services.suspensions import answer_waiting, apply_restoration
from certification.services.verification import refer_for_verification
from certification.states import state_named
from certification.verification import DecisionProposal, ProposalKind, ProposalStatus
from certification.vocabulary import AccountKind, CertificationChannel, SuspensionStatus

# how long after a review or a loss record it may be contested (a suspension in force may
# be contested as long as it lasts): 60 days, as an application for administrative
# reconsideration (行政复议法 Art. 20)
CONTEST_WITHIN = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Contestable:
    """A decision the person may contest now, for the app's "appeal" button."""

    subject: AppealSubject
    subject_id: UUID
    decided_on: date
    summary: str  # a PHRASES code: what was decided


def _suspension_in_force(ctx: UseCaseContext, person: Person, suspension_id: UUID) -> Suspension:
    suspension = ctx.uow.suspensions.get(suspension_id)
    if suspension is None or suspension.person_id != person.id:
        raise NotFound("No suspension of this person has this id.")
    if suspension.status is not SuspensionStatus.IN_FORCE:
        raise RuleViolation("This benefit is no longer suspended: there is nothing to contest.")
    return suspension


def _loss_record(ctx: UseCaseContext, person: Person, proposal_id: UUID) -> DecisionProposal:
    proposal = ctx.uow.proposals.get(proposal_id)
    if (
        proposal is None
        or proposal.person_id != person.id
        or proposal.kind is not ProposalKind.SUSPEND
    ):
        raise NotFound("No loss record of this person has this id.")
    if proposal.status is ProposalStatus.DISMISSED:
        raise RuleViolation("This record was already set aside: there is nothing to contest.")
    if proposal.status is ProposalStatus.CONFIRMED:
        suspension = (
            ctx.uow.suspensions.get(proposal.suspension_id) if proposal.suspension_id else None
        )
        if suspension is None or suspension.status is not SuspensionStatus.IN_FORCE:
            raise RuleViolation("The benefit was restored since: there is nothing to contest.")
    return proposal


def _decided_on(ctx: UseCaseContext, person: Person, subject: AppealSubject, sid: UUID) -> date:
    """When the contested decision was made; refuses what cannot be contested (not the
    person's, not in a contestable state, too old)."""
    today = ctx.clock.today()
    if subject is AppealSubject.RECORD_CORRECTION:
        if sid != person.id:
            raise NotFound("A correction is asked for the person's own record.")
        return today
    if subject is AppealSubject.REJECTED_REVIEW:
        case = ctx.uow.review_cases.get(sid)
        if case is None or case.person_id != person.id:
            raise NotFound("No review of this person has this id.")
        if case.status is not CaseStatus.REJECTED or case.decided_at is None:
            raise RuleViolation("Only a rejected review can be contested.")
        on = ctx.clock.local_date(case.decided_at)
    elif subject is AppealSubject.SUSPENSION:
        return _suspension_in_force(ctx, person, sid).suspended_on
    else:
        proposal = _loss_record(ctx, person, sid)
        on = ctx.clock.local_date(proposal.created_at)
    if today - on > CONTEST_WITHIN:
        raise RuleViolation(
            f"A decision can be contested within {CONTEST_WITHIN.days} days; this one was made "
            f"on {on.isoformat()}. Please visit your district's social insurance agency."
        )
    return on


def file_appeal(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    person_id: UUID | None,
    subject: AppealSubject,
    subject_id: UUID,
    statement: str,
) -> Appeal:
    """The person (their identity confirmed) or a bound family member contests a decision.
    Changes nothing else: what is paid stays paid, a suspension stays until the appeal is
    upheld."""
    person, via = family.require_self_or_helper(ctx, actor, person_id, "appeal")
    text = clean_statement(statement)
    _decided_on(ctx, person, subject, subject_id)
    for earlier in ctx.uow.appeals.for_subject(subject, subject_id):
        if earlier.is_open:
            raise RuleViolation(
                f"This decision is already contested (appeal filed on "
                f"{ctx.clock.local_date(earlier.filed_at).isoformat()}, answered by "
                f"{earlier.due_on.isoformat()})."
            )
        if earlier.status is AppealStatus.UPHELD:
            raise RuleViolation(
                "An appeal against this decision was already upheld; what follows is in the "
                "appeal's answer."
            )
    today = ctx.clock.today()
    appeal = Appeal(
        person_id=person.id,
        district_code=person.district_code,
        township_code=person.township_code,
        subject=subject,
        subject_id=subject_id,
        statement=text,
        filed_via=via,
        filed_by=actor.account_id,
        filed_at=ctx.clock.now(),
        due_on=ctx.config.working_days.add_working_days(today, ctx.config.appeal_working_days),
    )
    ctx.uow.appeals.add(appeal)
    ctx.audit(
        actor,
        "appeal.filed",
        "appeal",
        appeal.id,
        person_id=str(person.id),
        subject=subject.value,
        subject_id=str(subject_id),
        via=via,
        due_on=appeal.due_on.isoformat(),
    )
    tell(
        ctx,
        person,
        NoticeKind.APPEAL_RECEIVED,
        key=str(appeal.id),
        subject=subject.value,
        due_on=appeal.due_on,
        **_copy_to(appeal),
    )
    ctx.uow.commit()
    return appeal


def ask_correction(ctx: UseCaseContext, actor: Actor, *, statement: str) -> Appeal:
    """The person asks for their registered details to be corrected (PIPL Art. 46): their
    own account only; answered like an appeal."""
    if actor.kind != AccountKind.BENEFICIARY.value or actor.person_id is None:
        raise AccessDenied("Only the person asks for their own details to be corrected.")
    return file_appeal(
        ctx,
        actor,
        person_id=actor.person_id,
        subject=AppealSubject.RECORD_CORRECTION,
        subject_id=actor.person_id,
        statement=statement,
    )


def _copy_to(appeal: Appeal) -> dict[str, str]:
    if appeal.filed_via == "family" and appeal.filed_by is not None:
        return {COPY_TO: str(appeal.filed_by)}
    return {}


def withdraw_appeal(
    ctx: UseCaseContext, actor: Actor, appeal_id: UUID, *, expected_version: int | None = None
) -> Appeal:
    appeal = found(ctx.uow.appeals.get(appeal_id, for_update=True), "appeal", appeal_id)
    if appeal.filed_by is None or actor.account_id != appeal.filed_by:
        own = actor.person_id is not None and actor.person_id == appeal.person_id
        if not own:
            raise NotFound(f"No appeal with id {appeal_id}.")
    check_version(appeal, expected_version, "appeal")
    appeal.withdraw(actor.account_id, ctx.clock.now())
    ctx.audit(actor, "appeal.withdrawn", "appeal", appeal.id, person_id=str(appeal.person_id))
    ctx.uow.commit()
    return appeal


def _remedy_suspension(
    ctx: UseCaseContext, actor: Actor, appeal: Appeal, person: Person, suspension: Suspension
) -> Remedy:
    if person.last_certified_on is not None and person.last_certified_on >= (
        suspension.suspended_on
    ):
        reason = f"appeal upheld: {appeal.decision_reason or ''}".strip()[:2000]
        arrears = apply_restoration(
            ctx, actor, person, suspension, on=ctx.clock.today(), reason=reason
        )
        answer_waiting(
            ctx, actor, person, suspension, ProposalKind.RESTORE, arrears.total_fen, reason
        )
        return Remedy.RESTORED
    refer_for_verification(
        ctx, actor, person, source="appeal", source_id=appeal.id, reason="appeal_upheld"
    )
    return Remedy.VERIFICATION_OPENED


def _apply_remedy(ctx: UseCaseContext, actor: Actor, appeal: Appeal, person: Person) -> Remedy:
    if appeal.subject is AppealSubject.RECORD_CORRECTION:
        return Remedy.RECORD_CORRECTED  # the clerk edited the record (audited there)
    if appeal.subject is AppealSubject.REJECTED_REVIEW:
        case = found(ctx.uow.review_cases.get(appeal.subject_id), "review case", appeal.subject_id)
        certify(
            ctx,
            actor,
            person,
            channel=CertificationChannel.STAFF_REVIEW,
            certified_at=ctx.clock.now(),
            evidence=[f"appeal:{appeal.id}", f"review_case:{case.id}"]
            + ([f"attempt:{case.attempt_id}"] if case.attempt_id else []),
            note=f"review approved on appeal: {appeal.decision_reason}",
            source_ref=f"appeal:{appeal.id}",
        )
        return Remedy.CERTIFIED
    # what the procedure did meanwhile (a restoration after a certification, a clerk's
    # dismissal) is the remedy already: the appeal is answered with it, nothing done twice
    if appeal.subject is AppealSubject.SUSPENSION:
        suspension = found(
            ctx.uow.suspensions.get(appeal.subject_id), "suspension", appeal.subject_id
        )
        if suspension.status is not SuspensionStatus.IN_FORCE:
            return Remedy.RESTORED
        return _remedy_suspension(ctx, actor, appeal, person, suspension)
    proposal = found(ctx.uow.proposals.get(appeal.subject_id), "loss record", appeal.subject_id)
    if proposal.status is ProposalStatus.DISMISSED:
        return Remedy.PROPOSAL_DISMISSED
    if proposal.status is ProposalStatus.PROPOSED:
        record_decision(
            ctx,
            actor,
            proposal,
            person,
            ProposalStatus.DISMISSED,
            f"set aside on appeal: {appeal.decision_reason}"[:2000],
        )
        return Remedy.PROPOSAL_DISMISSED
    applied = ctx.uow.suspensions.get(proposal.suspension_id) if proposal.suspension_id else None
    if applied is None or applied.status is not SuspensionStatus.IN_FORCE:
        return Remedy.RESTORED
    return _remedy_suspension(ctx, actor, appeal, person, applied)


def decide_appeal(
    ctx: UseCaseContext,
    actor: Actor,
    appeal_id: UUID,
    *,
    uphold: bool,
    reason: str,
    expected_version: int | None,
) -> Appeal:
    """A district/county or municipal agency clerk answers an appeal with reasons; upholding
    it applies the remedy in the same transaction. The person (and the family member who
    filed) is told."""
    appeal = found(ctx.uow.appeals.get(appeal_id), "appeal", appeal_id)
    person = load_person(ctx, appeal.person_id, for_update=True)
    access.require_agency_clerk_for(actor, person.region_code, "decide appeals")
    appeal = found(ctx.uow.appeals.get(appeal_id, for_update=True), "appeal", appeal_id)
    check_version(appeal, expected_version, "appeal")
    now = ctx.clock.now()
    if uphold:
        appeal.decide(AppealStatus.UPHELD, reason, actor.account_id, now)
        appeal.remedy = _apply_remedy(ctx, actor, appeal, person)
        outcome = f"upheld_{appeal.remedy.value}"
    else:
        appeal.decide(AppealStatus.DISMISSED, reason, actor.account_id, now)
        outcome = "dismissed"
    ctx.audit(
        actor,
        f"appeal.{appeal.status.value}",
        "appeal",
        appeal.id,
        reason=appeal.decision_reason,
        person_id=str(person.id),
        subject=appeal.subject.value,
        subject_id=str(appeal.subject_id),
        remedy=appeal.remedy.value if appeal.remedy else None,
        late=appeal.due_on < ctx.clock.today(),
    )
    tell(
        ctx,
        person,
        NoticeKind.APPEAL_DECIDED,
        key=str(appeal.id),
        subject=appeal.subject.value,
        outcome=outcome,
        **_copy_to(appeal),
    )
    ctx.uow.commit()
    return appeal


def get_appeal(ctx: UseCaseContext, actor: Actor, appeal_id: UUID) -> Appeal:
    """For staff of the person's region (the same 404 outside it as for no appeal at all)."""
    appeal = ctx.uow.appeals.get(appeal_id)
    if appeal is None or not actor.sees_region(_region(ctx, appeal)):
        raise NotFound(f"No appeal with id {appeal_id}.")
    return appeal


def _region(ctx: UseCaseContext, appeal: Appeal) -> str:
    return load_person(ctx, appeal.person_id).region_code


def list_appeals(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    status: str | None,
    overdue: bool,
    page: PageRequest,
) -> Page[Appeal]:
    scope = access.staff_scope(actor)
    return ctx.uow.appeals.find(
        scope=scope,
        status=state_named(AppealStatus, status),
        overdue_on=ctx.clock.today() if overdue else None,
        page=page,
    )


def appeals_of(ctx: UseCaseContext, actor: Actor, person_id: UUID | None) -> list[Appeal]:
    """The person's appeals, for the person or a bound family member."""
    person, _ = family.require_self_or_helper(ctx, actor, person_id, "see appeals")
    return ctx.uow.appeals.for_person(person.id)


def contestable(ctx: UseCaseContext, person: Person) -> list[Contestable]:
    """What the person may contest today, not already contested: rejected reviews and loss
    records of the last 60 days, suspensions in force."""
    today = ctx.clock.today()
    found_: list[Contestable] = []
    for case in ctx.uow.review_cases.for_person(person.id, CaseStatus.REJECTED):
        if case.decided_at is None:
            continue
        on = ctx.clock.local_date(case.decided_at)
        if today - on <= CONTEST_WITHIN:
            found_.append(Contestable(AppealSubject.REJECTED_REVIEW, case.id, on, "rejected"))
    for suspension in ctx.uow.suspensions.for_person(person.id, SuspensionStatus.IN_FORCE):
        found_.append(
            Contestable(
                AppealSubject.SUSPENSION,
                suspension.id,
                suspension.suspended_on,
                suspension.reason.value,
            )
        )
    # a loss record already applied is contested as the suspension it became
    for proposal in ctx.uow.proposals.for_person(
        person.id, ProposalKind.SUSPEND, ProposalStatus.PROPOSED
    ):
        on = ctx.clock.local_date(proposal.created_at)
        if today - on <= CONTEST_WITHIN:
            code = str(proposal.evidence.get("reason_code", "lost_qualification"))
            found_.append(Contestable(AppealSubject.LOSS_RECORD, proposal.id, on, code))
    # contested and waiting, or already upheld: nothing more to contest (a dismissed appeal
    # may be followed by a new one with new facts)
    taken = {
        (a.subject, a.subject_id)
        for a in ctx.uow.appeals.for_person(person.id, limit=200)
        if a.status in (AppealStatus.OPEN, AppealStatus.UPHELD)
    }
    return [c for c in found_ if (c.subject, c.subject_id) not in taken]
