"""Recording certifications: one certification restarts the period of all the person's benefits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.citizen_id import CitizenId
from certification.errors import NotFound, RuleViolation, ValidationFailed
from certification.free_text import one_line
from certification.model import Certification, NewCertification, Person
from certification.notices import NoticeKind
from certification.periods import CertificationPeriod
from certification.ports import Page, PageRequest
from certification.receipts import Receipt
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person, normalise_name
from certification.services.proposing import propose_for_each
from certification.services.receipts import issue_receipt
from certification.services.records import found
from certification.verification import DecisionProposal, ProposalKind
from certification.vocabulary import (
    STAFF_RECORDABLE_CHANNELS,
    CertificationChannel,
    EntitlementStatus,
)

MAX_EVIDENCE_REFS = 20


@dataclass(frozen=True, slots=True)
class Restoration:
    """Why a certification asks for the suspended benefits back: by default the
    certification itself; a township result names its task."""

    source: str
    source_id: UUID | None
    reason: str


@dataclass(frozen=True, slots=True)
class CertificationOutcome:
    certification: Certification
    period: CertificationPeriod | None
    # Suspended benefits stay suspended until an agency clerk restores them (Art. 21): the
    # certification opens a restoration proposal for each, with its arrears, for the clerk.
    restoration_pending: list[UUID]
    restorations: list[DecisionProposal] = field(default_factory=list)
    # open verification tasks the certification made needless (closed with it as result)
    tasks_closed: list[UUID] = field(default_factory=list)
    receipt: Receipt | None = None  # the signed receipt the person is sent


def _clean_evidence(evidence: list[str] | None) -> list[str]:
    refs = [e.strip() for e in (evidence or []) if e and e.strip()]
    if len(refs) > MAX_EVIDENCE_REFS:
        raise ValidationFailed(
            f"At most {MAX_EVIDENCE_REFS} evidence references per certification.",
            field="evidence",
        )
    if any(len(r) > 500 for r in refs):
        raise ValidationFailed(
            "An evidence reference is longer than 500 characters.", field="evidence"
        )
    return refs


def certify(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    *,
    channel: CertificationChannel,
    certified_at: datetime,
    evidence: list[str] | None = None,
    note: str | None = None,
    source_ref: str | None = None,
    assisted_by: UUID | None = None,
    restoration: Restoration | None = None,
) -> CertificationOutcome:
    """The one place a certification is recorded with what it joins; every channel goes
    through it, and so every channel joins the next steps here (Art. 21): each suspended
    benefit gets a restoration proposal for the district clerk, and the person's open
    verification tasks close with this certification as their result. (A comparison run
    records certifications of people with none of that waiting in bulk, through the same
    :func:`new_certification` and :func:`audit_certified`.) Does not commit."""
    certification = new_certification(
        ctx,
        actor,
        person.id,
        [e.start_date for e in person.in_force()],
        channel=channel,
        certified_at=certified_at,
        evidence=evidence,
        note=note,
        source_ref=source_ref,
        assisted_by=assisted_by,
    ).record()
    certified_on = certification.certified_on
    ctx.uow.certifications.add(certification)
    person.record_certification(certification, ctx.config.period)
    period = person.period(ctx.config.period)
    pending = [e.id for e in person.entitlements if e.status is EntitlementStatus.SUSPENDED]
    said = f"certified ({channel.value}) on {certified_on.isoformat()}"
    restorations: list[DecisionProposal] = []
    if pending:
        why = restoration or Restoration("certification", certification.id, said)
        restorations = propose_for_each(
            ctx,
            actor,
            person,
            ProposalKind.RESTORE,
            source=why.source,
            source_id=why.source_id,
            reason=why.reason,
            evidence={
                "certification_id": str(certification.id),
                "channel": channel.value,
                "evidence": certification.evidence,
            },
            certification_id=str(certification.id),
        )
    closed = _close_settled_tasks(ctx, actor, person, certification, said)
    settle_open_visits(ctx, actor, person.id, said)
    receipt = _tell_certified(ctx, person, certification, period)
    audit_certified(ctx, actor, certification, period, pending, restorations, closed)
    return CertificationOutcome(certification, period, pending, restorations, closed, receipt)


def audit_certified(
    ctx: UseCaseContext,
    actor: Actor,
    certification: Certification | NewCertification,
    period: CertificationPeriod | None,
    pending: Sequence[UUID] = (),
    restorations: Sequence[DecisionProposal] = (),
    closed: Sequence[UUID] = (),
) -> None:
    """The audit record of a certification (one shape for every path that makes one)."""
    ctx.audit(
        actor,
        "certification.recorded",
        "person",
        certification.person_id,
        certification_id=str(certification.id),
        channel=certification.channel.value,
        certified_on=certification.certified_on.isoformat(),
        assisted_by=str(certification.assisted_by) if certification.assisted_by else None,
        due_on=period.due_on.isoformat() if period else None,
        restoration_pending=[str(e) for e in pending],
        restoration_proposals=[str(p.id) for p in restorations],
        tasks_closed=[str(t) for t in closed],
    )


def new_certification(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    in_force_starts: Sequence[date],
    *,
    channel: CertificationChannel,
    certified_at: datetime,
    evidence: list[str] | None = None,
    note: str | None = None,
    source_ref: str | None = None,
    assisted_by: UUID | None = None,
) -> NewCertification:
    """A certification checked against the clock and the benefits in force (their start
    dates); :func:`certify` records it with everything it joins, a comparison run's bulk
    path records it on its own when nothing else waits on the person."""
    if certified_at > ctx.clock.now():
        raise ValidationFailed(
            "A certification cannot be dated in the future.", field="certified_at"
        )
    if not in_force_starts:
        raise RuleViolation("This person has no benefit in force, so there is nothing to certify.")
    certified_on = ctx.clock.local_date(certified_at)
    if certified_on < min(in_force_starts):
        raise ValidationFailed(
            "The certification date is before the person's benefits started.",
            field="certified_at",
        )
    return NewCertification(
        person_id=person_id,
        certified_at=certified_at,
        certified_on=certified_on,
        channel=channel,
        recorded_by=actor.account_id,
        assisted_by=assisted_by,
        evidence=_clean_evidence(evidence),
        note=note,
        source_ref=source_ref,
    )


def _tell_certified(
    ctx: UseCaseContext,
    person: Person,
    certification: Certification,
    period: CertificationPeriod | None,
) -> Receipt | None:
    """The person is told, with the next due date and the receipt's code. A certification
    from the comparison of department data is not announced (the person did nothing; a
    message out of the blue is what scammers send): its receipt is issued when the person
    asks, and the reminders tell the next due date (decision 0016)."""
    if certification.channel is CertificationChannel.DATA_COMPARISON:
        return None
    due = period.due_on if period else None
    ctx.uow.flush()  # the receipt refers to the certification
    receipt = issue_receipt(ctx, person, certification, due)
    tell(
        ctx,
        person,
        NoticeKind.CERTIFIED,
        key=str(certification.id),
        certified_on=certification.certified_on,
        next_due_on=due or "-",
        receipt=receipt.code if receipt else "-",
    )
    return receipt


def settle_open_visits(ctx: UseCaseContext, actor: Actor, person_id: UUID, outcome: str) -> None:
    """Home visits asked for to verify the person, answered another way: closed, so that no
    clerk travels to verify someone already verified. Does not commit."""
    for visit in ctx.uow.home_visits.open_for_person(person_id):
        visit.settle(outcome, actor.account_id, ctx.clock.now())
        ctx.audit(
            actor,
            "home_visit.settled",
            "home_visit_request",
            visit.id,
            reason=outcome,
            person_id=str(person_id),
        )


def _close_settled_tasks(
    ctx: UseCaseContext, actor: Actor, person: Person, certification: Certification, said: str
) -> list[UUID]:
    """A verification task asks whether the person is alive and entitled; a certification
    answers it, whoever recorded it. Does not commit."""
    closed = []
    for task in ctx.uow.tasks.open_for_person(person.id):
        task.settle_by_certification(
            certification.id, said, actor_id=actor.account_id, at=ctx.clock.now()
        )
        ctx.audit(
            actor,
            "verification.settled_by_certification",
            "verification_task",
            task.id,
            person_id=str(person.id),
            certification_id=str(certification.id),
            channel=certification.channel.value,
        )
        closed.append(task.id)
    return closed


def record_certification(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    *,
    channel: CertificationChannel,
    certified_at: datetime | None,
    evidence: list[str] | None,
    note: str | None,
    source_ref: str | None,
) -> CertificationOutcome:
    """A staff member records a certification obtained through an Art. 12 channel."""
    person = load_person(ctx, person_id, for_update=True)
    access.require_clerk_for(actor, person.region_code, "record a certification for this person")
    if channel not in STAFF_RECORDABLE_CHANNELS:
        raise ValidationFailed(
            f"Channel {channel.value} is recorded by its own workflow, not by hand.",
            field="channel",
        )
    outcome = certify(
        ctx,
        actor,
        person,
        channel=channel,
        certified_at=certified_at or ctx.clock.now(),
        evidence=evidence,
        note=note,
        source_ref=source_ref,
    )
    ctx.uow.commit()
    return outcome


@dataclass(frozen=True, slots=True)
class CounterView:
    """What a counter clerk outside the person's region may see: enough to certify, no more."""

    person_id: UUID
    citizen_id_masked: str
    name: str
    birth_year: int
    district_code: str
    benefit_kinds: list[str]
    due_on: date | None


def _counter_view(person: Person) -> CounterView:
    return CounterView(
        person_id=person.id,
        citizen_id_masked=CitizenId(person.citizen_id).masked(),
        name=person.name,
        birth_year=person.birth_date.year,
        district_code=person.district_code,
        benefit_kinds=sorted({e.kind.value for e in person.in_force()}),
        due_on=person.due_on,
    )


def _counter_lookup(ctx: UseCaseContext, citizen_id: str, name: str, *, for_update: bool) -> Person:
    """The person whose ID card is on the counter: number and name must both match, and the
    answer is the same whether the number is unknown or the name differs (a clerk's account
    cannot be used to read names off a list of numbers)."""
    cid = CitizenId.parse(citizen_id, today=ctx.clock.today())
    person = ctx.uow.persons.by_citizen_id(cid.value)
    if person is None or person.name != normalise_name(name):
        raise NotFound(
            "No person receiving benefits has this citizen ID number and name; check both "
            "against the ID card."
        )
    if for_update:
        person = load_person(ctx, person.id, for_update=True)
    return person


def counter_lookup(ctx: UseCaseContext, actor: Actor, citizen_id: str, name: str) -> CounterView:
    access.require_counter_clerk(actor)
    person = _counter_lookup(ctx, citizen_id, name, for_update=False)
    ctx.audit(actor, "counter.looked_up", "person", person.id)
    ctx.uow.commit()
    return _counter_view(person)


ID_CHECKS = ("chip", "visual")  # the card's chip read by the counter's reader, or only seen


def counter_certify(
    ctx: UseCaseContext,
    actor: Actor,
    citizen_id: str,
    name: str,
    *,
    note: str | None,
    id_check: str,
    reader_ref: str | None = None,
) -> tuple[CounterView, CertificationOutcome]:
    """Art. 5 全市同城通办: any counter in the city certifies anyone who appears in person,
    with the ID card checked: read by the card reader (its read's reference kept as evidence)
    or only looked at. A card only looked at, or a person registered outside the clerk's own
    district, leaves the certification for the person's district to review (decision 0019)."""
    access.require_counter_clerk(actor)
    if id_check not in ID_CHECKS:
        raise ValidationFailed("Say how the ID card was checked: chip or visual.", field="id_check")
    reference = one_line(reader_ref)[:64]
    if id_check == "chip" and len(reference) < 4:
        raise ValidationFailed(
            "Give the card reader's record of the read (its reference).", field="reader_ref"
        )
    person = _counter_lookup(ctx, citizen_id, name, for_update=True)
    outcome = certify(
        ctx,
        actor,
        person,
        channel=CertificationChannel.COUNTER,
        certified_at=ctx.clock.now(),
        evidence=[f"id_card:chip:{reference}" if id_check == "chip" else "id_card:visual"],
        note=note,
        source_ref=f"counter:{actor.scope_code}",
    )
    flags = []
    if id_check == "visual":
        flags.append("id_card_not_read")
    if not actor.sees_region(person.district_code):
        flags.append("outside_clerk_district")
    if flags:
        outcome.certification.review_flag = ",".join(flags)
        ctx.audit(
            actor,
            "certification.flagged",
            "certification",
            outcome.certification.id,
            person_id=str(person.id),
            flags=flags,
        )
    ctx.uow.commit()
    return _counter_view(person), outcome


def certifications_to_review(
    ctx: UseCaseContext, actor: Actor, page: PageRequest
) -> Page[Certification]:
    """Counter certifications flagged for the district: about people in the staff's region."""
    return ctx.uow.certifications.to_review(scope=access.staff_scope(actor), page=page)


def clear_review(ctx: UseCaseContext, actor: Actor, certification_id: UUID) -> Certification:
    """An agency clerk of the person's district or the city (not the one who recorded it)
    finds a flagged counter certification right. A wrong one is annulled instead
    (services/annulments.py)."""
    made = found(
        ctx.uow.certifications.get(certification_id, for_update=True),
        "certification",
        certification_id,
    )
    person = load_person(ctx, made.person_id)
    access.require_agency_clerk_for(actor, person.region_code, "review counter certifications")
    made.clear_review(actor.account_id, ctx.clock.now())
    ctx.audit(
        actor,
        "certification.reviewed",
        "certification",
        made.id,
        person_id=str(person.id),
        flag=made.review_flag,
    )
    ctx.uow.commit()
    return made


def list_certifications(
    ctx: UseCaseContext, actor: Actor, person_id: UUID, page: PageRequest
) -> Page[Certification]:
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return ctx.uow.certifications.for_person(person.id, page)
