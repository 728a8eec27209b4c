"""Suspension (暂停) and restoration (恢复) with arrears (补发): explicit, reasoned, audited steps.

- Suspending for an expired period (Art. 9) needs the period to have ended
  before the suspension date and the person to be unreachable by several
  means during it (certification.contact).
- Every other reason needs a written explanation (a confirmed death record, a
  verification result...).
- Restoring needs proof that the person is still qualified: a certification
  dated on or after the suspension (Art. 21 核实后发现仍然具备领取待遇资格).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.arrears import Arrears
from certification.contact import UnreachableFinding, assess_unreachable
from certification.errors import NotFound, RuleViolation, ValidationFailed
from certification.ids import new_id
from certification.model import ContactAttempt, Entitlement, Person, Suspension
from certification.notices import NoticeKind
from certification.ports import Page, PageRequest
from certification.privacy import redacted_statement
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person
from certification.services.proposing import record_decision
from certification.services.records import check_version, found
from certification.verification import ProposalKind, ProposalStatus
from certification.vocabulary import SuspensionReason, SuspensionStatus

MIN_EXPLANATION = 4


@dataclass(frozen=True, slots=True)
class Unreachability:
    """The contact attempts since a day, and whether they show the person unreachable."""

    finding: UnreachableFinding
    attempts: list[ContactAttempt]

    @property
    def attempt_ids(self) -> list[str]:
        return [str(a.id) for a in self.attempts]

    def expired_period_evidence(self, due_on: date) -> dict[str, object]:
        """What a suspension for an expired period keeps (Art. 9)."""
        return {
            "due_on": due_on.isoformat(),
            "channels_unreachable": sorted(self.finding.channels_tried),
            "contact_attempt_ids": self.attempt_ids,
        }


def unreachability(ctx: UseCaseContext, person_id: UUID, *, since: date) -> Unreachability:
    """Art. 9 / 21: failed contact by the configured number of different means since ``since``,
    and nobody reached."""
    attempts = ctx.uow.contacts.for_person(person_id, since)
    finding = assess_unreachable(
        [a.facts() for a in attempts],
        period_started_on=since,
        min_channels=ctx.config.min_contact_channels,
    )
    return Unreachability(finding, attempts)


def _chosen_entitlements(person: Person, entitlement_ids: list[UUID] | None) -> list[Entitlement]:
    if not entitlement_ids:
        chosen = person.active()
        if not chosen:
            raise RuleViolation("This person has no active benefit to suspend.")
        return chosen
    chosen = []
    for entitlement_id in dict.fromkeys(entitlement_ids):
        entitlement = person.entitlement(entitlement_id)
        if entitlement is None:
            raise ValidationFailed(
                f"Benefit {entitlement_id} does not belong to this person.",
                field="entitlement_ids",
            )
        chosen.append(entitlement)
    return chosen


def suspend(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    *,
    reason: SuspensionReason,
    suspended_on: date | None,
    explanation: str,
    entitlement_ids: list[UUID] | None = None,
) -> list[Suspension]:
    person = load_person(ctx, person_id, for_update=True)
    access.require_agency_clerk_for(actor, person.region_code, "suspend this person's benefits")
    today = ctx.clock.today()
    on = suspended_on or today
    if on > today:
        raise ValidationFailed("A suspension cannot be dated in the future.", field="suspended_on")
    explanation = (explanation or "").strip()
    evidence: dict[str, object] = {}
    if reason is SuspensionReason.PERIOD_EXPIRED_UNREACHABLE:
        period = person.period(ctx.config.period)
        if period is None or not period.is_overdue(on):
            due = period.due_on.isoformat() if period else "none"
            raise RuleViolation(
                f"The certification period has not expired (due date {due}); a suspension for "
                "an expired period can only follow the due date.",
                details={"due_on": due},
            )
        contact = unreachability(ctx, person.id, since=period.starts_on)
        if not contact.finding.unreachable:
            raise RuleViolation(
                contact.finding.explain(),
                details={"channels_tried": sorted(contact.finding.channels_tried)},
            )
        evidence = contact.expired_period_evidence(period.due_on)
        explanation = explanation or contact.finding.explain()
    elif len(explanation) < MIN_EXPLANATION:
        raise ValidationFailed(
            "Explain why the benefit is suspended (for example the record that shows the "
            "person lost the qualification).",
            field="explanation",
        )
    suspensions = apply_suspension(
        ctx,
        actor,
        person,
        _chosen_entitlements(person, entitlement_ids),
        reason=reason,
        on=on,
        explanation=explanation,
        evidence=evidence,
    )
    for suspension in suspensions:
        answer_waiting(
            ctx, actor, person, suspension, ProposalKind.SUSPEND, None, f"suspended: {explanation}"
        )
    ctx.uow.commit()
    return suspensions


def answer_waiting(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    suspension: Suspension,
    kind: ProposalKind,
    arrears_fen: int | None,
    done: str,
) -> None:
    """A clerk did by hand what a proposal waits for: the proposal is answered (confirmed,
    pointing at this suspension), not left for a second clerk to confirm into an error."""
    waiting = ctx.uow.proposals.open_for(suspension.entitlement_id, kind.value)
    if waiting is None:
        return
    waiting.suspension_id = suspension.id
    waiting.arrears_fen = arrears_fen
    record_decision(
        ctx, actor, waiting, person, ProposalStatus.CONFIRMED, f"by hand, {done}"[:2000]
    )


def apply_suspension(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    entitlements: list[Entitlement],
    *,
    reason: SuspensionReason,
    on: date,
    explanation: str,
    evidence: dict[str, object],
) -> list[Suspension]:
    """Suspend the given benefits and audit each one. The caller has checked the grounds and
    the actor's rights, and commits."""
    suspensions = []
    for entitlement in entitlements:
        entitlement.suspend(on, f"{reason.value}: {explanation}", actor.account_id)
        suspension = Suspension(
            person_id=person.id,
            entitlement_id=entitlement.id,
            reason=reason,
            suspended_on=on,
            explanation=explanation,
            decided_by=actor.account_id,
            evidence=evidence,
            decided_at=ctx.clock.now(),
        )
        ctx.uow.suspensions.add(suspension)
        suspensions.append(suspension)
        ctx.audit(
            actor,
            "entitlement.suspended",
            "entitlement",
            entitlement.id,
            reason=explanation,
            suspension_id=str(suspension.id),
            person_id=str(person.id),
            suspension_reason=reason.value,
            suspended_on=on.isoformat(),
            # the evidence in full stays on the suspension; the trail masks the names in it
            **{k: redacted_statement(v) if k == "statement" else v for k, v in evidence.items()},
        )
    person.refresh_period(ctx.config.period)
    if suspensions:
        tell(
            ctx,
            person,
            NoticeKind.SUSPENDED,
            key=str(suspensions[0].id),
            why=reason.value,
            since=on,
        )
    return suspensions


@dataclass(frozen=True, slots=True)
class RestorationOutcome:
    suspension: Suspension
    arrears: Arrears


def load_suspension(
    ctx: UseCaseContext, suspension_id: UUID, *, for_update: bool = False
) -> Suspension:
    suspension = found(
        ctx.uow.suspensions.get(suspension_id, for_update=for_update), "suspension", suspension_id
    )
    return suspension


def restore(
    ctx: UseCaseContext,
    actor: Actor,
    suspension_id: UUID,
    *,
    restored_on: date | None,
    reason: str,
    expected_version: int | None = None,
) -> RestorationOutcome:
    suspension = load_suspension(ctx, suspension_id)
    person = load_person(ctx, suspension.person_id, for_update=True)
    access.require_agency_clerk_for(actor, person.region_code, "restore this person's benefits")
    suspension = load_suspension(ctx, suspension_id, for_update=True)
    check_version(suspension, expected_version, "suspension")
    today = ctx.clock.today()
    on = restored_on or today
    if on > today:
        raise ValidationFailed("A restoration cannot be dated in the future.", field="restored_on")
    reason = (reason or "").strip()
    if len(reason) < MIN_EXPLANATION:
        raise ValidationFailed(
            "Explain why the benefit is restored (for example the verification result).",
            field="reason",
        )
    arrears = apply_restoration(ctx, actor, person, suspension, on=on, reason=reason)
    answer_waiting(
        ctx,
        actor,
        person,
        suspension,
        ProposalKind.RESTORE,
        arrears.total_fen,
        f"restored: {reason}",
    )
    ctx.uow.commit()
    return RestorationOutcome(suspension, arrears)


def apply_restoration(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    suspension: Suspension,
    *,
    on: date,
    reason: str,
) -> Arrears:
    """Restore one suspended benefit with its arrears, audited. Needs a certification dated on
    or after the suspension (Art. 21). The caller has checked the actor's rights and commits."""
    if person.last_certified_on is None or person.last_certified_on < suspension.suspended_on:
        raise RuleViolation(
            "Record the certification that shows the person is still qualified (dated on or "
            f"after {suspension.suspended_on.isoformat()}) before restoring the benefit."
        )
    entitlement = person.entitlement(suspension.entitlement_id)
    if entitlement is None:
        raise NotFound("The suspended benefit no longer exists.")
    arrears = suspension.restore(
        entitlement, restored_on=on, reason=reason, actor_id=actor.account_id
    )
    person.refresh_period(ctx.config.period)
    ctx.audit(
        actor,
        "entitlement.restored",
        "entitlement",
        entitlement.id,
        reason=reason,
        suspension_id=str(suspension.id),
        person_id=str(person.id),
        restored_on=on.isoformat(),
        arrears_fen=arrears.total_fen,
        arrears_months=[str(m.month) for m in arrears.months],
    )
    tell(
        ctx,
        person,
        NoticeKind.RESTORED,
        key=str(suspension.id),
        since=on,
        arrears=f"{arrears.total_fen / 100:.2f}",
    )
    national = suspension.evidence.get("national_records")
    if national:
        # Art. 21: marked lost by the national cross-region system, suspended, found
        # qualified: the district uploads the person back to that system.
        ctx.uow.national.add_item(
            {
                "id": new_id(),
                "person_id": person.id,
                "suspension_id": suspension.id,
                "district_code": person.district_code,
                "citizen_id": person.citizen_id,
                "name": person.name,
                "suspended_on": suspension.suspended_on,
                "restored_on": on,
                "national_record_ids": list(national),
                "batch_id": None,
                "created_at": ctx.clock.now(),
            }
        )
    return arrears


def get_suspension(ctx: UseCaseContext, actor: Actor, suspension_id: UUID) -> Suspension:
    suspension = load_suspension(ctx, suspension_id)
    person = load_person(ctx, suspension.person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return suspension


def list_suspensions(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    status: SuspensionStatus | None,
    person_id: UUID | None,
    page: PageRequest,
) -> Page[Suspension]:
    scope = access.staff_scope(actor)
    return ctx.uow.suspensions.find(scope=scope, status=status, person_id=person_id, page=page)
