"""Use cases on people: register, read, correct, list."""

from __future__ import annotations

import re
from collections.abc import Iterable
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.citizen_id import CitizenId
from certification.errors import (
    AccessDenied,
    AlreadyExists,
    ValidationFailed,
)
from certification.free_text import one_line
from certification.model import Person
from certification.ports import Page, PageRequest, PersonFilter
from certification.privacy import mask_name
from certification.regions import RegionPlacement, level_of, registered_placement
from certification.services.access_log import record_read
from certification.services.context import UseCaseContext
from certification.services.records import check_version, found

_PHONE = re.compile(r"^(\+?86)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")


def normalise_phone(raw: str | None) -> str | None:
    if raw is None:
        return None
    phone = raw.strip().replace(" ", "")
    if not phone:
        return None
    if not _PHONE.match(phone):
        raise ValidationFailed(
            "Enter a mainland mobile number (11 digits starting with 1) or a landline with "
            "its area code.",
            field="phone",
        )
    return phone


def normalise_name(raw: str) -> str:
    name = one_line(raw)
    if not name:
        raise ValidationFailed("The name is required.", field="name")
    if len(name) > 64:
        raise ValidationFailed("The name is longer than 64 characters.", field="name")
    return name


def resolve_placement(ctx: UseCaseContext, region_code: str) -> RegionPlacement:
    """A household registration must name a known region of Chongqing."""
    return registered_placement(region_code, lambda code: ctx.uow.regions.get(code) is not None)


def normalise_address(address: str | None) -> str | None:
    """One line, spaces collapsed, at most 200 characters; empty is none."""
    text = one_line(address)
    return text[:200] or None


def load_person(ctx: UseCaseContext, person_id: UUID, *, for_update: bool = False) -> Person:
    person = found(ctx.uow.persons.get(person_id, for_update=for_update), "person", person_id)
    return person


def load_people(ctx: UseCaseContext, person_ids: Iterable[UUID]) -> dict[UUID, Person]:
    """The people of a list page in one query, by id (a person not found: NotFound, as for
    one)."""
    wanted = set(person_ids)
    people = ctx.uow.persons.many(list(wanted))
    for person_id in wanted - set(people):
        found(None, "person", person_id)
    return people


def register_person(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    citizen_id: str,
    name: str,
    phone: str | None,
    region_code: str,
    address: str | None = None,
) -> Person:
    cid = CitizenId.parse(citizen_id, today=ctx.clock.today())
    placement = resolve_placement(ctx, region_code)
    access.require_clerk_for(actor, placement.code, "register this person")
    if ctx.uow.persons.by_citizen_id(cid.value) is not None:
        raise AlreadyExists(
            "A person with this citizen ID number is already registered.", field="citizen_id"
        )
    person = Person.register(
        citizen_id=cid, name=normalise_name(name), phone=normalise_phone(phone), placement=placement
    )
    person.address = normalise_address(address)
    ctx.uow.persons.add(person)
    ctx.audit(
        actor,
        "person.registered",
        "person",
        person.id,
        citizen_id=cid.masked(),
        region_code=placement.code,
    )
    ctx.uow.commit()
    return person


def get_person(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> Person:
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    record_read(ctx, actor, "person.read", "person", person.id)
    return person


def update_person(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    *,
    expected_version: int | None,
    reason: str,
    name: str | None = None,
    phone: str | None = None,
    region_code: str | None = None,
    clear_phone: bool = False,
    address: str | None = None,
) -> Person:
    person = load_person(ctx, person_id, for_update=True)
    access.require_clerk_for(actor, person.region_code, "change this person's record")
    check_version(person, expected_version, "record")
    changes: dict[str, object] = {}
    if name is not None and normalise_name(name) != person.name:
        changes["name"] = {"from": mask_name(person.name), "to": mask_name(normalise_name(name))}
        person.name = normalise_name(name)
    if clear_phone or phone is not None:
        new_phone = None if clear_phone else normalise_phone(phone)
        if new_phone != person.phone:
            changes["phone"] = "changed"
            person.phone = new_phone
    if address is not None and normalise_address(address) != person.address:
        changes["address"] = "changed"  # personal data: the audit says that, not what
        person.address = normalise_address(address)
    if region_code is not None and region_code != person.region_code:
        placement = resolve_placement(ctx, region_code)
        # Moving someone into another region needs the clerk to see both.
        access.require_clerk_for(actor, placement.code, "move this person into that region")
        changes["region_code"] = {"from": person.region_code, "to": placement.code}
        person.move_to(placement)
    if changes:
        person.updated_at = ctx.clock.now()
        ctx.audit(actor, "person.updated", "person", person.id, reason=reason, changes=changes)
        ctx.uow.commit()
    return person


def scoped_filter(actor: Actor, region_code: str | None) -> PersonFilter:
    """The staff member's scope, optionally narrowed to a region inside it."""
    scope = access.staff_scope(actor)
    if region_code is not None:
        level_of(region_code)
        if not actor.sees_region(region_code):
            raise AccessDenied(
                f"Region {region_code} is outside your scope ({scope}).",
                details={"scope": scope},
            )
    return PersonFilter(scope=scope, region_code=region_code)


_CITIZEN_ID = re.compile(r"\d{17}[\dXx]")
_LOOKS_LIKE_PHONE = re.compile(r"\+?[\d -]{7,20}")


def search_people(ctx: UseCaseContext, actor: Actor, query: str, page: PageRequest) -> Page[Person]:
    """Staff find a person in their region by citizen ID, phone number or the whole name,
    whichever was typed (all three are sealed in the database and found by their blind index:
    an exact value, never a part of one; decision 0020)."""
    text = one_line(query)
    base = scoped_filter(actor, None)
    if _CITIZEN_ID.fullmatch(text):
        flt = PersonFilter(scope=base.scope, citizen_id=text.upper())
    elif _LOOKS_LIKE_PHONE.fullmatch(text):
        flt = PersonFilter(scope=base.scope, phone=normalise_phone(text))
    elif text:
        flt = PersonFilter(scope=base.scope, name=normalise_name(text))
    else:
        raise ValidationFailed("Type a citizen ID, a phone number or a name.", field="q")
    return ctx.uow.persons.find(flt, page)


def list_persons(
    ctx: UseCaseContext,
    actor: Actor,
    *,
    region_code: str | None,
    name: str | None,
    page: PageRequest,
) -> Page[Person]:
    base = scoped_filter(actor, region_code)
    return ctx.uow.persons.find(
        PersonFilter(
            scope=base.scope,
            region_code=base.region_code,
            name=normalise_name(name) if name else None,
        ),
        page,
    )
