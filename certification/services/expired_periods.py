"""The daily job of Art. 9: people whose period expired while unreachable by several means."""

from __future__ import annotations

from datetime import timedelta

from certification import access
from certification.access import Actor, Scope
from certification.ports import (
    PageRequest,
    PersonFilter,
)
from certification.regions import CITY_CODE
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.suspensions import apply_suspension, unreachability
from certification.vocabulary import (
    EntitlementStatus,
    SuspensionReason,
)


def suspend_expired_unreachable(
    ctx: UseCaseContext, actor: Actor, *, limit: int = 10_000
) -> dict[str, int]:
    """Suspend the active benefits of people whose period expired and who were unreachable
    by the configured number of means during it (each attempt recorded)."""
    access.require_operator(actor, "run the expired-period suspension job")
    today = ctx.clock.today()
    counts = {"checked": 0, "suspended": 0, "reachable_or_untried": 0}
    after = None
    while counts["checked"] < limit:
        page = ctx.uow.persons.due_window(
            PersonFilter(scope=Scope(CITY_CODE), due_to=today - timedelta(days=1)),
            PageRequest(limit=200, after=after),
        )
        for person in page.items:
            counts["checked"] += 1
            active = [e for e in person.entitlements if e.status is EntitlementStatus.ACTIVE]
            period = person.period(ctx.config.period)
            if not active or period is None or not period.is_overdue(today):
                continue
            contact = unreachability(ctx, person.id, since=period.starts_on)
            if not contact.finding.unreachable:
                counts["reachable_or_untried"] += 1
                continue
            locked = load_person(ctx, person.id, for_update=True)
            apply_suspension(
                ctx,
                actor,
                locked,
                [e for e in locked.entitlements if e.status is EntitlementStatus.ACTIVE],
                reason=SuspensionReason.PERIOD_EXPIRED_UNREACHABLE,
                on=today,
                explanation=contact.finding.explain(),
                evidence=contact.expired_period_evidence(period.due_on),
            )
            counts["suspended"] += 1
        ctx.uow.commit()
        if page.next_after is None:
            break
        after = page.next_after
    return counts
