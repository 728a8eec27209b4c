"""The figures staff watch (Art. 6: self-service should carry most certifications)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from certification import access
from certification.access import Actor
from certification.regions import RegionLevel
from certification.services.context import UseCaseContext
from certification.vocabulary import SELF_SERVICE_CHANNELS, StaffRole

SELF_SERVICE = frozenset(c.value for c in SELF_SERVICE_CHANNELS)  # the report's keys
AGE_BANDS = ((0, 60, "<60"), (60, 70, "60-69"), (70, 80, "70-79"), (80, 90, "80-89"))
OLDEST_BAND = "90+"
DECISIONS = ("pass", "retry", "fail")


def age_band(age: int) -> str:
    for low, high, label in AGE_BANDS:
        if low <= age < high:
            return label
    return OLDEST_BAND


@dataclass(frozen=True, slots=True)
class Rates:
    total: int
    counts: dict[str, int]

    def share(self, decision: str) -> float:
        return self.counts.get(decision, 0) / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Dashboard:
    days: int
    by_channel: dict[str, int]
    self_service_share: float
    by_age_band: dict[str, Rates]
    by_district: dict[str, Rates]
    overdue_people: dict[str, int]
    tasks_by_deadline: dict[str, int]
    tip_offs: dict[str, int] | None  # None: the viewer does not handle tip-offs
    appeals: dict[str, int]  # by status, and "overdue": open past their deadline
    # when the certification, overdue, open-task and self-service figures were computed (the
    # summary tables, for the city and districts); None: now
    as_of: datetime | None = None


def _rates(groups: dict[str, dict[str, int]]) -> dict[str, Rates]:
    return {k: Rates(sum(v.values()), dict(v)) for k, v in sorted(groups.items())}


def dashboard(ctx: UseCaseContext, actor: Actor, *, days: int = 365) -> Dashboard:
    scope = access.staff_scope(actor)
    today = ctx.clock.today()
    since = today - timedelta(days=days)  # whole days, as the summaries count them
    reports = ctx.uow.reports
    as_of = reports.summaries_as_of() if uses_summaries(scope) else None
    summary = as_of is not None
    by_channel = reports.certifications_by_channel(scope, since, summary=summary)
    total = sum(by_channel.values())
    self_service = sum(n for ch, n in by_channel.items() if ch in SELF_SERVICE)
    ages: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    districts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for district, birth_year, decision, n in reports.selfservice_decisions(
        scope, since, summary=summary
    ):
        ages[age_band(today.year - birth_year)][decision] += n
        districts[district][decision] += n
    tip_offs = (
        ctx.uow.tip_offs.count_by_status(access.staff_scope(actor, access.Listing.TIP_OFFS))
        if actor.has_role(StaffRole.INVESTIGATOR)
        else None
    )
    return Dashboard(
        days=days,
        by_channel=dict(sorted(by_channel.items(), key=lambda kv: -kv[1])),
        self_service_share=self_service / total if total else 0.0,
        by_age_band=_rates(ages),
        by_district=_rates(districts),
        overdue_people=dict(
            sorted(reports.overdue_people_by_district(scope, today, summary=summary).items())
        ),
        tasks_by_deadline=reports.open_tasks_by_deadline(scope, today, summary=summary),
        tip_offs=tip_offs,
        appeals=ctx.uow.appeals.counts(scope, today),
        as_of=as_of,
    )


def uses_summaries(scope: access.Scope) -> bool:
    """The city's and a district's dashboards read the summary tables once they exist (a
    township's figures are few enough to count live)."""
    return scope.is_city or scope.level is RegionLevel.DISTRICT


def refresh_summaries(ctx: UseCaseContext) -> int:
    """Recompute the dashboard summaries (the scheduled job every 10 minutes, or by hand)."""
    written = ctx.uow.reports.refresh_summaries(ctx.clock.now())
    ctx.uow.commit()
    return written
