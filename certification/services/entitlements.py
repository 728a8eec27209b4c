"""Use cases on entitlements: grant, adjust the monthly amount, terminate."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.calendar import YearMonth
from certification.errors import AlreadyExists, ValidationFailed
from certification.model import Entitlement, EntitlementAmount, Person, validate_amount
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.records import found
from certification.vocabulary import (
    BenefitKind,
    DependantRelationship,
    EntitlementStatus,
    RecipientRole,
)


def load_entitlement(
    ctx: UseCaseContext, entitlement_id: UUID, *, lock_person: bool = False
) -> tuple[Person, Entitlement]:
    entitlement = found(ctx.uow.entitlements.get(entitlement_id), "benefit", entitlement_id)
    person = load_person(ctx, entitlement.person_id, for_update=lock_person)
    return person, entitlement


def grant_entitlement(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    *,
    kind: BenefitKind,
    role: RecipientRole,
    relationship: DependantRelationship | None,
    start_date: date,
    monthly_amount_fen: int,
) -> Entitlement:
    person = load_person(ctx, person_id, for_update=True)
    access.require_clerk_for(actor, person.region_code, "record benefits for this person")
    validate_amount(monthly_amount_fen)
    Entitlement.validate_terms(
        kind=kind,
        role=role,
        relationship=relationship,
        start_date=start_date,
        birth_date=person.birth_date,
        today=ctx.clock.today(),
    )
    if any(e.kind is kind for e in person.in_force()):
        raise AlreadyExists(
            f"This person already has a {kind.value} benefit that is not terminated.",
            field="kind",
        )
    entitlement = Entitlement(
        person_id=person.id,
        kind=kind,
        role=role,
        relationship=relationship,
        start_date=start_date,
        monthly_amount_fen=monthly_amount_fen,
    )
    entitlement.open(actor.account_id)
    person.entitlements.append(entitlement)
    period = person.refresh_period(ctx.config.period)
    ctx.audit(
        actor,
        "entitlement.granted",
        "entitlement",
        entitlement.id,
        person_id=str(person.id),
        kind=kind.value,
        role=role.value,
        relationship=relationship.value if relationship else None,
        start_date=start_date.isoformat(),
        monthly_amount_fen=monthly_amount_fen,
        due_on=period.due_on.isoformat() if period else None,
    )
    ctx.uow.commit()
    return entitlement


def get_entitlement(ctx: UseCaseContext, actor: Actor, entitlement_id: UUID) -> Entitlement:
    person, entitlement = load_entitlement(ctx, entitlement_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return entitlement


def list_entitlements(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> list[Entitlement]:
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return sorted(person.entitlements, key=lambda e: (e.start_date, e.kind.value))


def change_amount(
    ctx: UseCaseContext,
    actor: Actor,
    entitlement_id: UUID,
    *,
    effective_from: str,
    monthly_amount_fen: int,
    reason: str,
) -> EntitlementAmount:
    person, entitlement = load_entitlement(ctx, entitlement_id, lock_person=True)
    access.require_clerk_for(actor, person.region_code, "change this benefit's amount")
    try:
        month = YearMonth.parse(effective_from)
    except ValueError as err:
        raise ValidationFailed(str(err), field="effective_from") from err
    previous = entitlement.monthly_amount_fen
    change = entitlement.change_amount(month, monthly_amount_fen, reason, actor.account_id)
    ctx.audit(
        actor,
        "entitlement.amount_changed",
        "entitlement",
        entitlement.id,
        reason=reason,
        effective_from=str(month),
        monthly_amount_fen=monthly_amount_fen,
        previous_current_amount_fen=previous,
    )
    ctx.uow.commit()
    return change


def terminate_entitlement(
    ctx: UseCaseContext,
    actor: Actor,
    entitlement_id: UUID,
    *,
    terminated_on: date,
    reason: str,
) -> Entitlement:
    person, entitlement = load_entitlement(ctx, entitlement_id, lock_person=True)
    access.require_agency_clerk_for(actor, person.region_code, "terminate this benefit")
    if entitlement.status is EntitlementStatus.SUSPENDED:
        suspension = ctx.uow.suspensions.in_force_for(entitlement.id)
        if suspension is not None:
            suspension.explanation += f" (benefit terminated on {terminated_on.isoformat()})"
    entitlement.terminate(terminated_on, reason, actor.account_id)
    period = person.refresh_period(ctx.config.period)
    ctx.audit(
        actor,
        "entitlement.terminated",
        "entitlement",
        entitlement.id,
        reason=reason,
        person_id=str(person.id),
        terminated_on=terminated_on.isoformat(),
        due_on=period.due_on.isoformat() if period else None,
    )
    ctx.uow.commit()
    return entitlement
