"""The certification service period (认证服务期, Art. 7-9).

Readings (docs/decisions/0002-period-rules.md):
- A benefit that starts in year Y enters the scope on 1 January of Y+1
  (Art. 8, 次年); the first period runs from that day for one period length,
  so its due date is 1 January Y+1 + period - 1 day (31 December Y+1 for the
  default 12 months).
- A work-injury dependant (供养亲属) under 16 has no period (Art. 7); the
  entitlement enters the scope on the later of its 16th birthday and the
  1 January rule.
- A person holding several entitlements has one period: it starts at the
  earliest entry among the entitlements that are not terminated (Art. 16: one
  certification covers all of them).
- Each certification restarts the period from its date: new due date =
  certification date + period. Several certifications in one period are
  allowed; a certification never brings a due date earlier (one made before
  the person entered the scope does not shorten the first period).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from certification.calendar import add_months, anniversary, last_day_of_period
from certification.vocabulary import BenefitKind, EntitlementStatus, RecipientRole


@dataclass(frozen=True, slots=True)
class PeriodPolicy:
    period_months: int = 12
    dependant_exempt_below_age: int = 16

    def __post_init__(self) -> None:
        if self.period_months < 1:
            raise ValueError("period_months must be at least 1")
        if self.dependant_exempt_below_age < 0:
            raise ValueError("dependant_exempt_below_age must not be negative")


@dataclass(frozen=True, slots=True)
class EntitlementFacts:
    kind: BenefitKind
    role: RecipientRole
    start_date: date
    status: EntitlementStatus

    @property
    def in_force(self) -> bool:
        """Paid or suspended: only a terminated benefit is out of the procedure."""
        return self.status is not EntitlementStatus.TERMINATED


class PeriodBasis(StrEnum):
    FIRST_PERIOD = "first_period"  # entered the scope the year after the benefit started
    CAME_OF_AGE = "came_of_age"  # a dependant turned 16
    CERTIFIED = "certified"  # restarted by a certification


@dataclass(frozen=True, slots=True)
class CertificationPeriod:
    """The current period of one person: certify on or before ``due_on``."""

    starts_on: date
    due_on: date
    basis: PeriodBasis

    def days_left(self, today: date) -> int:
        """Days until the due date; negative once it has passed."""
        return (self.due_on - today).days

    def is_overdue(self, today: date) -> bool:
        return today > self.due_on

    def is_due_within(self, today: date, days: int) -> bool:
        return today <= self.due_on <= today + timedelta(days=days)

    def has_started(self, today: date) -> bool:
        return today >= self.starts_on


def is_exempt_dependant(facts: EntitlementFacts) -> bool:
    return facts.kind is BenefitKind.WORK_INJURY_LONG_TERM and facts.role is RecipientRole.DEPENDANT


def _year_after(start: date) -> date:
    """Art. 8 (次年): a benefit that starts in year Y enters the scope on 1 January Y+1."""
    return date(start.year + 1, 1, 1)


def scope_entry(
    facts: EntitlementFacts, birth_date: date, policy: PeriodPolicy
) -> tuple[date, PeriodBasis]:
    """The day an entitlement brings its holder into the certification scope."""
    entry = _year_after(facts.start_date)
    if is_exempt_dependant(facts):
        comes_of_age = anniversary(birth_date, policy.dependant_exempt_below_age)
        if comes_of_age > entry:
            return comes_of_age, PeriodBasis.CAME_OF_AGE
    return entry, PeriodBasis.FIRST_PERIOD


@dataclass(frozen=True, slots=True)
class ScopeCutoffs:
    """Who has entered the scope by a given day, as two dates a query can compare against:
    a benefit in force is in scope when it started on or before ``latest_start`` and, for a
    dependant exempt while young, its holder was born on or before ``latest_dependant_birth``.
    """

    latest_start: date
    latest_dependant_birth: date

    def admits(self, facts: EntitlementFacts, birth_date: date) -> bool:
        return facts.start_date <= self.latest_start and (
            not is_exempt_dependant(facts) or birth_date <= self.latest_dependant_birth
        )


def scope_cutoffs(scope_on: date, policy: PeriodPolicy) -> ScopeCutoffs:
    """The cutoffs of :func:`scope_entry` on ``scope_on``: ``scope_entry(...)[0] <= scope_on``
    exactly when ``scope_cutoffs(scope_on, policy).admits(...)`` (a test walks the edges). Both
    entry days grow with their date, so each cutoff is the last date whose entry day is on or
    before ``scope_on``, found from a first guess by the rule's own functions."""

    def last(guess: date, entry: Callable[[date], date]) -> date:
        day = guess
        while entry(day) > scope_on:
            day -= timedelta(days=1)
        while entry(day + timedelta(days=1)) <= scope_on:
            day += timedelta(days=1)
        return day

    years = policy.dependant_exempt_below_age
    return ScopeCutoffs(
        latest_start=last(date(scope_on.year - 1, 12, 31), _year_after),
        latest_dependant_birth=last(
            date(scope_on.year - years, scope_on.month, 1),
            lambda born: anniversary(born, years),
        ),
    )


def current_period(
    *,
    birth_date: date,
    entitlements: Iterable[EntitlementFacts],
    last_certified_on: date | None,
    policy: PeriodPolicy,
) -> CertificationPeriod | None:
    """The person's current period, or None when no entitlement is in force."""
    entries = [scope_entry(e, birth_date, policy) for e in entitlements if e.in_force]
    if not entries:
        return None
    entry, basis = min(entries, key=lambda pair: pair[0])
    first = CertificationPeriod(
        starts_on=entry,
        due_on=last_day_of_period(entry, policy.period_months),
        basis=basis,
    )
    if last_certified_on is None:
        return first
    restarted_due = add_months(last_certified_on, policy.period_months)
    if restarted_due <= first.due_on:
        return first
    return CertificationPeriod(
        starts_on=last_certified_on, due_on=restarted_due, basis=PeriodBasis.CERTIFIED
    )
