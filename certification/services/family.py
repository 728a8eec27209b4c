"""Family members helping a beneficiary certify (亲属协助认证).

A family member asks to be bound to a beneficiary (citizen ID, name and relationship);
the binding becomes active when the beneficiary confirms it in the app (their account
identity-verified, which a successful face certification gives) or when staff approve it.
Either side, or staff, may revoke it.
"""

from __future__ import annotations

from uuid import UUID

from certification import access
from certification.access import Actor
from certification.citizen_id import CitizenId
from certification.errors import (
    AccessDenied,
    ValidationFailed,
)
from certification.model import FamilyBinding, Person
from certification.ports import Page, PageRequest
from certification.privacy import mask_name
from certification.selfservice import BindingStatus
from certification.services.context import UseCaseContext
from certification.services.persons import load_person, normalise_name
from certification.services.records import found
from certification.states import state_named
from certification.vocabulary import AccountKind

RELATIONSHIPS = ("spouse", "child", "grandchild", "sibling", "parent", "other_relative", "carer")


BINDING_RECORDED = (
    "Your request is recorded. The person confirms it in the app, or staff confirm it when "
    "you both visit a service point; it then appears in your list."
)


def request_binding(
    ctx: UseCaseContext, actor: Actor, *, citizen_id: str, name: str, relationship: str
) -> FamilyBinding | None:
    """Ask to help a beneficiary. The answer is the same whether the ID is unknown, the name
    differs, a request is already waiting or a new one was recorded (None unless recorded):
    the request is not a way to find out who receives benefits. The family member's list
    shows a binding once it is active."""
    if actor.kind != AccountKind.FAMILY.value or actor.account_id is None:
        raise AccessDenied("Only a family member's account can ask to be bound to a beneficiary.")
    if relationship not in RELATIONSHIPS:
        raise ValidationFailed(
            "Relationship is one of: " + ", ".join(RELATIONSHIPS), field="relationship"
        )
    cid = CitizenId.parse(citizen_id, today=ctx.clock.today())
    person = ctx.uow.persons.by_citizen_id(cid.value)
    if person is None or person.name != normalise_name(name):
        ctx.audit(actor, "binding.request_unmatched", "account", actor.account_id)
        ctx.uow.commit()  # recorded for fraud analysis; the caller hears "recorded"
        return None
    if any(
        b.person_id == person.id and b.in_force
        for b in ctx.uow.bindings.for_family(actor.account_id)
    ):
        return None
    binding = FamilyBinding(
        family_account_id=actor.account_id, person_id=person.id, relationship=relationship
    )
    ctx.uow.bindings.add(binding)
    ctx.audit(
        actor,
        "binding.requested",
        "person",
        person.id,
        binding_id=str(binding.id),
        relationship=relationship,
    )
    ctx.uow.commit()
    return binding


def _load(ctx: UseCaseContext, binding_id: UUID) -> FamilyBinding:
    binding = found(ctx.uow.bindings.get(binding_id, for_update=True), "binding", binding_id)
    return binding


def confirm_binding(ctx: UseCaseContext, actor: Actor, binding_id: UUID) -> FamilyBinding:
    """The beneficiary's own consent, in the app."""
    binding = _load(ctx, binding_id)
    if actor.kind != AccountKind.BENEFICIARY.value or actor.person_id != binding.person_id:
        raise AccessDenied("Only the beneficiary can confirm this request.")
    if not actor.identity_verified:
        raise AccessDenied(
            "Confirm your own identity first (certify yourself once with the app) before "
            "letting someone help you."
        )
    binding.decide(BindingStatus.ACTIVE, "beneficiary_confirmed", actor.account_id, ctx.clock.now())
    ctx.audit(actor, "binding.confirmed", "person", binding.person_id, binding_id=str(binding.id))
    ctx.uow.commit()
    return binding


def staff_decide_binding(
    ctx: UseCaseContext, actor: Actor, binding_id: UUID, *, approve: bool, reason: str
) -> FamilyBinding:
    binding = _load(ctx, binding_id)
    person = load_person(ctx, binding.person_id)
    access.require_clerk_for(actor, person.region_code, "decide family binding requests")
    binding.decide(
        BindingStatus.ACTIVE if approve else BindingStatus.REJECTED,
        "staff_approved" if approve else "staff_rejected",
        actor.account_id,
        ctx.clock.now(),
    )
    ctx.audit(
        actor,
        "binding.approved" if approve else "binding.rejected",
        "person",
        person.id,
        reason=reason,
        binding_id=str(binding.id),
    )
    ctx.uow.commit()
    return binding


def revoke_binding(
    ctx: UseCaseContext, actor: Actor, binding_id: UUID, *, reason: str
) -> FamilyBinding:
    binding = _load(ctx, binding_id)
    own = actor.account_id == binding.family_account_id or (
        actor.kind == AccountKind.BENEFICIARY.value and actor.person_id == binding.person_id
    )
    if not own:
        person = load_person(ctx, binding.person_id)
        access.require_clerk_for(actor, person.region_code, "revoke this binding")
    binding.revoke(actor.account_id, ctx.clock.now())
    ctx.audit(
        actor,
        "binding.revoked",
        "person",
        binding.person_id,
        reason=reason,
        binding_id=str(binding.id),
    )
    ctx.uow.commit()
    return binding


def my_bindings(ctx: UseCaseContext, actor: Actor) -> list[FamilyBinding]:
    """A family member's active bindings (a waiting request is not shown: that would tell
    whether the ID and name belong to a beneficiary); a beneficiary's bindings, all of them."""
    if actor.kind == AccountKind.FAMILY.value and actor.account_id is not None:
        return [b for b in ctx.uow.bindings.for_family(actor.account_id) if b.is_active]
    if actor.kind == AccountKind.BENEFICIARY.value and actor.person_id is not None:
        return ctx.uow.bindings.for_person(actor.person_id)
    raise AccessDenied(
        "Bindings are listed for beneficiaries and family members; staff use the region list."
    )


def helps(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> bool:
    """Whether ``actor`` is a family member with a confirmed binding to the person: the one
    test of "acting for a parent" (self-service, home visits, appeals, the family view)."""
    if actor.kind != AccountKind.FAMILY.value or actor.account_id is None:
        return False
    return any(
        b.person_id == person_id and b.is_active
        for b in ctx.uow.bindings.for_family(actor.account_id)
    )


def require_self_or_helper(
    ctx: UseCaseContext, actor: Actor, person_id: UUID | None, what: str
) -> tuple[Person, str]:
    """The person a beneficiary or a bound family member acts for, and how ("app" for the
    person, "family" for a helper). A beneficiary acts only for themselves, once their
    identity is confirmed; a family member only for a person bound to them."""
    if actor.kind == AccountKind.BENEFICIARY.value:
        if actor.person_id is None or (person_id is not None and person_id != actor.person_id):
            raise AccessDenied(f"You can {what} only for yourself.")
        if not actor.identity_verified:
            raise AccessDenied(
                f"Confirm your identity first (certify yourself once with the app); then you "
                f"can {what}."
            )
        return load_person(ctx, actor.person_id), "app"
    if actor.kind == AccountKind.FAMILY.value:
        if person_id is None:
            raise ValidationFailed("Say whom you are helping (person_id).", field="person_id")
        if not helps(ctx, actor, person_id):
            raise AccessDenied(
                f"You can {what} only for a person you are bound to, once the binding is confirmed."
            )
        return load_person(ctx, person_id), "family"
    raise AccessDenied(f"Only the beneficiary or a bound family member can {what}.")


def masked_name(name: str) -> str:
    """王建国 → 王*国, 李四 → 李*: enough for a helper to recognise whom they help."""
    return mask_name(name, for_helper=True) or name


def bound_names(
    ctx: UseCaseContext, actor: Actor, bindings: list[FamilyBinding]
) -> dict[UUID, str]:
    """The masked names of the people a family member is bound to (for choosing whom to help)."""
    if actor.kind != AccountKind.FAMILY.value:
        return {}
    names: dict[UUID, str] = {}
    for binding in bindings:
        person = ctx.uow.persons.get(binding.person_id)
        if person is not None:
            names[binding.person_id] = masked_name(person.name)
    return names


def bindings_of(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> list[FamilyBinding]:
    """The family bindings of one person, for staff who may read the person."""
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return ctx.uow.bindings.for_person(person.id)


def list_for_staff(
    ctx: UseCaseContext, actor: Actor, *, status: str | None, page: PageRequest
) -> Page[FamilyBinding]:
    scope = access.staff_scope(actor)
    return ctx.uow.bindings.find(scope=scope, status=state_named(BindingStatus, status), page=page)
