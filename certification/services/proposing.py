"""Opening decision proposals (suspend / restore) for a district clerk: the one place a
proposal is recorded, whatever asked for it (a comparison run, a township result, a
certification of a suspended person, the daily Art. 9 job)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from certification.access import Actor
from certification.model import Entitlement, Person
from certification.notices import NoticeKind
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.verification import DecisionProposal, ProposalKind, ProposalStatus
from certification.vocabulary import EntitlementStatus

# Which benefits a proposal of each kind is about: suspend the active ones, restore the
# suspended ones.
PROPOSED_FOR = {
    ProposalKind.SUSPEND: EntitlementStatus.ACTIVE,
    ProposalKind.RESTORE: EntitlementStatus.SUSPENDED,
}


def open_proposal(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    entitlement: Entitlement,
    kind: ProposalKind,
    *,
    source: str,
    source_id: UUID | None,
    reason: str,
    evidence: dict[str, Any],
    **details: Any,
) -> DecisionProposal:
    """Record a suspension or restoration proposal for a district clerk, audited (``details``
    join the audit record). Does not commit."""
    proposal = DecisionProposal(
        kind=kind,
        person_id=person.id,
        entitlement_id=entitlement.id,
        district_code=person.district_code,
        source=source,
        source_id=source_id,
        reason=reason[:2000],
        evidence=evidence,
        created_at=ctx.clock.now(),
    )
    ctx.uow.proposals.add(proposal)
    if kind is ProposalKind.SUSPEND:
        # one notice per event, however many benefits it concerns: the person can still
        # show they qualify before a clerk decides
        tell(
            ctx,
            person,
            NoticeKind.SUSPENSION_PROPOSED,
            key=f"{person.id}:{source}:{source_id or ctx.clock.today().isoformat()}",
            why=str(evidence.get("reason_code") or "other"),
        )
    ctx.audit(
        actor,
        "proposal.created",
        "decision_proposal",
        proposal.id,
        kind=kind.value,
        person_id=str(person.id),
        entitlement_id=str(entitlement.id),
        source=source,
        **details,
    )
    return proposal


def propose_for_each(
    ctx: UseCaseContext,
    actor: Actor,
    person: Person,
    kind: ProposalKind,
    *,
    source: str,
    source_id: UUID | None,
    reason: str,
    evidence: dict[str, Any],
    only: set[UUID] | None = None,
    **details: Any,
) -> list[DecisionProposal]:
    """A proposal of this kind for each of the person's benefits it applies to (``only``
    narrows them to the benefits concerned), unless one is already waiting for that
    benefit. Does not commit."""
    proposals = []
    for entitlement in person.entitlements:
        if entitlement.status is not PROPOSED_FOR[kind]:
            continue
        if only is not None and entitlement.id not in only:
            continue
        if ctx.uow.proposals.open_for(entitlement.id, kind.value):
            continue
        proposals.append(
            open_proposal(
                ctx,
                actor,
                person,
                entitlement,
                kind,
                source=source,
                source_id=source_id,
                reason=reason,
                evidence=evidence,
                **details,
            )
        )
    return proposals


def record_decision(
    ctx: UseCaseContext,
    actor: Actor,
    proposal: DecisionProposal,
    person: Person,
    status: ProposalStatus,
    note: str | None,
) -> None:
    """A proposal confirmed or dismissed, audited: the one place its decision is written.
    Does not commit."""
    proposal.decide(status, note, actor.account_id, ctx.clock.now())
    details: dict[str, Any] = {"kind": proposal.kind.value, "person_id": str(person.id)}
    if status is ProposalStatus.CONFIRMED:
        details["suspension_id"] = str(proposal.suspension_id)
        details["arrears_fen"] = proposal.arrears_fen
    ctx.audit(
        actor,
        f"proposal.{status.value}",
        "decision_proposal",
        proposal.id,
        reason=proposal.decision_note,
        **details,
    )
