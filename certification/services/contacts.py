"""Recording attempts to reach a person (Art. 9)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.contact import UnreachableFinding, assess_unreachable
from certification.errors import ValidationFailed
from certification.model import ContactAttempt
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.vocabulary import ContactChannel, ContactOutcome


def record_contact_attempt(
    ctx: UseCaseContext,
    actor: Actor,
    person_id: UUID,
    *,
    channel: ContactChannel,
    outcome: ContactOutcome,
    attempted_at: datetime | None,
    note: str | None,
) -> ContactAttempt:
    person = load_person(ctx, person_id)
    access.require_clerk_for(actor, person.region_code, "record contact attempts for this person")
    when = attempted_at or ctx.clock.now()
    if when > ctx.clock.now():
        raise ValidationFailed("A contact attempt cannot be in the future.", field="attempted_at")
    attempt = ContactAttempt(
        person_id=person.id,
        channel=channel,
        outcome=outcome,
        attempted_at=when,
        attempted_on=ctx.clock.local_date(when),
        recorded_by=actor.account_id,
        note=note,
    )
    ctx.uow.contacts.add(attempt)
    ctx.audit(
        actor,
        "contact.recorded",
        "person",
        person.id,
        channel=channel.value,
        outcome=outcome.value,
        attempted_on=attempt.attempted_on.isoformat(),
    )
    ctx.uow.commit()
    return attempt


def list_contact_attempts(
    ctx: UseCaseContext, actor: Actor, person_id: UUID
) -> list[ContactAttempt]:
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return ctx.uow.contacts.for_person(person.id)


def reachability(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> UnreachableFinding:
    """Whether the Art. 9 'unreachable by several means' condition holds in the current period."""
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    period = person.period(ctx.config.period)
    since = period.starts_on if period else person.created_at.date()
    attempts = ctx.uow.contacts.for_person(person.id, since)
    return assess_unreachable(
        [a.facts() for a in attempts],
        period_started_on=since,
        min_channels=ctx.config.min_contact_channels,
    )
