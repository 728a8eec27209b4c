"""Annulling a wrong certification (撤销认证), four eyes: a district/county or municipal agency
clerk asks with reasons, a second one confirms or refuses. Confirmed, the certification stops
counting: the person's last certification and period are recomputed from the ones still
valid, its receipt no longer checks as valid, and the person is told to certify again.

Nothing else is undone by itself (decision 0019): a restoration the certification proposed
and a clerk confirmed stays with the clerk's decision; the recomputed period brings the
person back to the procedure (reminders, the Art. 9 job) if it has expired.
"""

from __future__ import annotations

from uuid import UUID

from certification import access
from certification.access import Actor
from certification.errors import NotFound, ValidationFailed
from certification.free_text import one_line
from certification.model import Certification, Person
from certification.notices import NoticeKind
from certification.services.context import UseCaseContext
from certification.services.notices import tell
from certification.services.persons import load_person

MIN_REASON = 10


def _load(
    ctx: UseCaseContext, actor: Actor, person_id: UUID, certification_id: UUID
) -> tuple[Person, Certification]:
    person = load_person(ctx, person_id, for_update=True)
    access.require_agency_clerk_for(actor, person.region_code, "annul a certification")
    certification = ctx.uow.certifications.get(certification_id, for_update=True)
    if certification is None or certification.person_id != person.id:
        raise NotFound(f"No certification with id {certification_id}.")
    return person, certification


def request_annulment(
    ctx: UseCaseContext, actor: Actor, person_id: UUID, certification_id: UUID, *, reason: str
) -> Certification:
    text = one_line(reason)
    if len(text) < MIN_REASON:
        raise ValidationFailed(
            "Say why the certification is wrong (for example: the counter record names "
            "another person; the death was on an earlier date).",
            field="reason",
        )
    person, certification = _load(ctx, actor, person_id, certification_id)
    certification.request_annulment(actor.account_id, ctx.clock.now(), text)
    ctx.audit(
        actor,
        "certification.annulment_requested",
        "certification",
        certification.id,
        reason=text,
        person_id=str(person.id),
    )
    ctx.uow.commit()
    return certification


def decide_annulment(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    certification_id: UUID,
    *,
    confirm: bool,
    note: str | None,
) -> Certification:
    person, certification = _load(ctx, actor, person_id, certification_id)
    certification.decide_annulment(actor.account_id, ctx.clock.now(), confirm=confirm)
    if not confirm:
        ctx.audit(
            actor,
            "certification.annulment_refused",
            "certification",
            certification.id,
            reason=note,
            person_id=str(person.id),
        )
        ctx.uow.commit()
        return certification
    ctx.uow.flush()
    person.recount_certified(ctx.uow.certifications.latest_valid_on(person.id), ctx.config.period)
    period = person.period(ctx.config.period)
    ctx.audit(
        actor,
        "certification.annulled",
        "certification",
        certification.id,
        reason=certification.annulment_reason,
        person_id=str(person.id),
        requested_by=str(certification.annulment_requested_by),
        due_on=period.due_on.isoformat() if period else None,
    )
    tell(
        ctx,
        person,
        NoticeKind.CERTIFICATION_ANNULLED,
        key=str(certification.id),
        certified_on=certification.certified_on,
        due_on=period.due_on if period else None,
    )
    ctx.uow.commit()
    return certification
