"""What the person, and a family member bound to them, see of the person's record in the app
(掌上查询): the due date, the last certification and its receipt, who will contact them,
open home visits, appeals and what can still be contested, and whether the family receives
the reminders.

The family member sees the same facts about the person they help, under a masked name:
never the citizen ID, the phone, the address or the amounts of other benefits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from certification.access import Actor
from certification.appeals import Appeal
from certification.services import family
from certification.services.appeals import Contestable, contestable
from certification.services.context import UseCaseContext
from certification.services.receipts import latest_valid, receipt_for
from certification.verification import HomeVisitRequest
from certification.vocabulary import EntitlementStatus


@dataclass(frozen=True, slots=True)
class OpenTask:
    """Who will contact the person, and by when. Not why: a clerk's referral note may tell
    where a doubt came from (a neighbour's call, a tip-off)."""

    who: str  # township | employer
    deadline_on: date


@dataclass(frozen=True, slots=True)
class Overview:
    person_id: UUID
    name: str  # masked
    viewer: str  # app (the person) | family
    standing: str  # certified | due_soon | overdue | suspended | not_in_scope
    due_on: date | None
    last_certified_on: date | None
    last_channel: str | None
    receipt_code: str | None
    open_tasks: list[OpenTask]
    home_visits: list[HomeVisitRequest]
    appeals: list[Appeal]
    contestable: list[Contestable]
    reminders_to_family: bool


DUE_SOON_DAYS = 30


def overview(ctx: UseCaseContext, actor: Actor, person_id: UUID | None) -> Overview:
    person, via = family.require_self_or_helper(ctx, actor, person_id, "see this record")
    today = ctx.clock.today()
    period = person.period(ctx.config.period)
    suspended = any(e.status is EntitlementStatus.SUSPENDED for e in person.entitlements)
    if suspended:
        standing = "suspended"
    elif period is None:
        standing = "not_in_scope"
    elif period.is_overdue(today):
        standing = "overdue"
    elif period.is_due_within(today, DUE_SOON_DAYS):
        standing = "due_soon"
    else:
        standing = "certified"
    latest = latest_valid(ctx, person)
    receipt = receipt_for(ctx, person, latest) if latest else None
    tasks = [
        OpenTask(t.route.value, t.deadline_on) for t in ctx.uow.tasks.open_for_person(person.id)
    ]
    prefs = ctx.uow.notices.preferences(person.id)  # None: never chosen, no family copy
    return Overview(
        person_id=person.id,
        name=family.masked_name(person.name),
        viewer=via,
        standing=standing,
        due_on=period.due_on if period else None,
        last_certified_on=person.last_certified_on,
        last_channel=latest.channel.value if latest else None,
        receipt_code=receipt.code if receipt else None,
        open_tasks=tasks,
        home_visits=ctx.uow.home_visits.open_for_person(person.id),
        appeals=ctx.uow.appeals.for_person(person.id),
        contestable=contestable(ctx, person),
        reminders_to_family=prefs is not None and prefs.family_copy,
    )
