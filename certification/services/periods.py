"""Who is due, who is overdue, per region; and recomputing stored periods after a rule change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.errors import ValidationFailed
from certification.model import Person
from certification.periods import CertificationPeriod
from certification.ports import Page, PageRequest, PersonFilter, RegionCount
from certification.services.context import UseCaseContext
from certification.services.persons import load_person, scoped_filter

MAX_WINDOW_DAYS = 366


@dataclass(frozen=True, slots=True)
class PeriodStatus:
    person_id: UUID
    period: CertificationPeriod | None
    last_certified_on: date | None
    today: date

    @property
    def days_left(self) -> int | None:
        return self.period.days_left(self.today) if self.period else None

    @property
    def state(self) -> str:
        """not_in_scope | not_started | current | overdue."""
        if self.period is None:
            return "not_in_scope"
        if not self.period.has_started(self.today):
            return "not_started"
        return "overdue" if self.period.is_overdue(self.today) else "current"


def period_status(ctx: UseCaseContext, actor: Actor, person_id: UUID) -> PeriodStatus:
    person = load_person(ctx, person_id)
    access.require_read_person(actor, person_id=person.id, region_code=person.region_code)
    return PeriodStatus(
        person.id, person.period(ctx.config.period), person.last_certified_on, ctx.clock.today()
    )


def due_within(
    ctx: UseCaseContext, actor: Actor, *, days: int, region_code: str | None, page: PageRequest
) -> Page[Person]:
    """People whose period ends within the next ``days`` days (today included)."""
    if not 0 <= days <= MAX_WINDOW_DAYS:
        raise ValidationFailed(f"days must be between 0 and {MAX_WINDOW_DAYS}.", field="days")
    today = ctx.clock.today()
    base = scoped_filter(actor, region_code)
    flt = PersonFilter(
        scope=base.scope,
        region_code=base.region_code,
        due_from=today,
        due_to=today + timedelta(days=days),
    )
    return ctx.uow.persons.due_window(flt, page)


def overdue(
    ctx: UseCaseContext, actor: Actor, *, region_code: str | None, page: PageRequest
) -> Page[Person]:
    """People whose period has ended without a certification."""
    today = ctx.clock.today()
    base = scoped_filter(actor, region_code)
    flt = PersonFilter(
        scope=base.scope,
        region_code=base.region_code,
        due_to=today - timedelta(days=1),
    )
    return ctx.uow.persons.due_window(flt, page)


@dataclass(frozen=True, slots=True)
class DueSummary:
    today: date
    within_days: int
    overdue: list[RegionCount]
    due_soon: list[RegionCount]


def due_summary(
    ctx: UseCaseContext, actor: Actor, *, days: int, region_code: str | None
) -> DueSummary:
    if not 0 <= days <= MAX_WINDOW_DAYS:
        raise ValidationFailed(f"days must be between 0 and {MAX_WINDOW_DAYS}.", field="days")
    today = ctx.clock.today()
    base = scoped_filter(actor, region_code)
    overdue_counts = ctx.uow.persons.count_due_by_district(
        PersonFilter(base.scope, base.region_code, due_to=today - timedelta(days=1))
    )
    soon_counts = ctx.uow.persons.count_due_by_district(
        PersonFilter(
            base.scope, base.region_code, due_from=today, due_to=today + timedelta(days=days)
        )
    )
    return DueSummary(today, days, overdue_counts, soon_counts)


def recompute_periods(ctx: UseCaseContext, actor: Actor, *, batch_size: int = 1000) -> int:
    """Recompute every stored period (after a change of the period length). Returns changes."""
    access.require_operator(actor, "recompute certification periods")
    changed = 0
    for ids in ctx.uow.persons.ids_in_batches(batch_size):
        for person_id in ids:
            person = load_person(ctx, person_id, for_update=True)
            before = person.due_on
            person.refresh_period(ctx.config.period)
            if person.due_on != before:
                changed += 1
        ctx.uow.commit()
    ctx.audit(
        actor,
        "periods.recomputed",
        "system",
        None,
        period_months=ctx.config.period.period_months,
        changed=changed,
    )
    ctx.uow.commit()
    return changed
