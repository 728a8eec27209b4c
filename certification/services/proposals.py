"""Decision proposals (suspend / restore) from the comparison and from township results,
confirmed or dismissed by a district clerk in one click (Art. 13, 18, 21)."""

from __future__ import annotations

import logging
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.arrears import compute_arrears
from certification.errors import (
    RuleViolation,
)
from certification.model import Person
from certification.ports import (
    Page,
    PageRequest,
)
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.proposing import record_decision
from certification.services.records import check_version, found
from certification.services.suspensions import apply_restoration, apply_suspension
from certification.services.verification import (
    refer_for_verification,
)
from certification.states import state_named
from certification.verification import (
    DecisionProposal,
    ProposalKind,
    ProposalStatus,
)
from certification.vocabulary import (
    BenefitKind,
    EntitlementStatus,
    SuspensionReason,
    SuspensionStatus,
)

log = logging.getLogger(__name__)


def confirm_proposal(
    ctx: UseCaseContext,
    actor: Actor,
    proposal: DecisionProposal,
    person: Person,
    *,
    note: str | None,
) -> None:
    """Apply a proposal. Does not commit."""
    today = ctx.clock.today()
    if proposal.kind is ProposalKind.SUSPEND:
        entitlement = person.entitlement(proposal.entitlement_id)
        if entitlement is None or entitlement.status is not EntitlementStatus.ACTIVE:
            raise RuleViolation("The benefit is no longer active; dismiss the proposal instead.")
        reason = SuspensionReason(
            proposal.evidence.get("reason_code", SuspensionReason.LOST_QUALIFICATION.value)
        )
        evidence = {
            "events": [],
            "national_records": [],
            **{k: v for k, v in proposal.evidence.items() if k != "reason_code"},
            "proposal_id": str(proposal.id),
            "source": proposal.source,
            "source_id": str(proposal.source_id) if proposal.source_id else None,
        }
        suspensions = apply_suspension(
            ctx,
            actor,
            person,
            [entitlement],
            reason=reason,
            on=today,
            explanation=proposal.reason,
            evidence=evidence,
        )
        proposal.suspension_id = suspensions[0].id
    else:
        suspension = ctx.uow.suspensions.in_force_for(proposal.entitlement_id)
        if suspension is None or suspension.status is not SuspensionStatus.IN_FORCE:
            raise RuleViolation("The benefit is no longer suspended; dismiss the proposal instead.")
        arrears = apply_restoration(
            ctx, actor, person, suspension, on=today, reason=proposal.reason
        )
        proposal.suspension_id = suspension.id
        proposal.arrears_fen = arrears.total_fen
    record_decision(ctx, actor, proposal, person, ProposalStatus.CONFIRMED, note)


def decide_proposal(
    ctx: UseCaseContext,
    actor: Actor,
    proposal_id: UUID,
    *,
    confirm: bool,
    note: str | None,
    expected_version: int | None = None,
) -> DecisionProposal:
    """One click: confirm (suspend / restore with arrears) or dismiss with a reason. A
    dismissed suspension from a comparison run sends the person to verification instead."""
    proposal = found(ctx.uow.proposals.get(proposal_id), "proposal", proposal_id)
    person = load_person(ctx, proposal.person_id, for_update=True)
    access.require_agency_clerk_for(
        actor, person.region_code, "decide suspensions and restorations"
    )
    proposal = found(ctx.uow.proposals.get(proposal_id, for_update=True), "proposal", proposal_id)
    check_version(proposal, expected_version, "proposal")
    if confirm:
        confirm_proposal(ctx, actor, proposal, person, note=note)
    else:
        record_decision(ctx, actor, proposal, person, ProposalStatus.DISMISSED, note)
        if proposal.kind is ProposalKind.SUSPEND and proposal.source == "comparison_run":
            dismissed = person.entitlement(proposal.entitlement_id)
            refer_for_verification(
                ctx,
                actor,
                person,
                source="dismissed_proposal",
                source_id=proposal.id,
                work_injury=dismissed is not None
                and dismissed.kind is BenefitKind.WORK_INJURY_LONG_TERM,
            )
    ctx.uow.commit()
    return proposal


def expected_arrears(ctx: UseCaseContext, proposal: DecisionProposal) -> int | None:
    """What confirming a pending restoration today would pay (fen); None for anything else."""
    if proposal.kind is not ProposalKind.RESTORE or proposal.status is not ProposalStatus.PROPOSED:
        return None
    suspension = ctx.uow.suspensions.in_force_for(proposal.entitlement_id)
    entitlement = ctx.uow.entitlements.get(proposal.entitlement_id)
    if suspension is None or entitlement is None:
        return None
    today = ctx.clock.today()
    return compute_arrears(suspension.suspended_on, today, entitlement.amount_schedule()).total_fen


def get_proposal(ctx: UseCaseContext, actor: Actor, proposal_id: UUID) -> DecisionProposal:
    proposal = found(ctx.uow.proposals.get(proposal_id), "proposal", proposal_id)
    person = load_person(ctx, proposal.person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return proposal


def list_proposals(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    status: str | None,
    kind: str | None,
    page: PageRequest,
) -> Page[DecisionProposal]:
    scope = access.staff_scope(actor)
    return ctx.uow.proposals.find(
        scope=scope,
        status=state_named(ProposalStatus, status),
        kind=state_named(ProposalKind, kind, field="kind"),
        page=page,
    )
