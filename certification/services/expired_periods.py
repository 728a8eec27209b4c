"""The daily job of Art. 9: people whose period expired without a certification.

Every such person who still has an active benefit is reached, however many there are
(keyset pages over the due date, one transaction per page; the suspended are left out in
the query, so they never crowd out the newly overdue):

- unreachable by the configured number of different means during the period (each attempt
  recorded): a suspension *proposal* per active benefit for the district clerk, who
  confirms or dismisses it (README: a clerk confirms each suspension). Only a district the
  agency configured for it (``expired_auto_suspend_districts``) is suspended at once. A
  proposal the clerk dismissed is not made again for the same period;
- otherwise (not yet tried, or reached): a township verification task, so that somebody
  contacts the person (Art. 9: "通过多种方式均无法联系" must be established first).
"""

from __future__ import annotations

from datetime import timedelta

from certification import access
from certification.access import Actor, Scope
from certification.model import Person
from certification.periods import CertificationPeriod
from certification.ports import PageRequest, PersonFilter
from certification.regions import CITY_CODE
from certification.services.context import UseCaseContext
from certification.services.persons import load_person
from certification.services.proposals import confirm_proposal
from certification.services.proposing import propose_for_each
from certification.services.suspensions import unreachability
from certification.services.verification import refer_for_verification
from certification.verification import ProposalKind, TaskStatus
from certification.vocabulary import SuspensionReason

SOURCE = "expired_period"
PAGE = 200


def act_on_expired_periods(
    ctx: UseCaseContext, actor: Actor, *, limit: int | None = None
) -> dict[str, int]:
    """Run the Art. 9 step for every overdue person with an active benefit (``limit``
    stops after that many, for a manual trial)."""
    access.require_operator(actor, "run the expired-period job")
    today = ctx.clock.today()
    counts = {
        "checked": 0,
        "suspension_proposed": 0,
        "suspended_automatically": 0,
        "already_proposed": 0,
        "dismissed_for_this_period": 0,
        "verification_dispatched": 0,
        "verification_already_open": 0,
        "verification_done_this_period": 0,
    }
    after = None
    while limit is None or counts["checked"] < limit:
        page = ctx.uow.persons.due_window(
            PersonFilter(
                scope=Scope(CITY_CODE), due_to=today - timedelta(days=1), with_active_benefit=True
            ),
            PageRequest(limit=PAGE, after=after),
        )
        for person in page.items:
            period = person.period(ctx.config.period)
            if period is None or not period.is_overdue(today):
                continue  # the stored due date is behind a certification just made
            counts["checked"] += 1
            counts[_act_on(ctx, actor, person, period)] += 1
        ctx.uow.commit()
        if page.next_after is None:
            break
        after = page.next_after
    return counts


def _act_on(ctx: UseCaseContext, actor: Actor, person: Person, period: CertificationPeriod) -> str:
    locked = load_person(ctx, person.id, for_update=True)
    active = {e.id for e in locked.active()}
    if any(ctx.uow.proposals.open_for(e, ProposalKind.SUSPEND.value) for e in active):
        return "already_proposed"  # in the clerk's hands
    contact = unreachability(ctx, person.id, since=period.starts_on)
    if not contact.finding.unreachable:
        tasks = ctx.uow.tasks.for_person(person.id)
        if any(t.status is TaskStatus.OPEN for t in tasks):
            return "verification_already_open"
        if any(t.received_on > period.due_on for t in tasks):
            return "verification_done_this_period"  # its result made its own proposal
        refer_for_verification(ctx, actor, locked, source=SOURCE, source_id=None)
        return "verification_dispatched"
    due_on = period.due_on.isoformat()
    dismissed = {
        p.entitlement_id
        for e in active
        for p in ctx.uow.proposals.dismissed_for(e, ProposalKind.SUSPEND.value)
        if p.source == SOURCE and p.evidence.get("due_on") == due_on
    }
    if active and active <= dismissed:
        return "dismissed_for_this_period"
    proposals = propose_for_each(
        ctx,
        actor,
        locked,
        ProposalKind.SUSPEND,
        source=SOURCE,
        source_id=None,
        reason=f"{SuspensionReason.PERIOD_EXPIRED_UNREACHABLE.value}: " + contact.finding.explain(),
        evidence={
            **contact.expired_period_evidence(period.due_on),
            "reason_code": SuspensionReason.PERIOD_EXPIRED_UNREACHABLE.value,
        },
        only=active - dismissed,
        due_on=due_on,
    )
    if not proposals:
        return "already_proposed"
    if locked.district_code not in ctx.config.auto_suspend_expired_districts:
        return "suspension_proposed"
    for proposal in proposals:
        confirm_proposal(
            ctx, actor, proposal, locked, note="applied automatically (district configured)"
        )
        proposal.auto_applied = True
    return "suspended_automatically"
