"""What the service holds about a person, for the person (PIPL Art. 45: the right to see and
copy one's personal information): their record, benefits, certifications, face checks,
consents, face templates (when and from what they were made, never the vector), family
bindings, appeals. A correction is asked for as an appeal of the kind ``record_correction``
(services/appeals.py), answered by the district's clerks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from certification.access import Actor
from certification.errors import AccessDenied
from certification.ports import PageRequest
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.vocabulary import AccountKind

RECENT = 50


@dataclass(frozen=True, slots=True)
class MyData:
    person: dict[str, Any]
    benefits: list[dict[str, Any]]
    period: dict[str, Any] | None
    certifications: list[dict[str, Any]]
    face_checks: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    face_templates: list[dict[str, Any]]
    family_bindings: list[dict[str, Any]]
    appeals: list[dict[str, Any]]
    generated_at: datetime


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def my_data(ctx: UseCaseContext, actor: Actor) -> MyData:
    """The person's own, in their own verified app account (a family member helps with
    certifying; the person's data is the person's)."""
    if actor.kind != AccountKind.BENEFICIARY.value or actor.person_id is None:
        raise AccessDenied("Only the person sees what is held about them, in their own app.")
    if not actor.identity_verified:
        raise AccessDenied("Confirm your identity first (a face check or a service point).")
    person = load_person(ctx, actor.person_id)
    uow = ctx.uow
    period = person.period(ctx.config.period)
    certifications = uow.certifications.for_person(person.id, PageRequest(limit=RECENT)).items
    return MyData(
        person={
            "name": person.name,
            "citizen_id": person.citizen_id,
            "birth_date": _day(person.birth_date),
            "phone": person.phone,
            "address": person.address,
            "region_code": person.region_code,
        },
        benefits=[
            {
                "kind": e.kind.value,
                "role": e.role.value,
                "start_date": _day(e.start_date),
                "status": e.status.value,
                "monthly_amount_fen": e.monthly_amount_fen,
            }
            for e in person.entitlements
        ],
        period={"starts_on": _day(period.starts_on), "due_on": _day(period.due_on)}
        if period
        else None,
        certifications=[
            {"certified_at": c.certified_at.isoformat(), "channel": c.channel.value}
            for c in certifications
        ],
        face_checks=[
            {
                "at": a.created_at.isoformat(),
                "status": a.status.value,
                "decision": a.decision,
                "reasons": list(a.reasons),
            }
            for a in uow.attempts.recent_for(person.id, RECENT)
        ],
        consents=[
            {
                "channel": c.channel.value,
                "notice_version": c.notice_version,
                "reference": c.reference,
                "given_at": c.given_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in uow.consents.for_person(person.id)
        ],
        face_templates=[
            {
                "made_from": t.source,
                "model": t.model,
                "created_at": t.created_at.isoformat(),
                "in_use": t.active,
                "erased": not t.template,
            }
            for t in uow.templates.all_for(person.id)
        ],
        family_bindings=[
            {
                "relationship": b.relationship,
                "status": b.status.value,
                "requested_at": b.requested_at.isoformat(),
            }
            for b in uow.bindings.for_person(person.id)
        ],
        appeals=[
            {
                "subject": a.subject.value,
                "status": a.status.value,
                "filed_at": a.filed_at.isoformat(),
                "decision_reason": a.decision_reason,
            }
            for a in uow.appeals.for_person(person.id, limit=RECENT)
        ],
        generated_at=ctx.clock.now(),
    )
