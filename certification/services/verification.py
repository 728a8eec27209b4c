"""Township verification (Art. 15-21): tasks, results, home visits, the ledger, and what
flows back to benefits (proposals for the agency, the national upload batch), plus the
periodic suspension of people whose period expired while they were unreachable (Art. 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from certification import access
from certification.access import Actor
from certification.errors import (
    RuleViolation,
    ValidationFailed,
)
from certification.model import Certification, Person
from certification.notices import NoticeKind
from certification.ports import (
    EvidenceStore,
    Page,
    PageRequest,
    PersonBrief,
)
from certification.privacy import redacted_statement
from certification.services.certifications import Restoration, certify, settle_open_visits
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.services.proposing import propose_for_each
from certification.services.records import check_version, found
from certification.services.selfservice import retention_metadata
from certification.services.suspensions import unreachability
from certification.states import state_named
from certification.verification import (
    DecisionProposal,
    HomeVisitStatus,
    ProposalKind,
    Statement,
    TaskStatus,
    VerificationChannel,
    VerificationResult,
    VerificationTask,
)
from certification.vocabulary import (
    SELF_SERVICE_CHANNELS,
    BenefitKind,
    CertificationChannel,
    SuspensionReason,
)

EVIDENCE_PREFIX = "verification/"


def dispatch_task(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person | PersonBrief,
    *,
    work_injury: bool,
    source: str,
    source_id: UUID | None,
    reason: str | None = None,
) -> VerificationTask:
    """Send a person to their household-registration township (employer first for work
    injury, Art. 16) with a 3-month deadline from today (Art. 20), saying why (shown on the
    task page). Does not commit."""
    task = VerificationTask.dispatch(
        person_id=person.id,
        district_code=person.district_code,
        township_code=person.township_code,
        work_injury=work_injury,
        received_on=ctx.clock.today(),
        source=source,
        source_id=source_id,
        reason=reason or _REASONS.get(source),
    )
    task.created_at = ctx.clock.now()
    ctx.uow.tasks.add(task)
    tell(
        ctx,
        person,
        NoticeKind.TASK_OPENED,
        key=str(task.id),
        who="employer" if work_injury else "township",
        deadline_on=task.deadline_on,
    )
    ctx.audit(
        actor,
        "verification.dispatched",
        "verification_task",
        task.id,
        person_id=str(person.id),
        township_code=person.township_code,
        route=task.route.value,
        deadline_on=task.deadline_on.isoformat(),
        reason=task.reason,
        source=source,
        source_id=str(source_id) if source_id else None,
    )
    return task


# what the township is told when the source says it all
_REASONS = {
    "comparison_run": "information comparison: no sign of life this year, or signs of life "
    "and of loss together (Art. 14)",
    "dismissed_proposal": "a loss record the district found doubtful (Art. 13)",
    "expired_period": "the certification period expired (Art. 9): reach the person",
    "home_visit": "a home visit was asked for (Art. 19)",
    "review_case": "the self-service face check did not pass and staff sent it on",
}


def refer_by_hand(
    ctx: UseCaseContext, actor: Actor, person_id: UUID, *, reason: str
) -> VerificationTask:
    """A clerk sends a person to township verification (a doubt of their own, a report by
    phone): refused while a task is open, so the township never holds two."""
    person = load_person(ctx, person_id, for_update=True)
    access.require_clerk_for(actor, person.region_code, "send this person to verification")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed("Say why the person must be verified.", field="reason")
    if not person.active():
        raise RuleViolation("This person has no active benefit to verify.")
    task = refer_for_verification(
        ctx, actor, person, source="staff", source_id=None, reason=reason[:1000]
    )
    if task is None:
        raise RuleViolation(
            "This person already has an open verification task.",
            details={"task_id": str(ctx.uow.tasks.open_for_person(person.id)[0].id)},
        )
    ctx.uow.commit()
    return task


def has_work_injury(person: Person) -> bool:
    return any(e.kind is BenefitKind.WORK_INJURY_LONG_TERM for e in person.active())


def refer_for_verification(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    *,
    source: str,
    source_id: UUID | None,
    work_injury: bool | None = None,
    reason: str | None = None,
) -> VerificationTask | None:
    """Open a task unless one is open already; the employer goes first when the benefit in
    question (default: any active benefit of the person) is a work-injury one. Does not
    commit."""
    if ctx.uow.tasks.open_for_person(person.id):
        return None
    return dispatch_task(
        ctx,
        actor,
        person,
        work_injury=has_work_injury(person) if work_injury is None else work_injury,
        source=source,
        source_id=source_id,
        reason=reason,
    )


def _benefits_concerned(
    person: Person,
    result: VerificationResult,
    statement: Statement | None,
    named: list[UUID] | None,
) -> set[UUID]:
    """Which active benefits a loss or an unreachable result is about (Art. 18: not every
    benefit stops for every reason; a re-employed person keeps a survivor's pension)."""
    if named:
        return person.active_named(named, field="benefits")
    active = {e.id for e in person.active()}
    if result is not VerificationResult.LOST or len(active) <= 1:
        return active
    if statement is not None and statement.death_record is not None:
        return active  # a death ends every benefit
    raise ValidationFailed(
        "This person has several benefits: name the one(s) the loss concerns.",
        field="benefits",
        details={"active_benefits": sorted(str(a) for a in active)},
    )


def load_task(ctx: UseCaseContext, task_id: UUID, *, for_update: bool = False) -> VerificationTask:
    task = found(ctx.uow.tasks.get(task_id, for_update=for_update), "verification task", task_id)
    return task


def _require_township_clerk(actor: Actor, person: Person, what: str) -> None:
    access.require_clerk_for(actor, person.region_code, what)


@dataclass(frozen=True, slots=True)
class TaskView:
    task: VerificationTask
    person: Person
    overdue: bool


def get_task(ctx: UseCaseContext, actor: Actor, task_id: UUID) -> TaskView:
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    access.require_staff(actor, "read verification tasks")
    return TaskView(task, person, task.is_overdue(ctx.clock.today()))


def list_tasks(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    status: str | None,
    overdue: bool,
    page: PageRequest,
) -> Page[VerificationTask]:
    scope = access.staff_scope(actor)
    return ctx.uow.tasks.find(
        scope=scope,
        status=state_named(TaskStatus, status),
        overdue_on=ctx.clock.today() if overdue else None,
        page=page,
    )


def overdue_by_district(ctx: UseCaseContext, actor: Actor) -> list[tuple[str, int]]:
    scope = access.staff_scope(actor)
    return ctx.uow.tasks.overdue_by_district(ctx.clock.today(), scope)


def employer_could_not_confirm(
    ctx: UseCaseContext,
    actor: Actor,
    task_id: UUID,
    *,
    note: str,
    expected_version: int | None = None,
) -> VerificationTask:
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id)
    _require_township_clerk(actor, person, "route this verification task")
    task = load_task(ctx, task_id, for_update=True)
    check_version(task, expected_version, "task")
    task.employer_could_not_confirm(ctx.clock.today(), note, actor.account_id)
    ctx.audit(
        actor,
        "verification.to_township",
        "verification_task",
        task.id,
        reason=task.employer_note,
        person_id=str(person.id),
        deadline_on=task.deadline_on.isoformat(),
    )
    ctx.uow.commit()
    return task


def store_evidence(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    task_id: UUID,
    *,
    stream: Any,
    length: int,
    content_type: str,
    extension: str,
) -> str:
    """Keep a photo or video for a task (kept 3 years, Art. 20); returns its key."""
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id)
    _require_township_clerk(actor, person, "add evidence to this verification task")
    key = f"{EVIDENCE_PREFIX}{task.id}/{uuid4().hex}.{extension}"
    store.put_stream(key, stream, length, content_type, retention_metadata(ctx.clock.now()))
    ctx.audit(
        actor,
        "verification.evidence_added",
        "verification_task",
        task.id,
        person_id=str(person.id),
        key=key,
        content_type=content_type,
    )
    ctx.uow.commit()
    return key


def _app_certification(
    ctx: UseCaseContext, person: Person, task: VerificationTask, relies_on: UUID | None
) -> Certification:
    """The app certification a township result through the app relies on: the person's own,
    made in the app (face or family-assisted), since the task was received, not annulled."""
    made = ctx.uow.certifications.get(relies_on) if relies_on else None
    if (
        made is None
        or made.person_id != person.id
        or made.channel not in SELF_SERVICE_CHANNELS
        or made.annulled
        or made.certified_on < task.received_on
    ):
        raise ValidationFailed(
            "A result through the app names the person's app certification made since the "
            "task was received (certification_id); there is none with that id. (A certification "
            "in the app closes the task by itself.)",
            field="certification_id",
        )
    return made


def record_result(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    task_id: UUID,
    *,
    result: VerificationResult,
    channel: VerificationChannel,
    evidence: list[str],
    statement: Statement | None,
    note: str | None,
    expected_version: int | None = None,
    benefits: list[UUID] | None = None,
    relies_on: UUID | None = None,
) -> tuple[VerificationTask, list[DecisionProposal]]:
    """Record what the township found and send the consequence to the agency (Art. 21).
    A loss names the benefits concerned (``benefits``) unless it is a death on an official
    record or the person has one benefit; unreachable concerns every active benefit. Found
    qualified through the app, the result names the app certification it relies on
    (``relies_on``) and makes no second one."""
    task = load_task(ctx, task_id)
    person = load_person(ctx, task.person_id, for_update=True)
    _require_township_clerk(actor, person, "record the result of this verification")
    task = load_task(ctx, task_id, for_update=True)
    check_version(task, expected_version, "task")
    evidence = list(dict.fromkeys(e.strip() for e in evidence if e and e.strip()))
    if statement is not None:
        statement.check(ctx.clock.today())
    concerned = _benefits_concerned(person, result, statement, benefits)
    for key in evidence + (statement.evidence_keys if statement else []):
        if not key.startswith(f"{EVIDENCE_PREFIX}{task.id}/") or store.stat(key) is None:
            raise ValidationFailed(
                f"Evidence {key[:80]!r} was not uploaded for this task; upload the photo or "
                "video first.",
                field="evidence",
            )
    app_certification = None
    task.require_open()
    if result is VerificationResult.QUALIFIED and channel is VerificationChannel.APP:
        app_certification = _app_certification(ctx, person, task, relies_on)
        evidence = [f"certification:{app_certification.id}"]
    now = ctx.clock.now()
    task.record(
        result=result,
        channel=channel,
        evidence=evidence,
        statement=statement,
        note=note,
        actor_id=actor.account_id,
        at=now,
    )
    if channel is VerificationChannel.HOME_VISIT:
        # the visit scheduled for this task took place: it is done, with this result
        for visit in ctx.uow.home_visits.open_for_person(person.id):
            if visit.task_id == task.id and visit.status is HomeVisitStatus.SCHEDULED:
                visit.close(HomeVisitStatus.DONE, task.note or result.value, actor.account_id, now)
                ctx.audit(
                    actor,
                    "home_visit.done",
                    "home_visit_request",
                    visit.id,
                    reason=visit.outcome,
                    person_id=str(person.id),
                    result=result.value,
                )
    proposals: list[DecisionProposal] = []
    # found qualified through the app: certified already, and that certification proposed
    # any restoration
    if result is VerificationResult.QUALIFIED and app_certification is None:
        outcome = certify(
            ctx,
            actor,
            person,
            channel=(
                CertificationChannel.EMPLOYER
                if channel is VerificationChannel.EMPLOYER
                else CertificationChannel.TOWNSHIP_VERIFICATION
            ),
            certified_at=now,
            evidence=evidence,
            note=f"verification ({channel.value})" + (f": {task.note}" if task.note else ""),
            source_ref=f"verification_task:{task.id}",
            restoration=Restoration(
                "verification_task",
                task.id,
                f"found qualified by township verification ({channel.value})",
            ),
        )
        proposals = outcome.restorations
    else:
        settle_open_visits(ctx, actor, person.id, f"township result: {result.value}")
        reason_code = SuspensionReason.LOST_QUALIFICATION
        details: dict[str, Any] = {"evidence": evidence}
        if result is VerificationResult.LOST:
            details["statement"] = task.statement
            reason = "lost qualification found by township verification: " + (
                statement.reason if statement else ""
            )
        else:
            contact = unreachability(ctx, person.id, since=task.received_on)
            if not contact.finding.unreachable:
                raise RuleViolation(
                    "Unreachable means unreachable by every means: record the failed contact "
                    "attempts first. " + contact.finding.explain(),
                    details={"channels_tried": sorted(contact.finding.channels_tried)},
                )
            reason_code = SuspensionReason.UNREACHABLE_IN_VERIFICATION
            reason = "unreachable in township verification: " + contact.finding.explain()
            details["contact_attempt_ids"] = contact.attempt_ids
        details["reason_code"] = reason_code.value
        proposals = propose_for_each(
            ctx,
            actor,
            person,
            ProposalKind.SUSPEND,
            source="verification_task",
            source_id=task.id,
            reason=reason,
            evidence=details,
            only=concerned,
            task_id=str(task.id),
        )
    ctx.audit(
        actor,
        "verification.recorded",
        "verification_task",
        task.id,
        reason=task.note,
        person_id=str(person.id),
        result=result.value,
        channel=channel.value,
        evidence=evidence,
        statement=redacted_statement(task.statement),
        proposals=[str(p.id) for p in proposals],
    )
    ctx.uow.commit()
    return task, proposals
