"""Claims on a beneficiary's record (certification/claims.py): the claimant's face check,
the counter clerk's link, and the list staff read for fraud analysis."""

from __future__ import annotations

from uuid import UUID

from certification import access
from certification.access import Actor
from certification.citizen_id import CitizenId
from certification.claims import Claim, ClaimStatus, target_hash
from certification.errors import AccessDenied, NotFound, RuleViolation, ValidationFailed
from certification.model import Account
from certification.ports import EvidenceStore, Page, PageRequest
from certification.services.context import UseCaseContext
from certification.services.persons import load_person, normalise_name
from certification.services.selfservice import (
    SelfServiceConfig,
    StartedSession,
    confirm_claim,
    open_session,
)
from certification.vocabulary import AccountKind, StaffRole

CANNOT_CONFIRM = (
    "Your registration is recorded. It cannot be confirmed in the app for now; please visit "
    "a service point with your ID card, where a clerk will confirm it."
)


def current_claim(ctx: UseCaseContext, actor: Actor) -> Claim | None:
    """The signed-in account's latest claim (what the app shows: its status only)."""
    if actor.account_id is None:
        return None
    claims = ctx.uow.claims.for_account(actor.account_id)
    return claims[0] if claims else None


def start_claim_check(
    ctx: UseCaseContext,
    actor: Actor,
    store: EvidenceStore,
    config: SelfServiceConfig,
    *,
    gentle: bool = False,
) -> StartedSession:
    """The face check that turns the caller's claim into the person's account.

    The claim's own limits apply (a claimant's failures never lock the person). When the
    claim cannot be checked in the app - no matching beneficiary, no enrolled photo, no
    benefit in force - the answer is the same, so the check says nothing about which ID
    numbers receive benefits beyond what a counter visit would.
    """
    if actor.kind != AccountKind.FAMILY.value:
        raise RuleViolation("This account is already a beneficiary's own account.")
    claim = current_claim(ctx, actor)
    if claim is None:
        raise NotFound("This account has no claim to confirm.")
    claim = ctx.uow.claims.get(claim.id, for_update=True)
    assert claim is not None
    claim.check_open(ctx.clock.now())
    cannot = RuleViolation(CANNOT_CONFIRM, details={"reason": "visit_service_point"})
    if claim.person_id is None:
        raise cannot
    person = load_person(ctx, claim.person_id)
    templates = [
        t for t in ctx.uow.templates.active_for(person.id) if t.model == config.match_model
    ]
    if not person.in_force() or not templates:
        raise cannot
    return open_session(ctx, actor, store, config, person, claim_id=claim.id, gentle=gentle)


def link_at_counter(
    ctx: UseCaseContext,
    actor: Actor,
    claim_id: UUID,
    *,
    citizen_id_seen: str,
    name_seen: str,
    key: str,
) -> Account:
    """A counter clerk who checked the claimant's ID card confirms the claim (audited)."""
    if not actor.is_staff or not (
        actor.has_role(StaffRole.COUNTER) or actor.has_role(StaffRole.CLERK)
    ):
        raise AccessDenied("Only counter staff confirm a claim, after checking the ID card.")
    claim = ctx.uow.claims.get(claim_id, for_update=True)
    if claim is None or claim.status is not ClaimStatus.PENDING:
        raise NotFound("No pending claim with this id.")
    cid = CitizenId.parse(citizen_id_seen, today=ctx.clock.today())
    person = ctx.uow.persons.by_citizen_id(cid.value)
    if (
        target_hash(cid.value, key) != claim.target_hash
        or person is None
        or person.name != normalise_name(name_seen)
    ):
        raise ValidationFailed(
            "The ID card does not match this claim or no beneficiary has this ID and name; "
            "nothing was changed.",
            field="citizen_id_seen",
        )
    if not actor.has_role(StaffRole.COUNTER) and not actor.sees_region(person.region_code):
        raise AccessDenied("The person is registered outside your region; use a city counter.")
    claim.person_id = person.id
    account = confirm_claim(ctx, claim, person, actor, how="counter")
    ctx.uow.commit()
    return account


def suspicious_claims(ctx: UseCaseContext, actor: Actor, page: PageRequest) -> Page[Claim]:
    """Claims on people who drew several claims, or with failed face checks (fraud analysis:
    city and district staff)."""
    access.require_staff(actor, "list suspicious claims")
    if not (actor.has_role(StaffRole.REVIEWER) or actor.has_role(StaffRole.AUDITOR)):
        raise AccessDenied("Reviewers and auditors read the list of suspicious claims.")
    return ctx.uow.claims.suspicious(access.staff_scope(actor), page)
