"""Art. 7-9: the certification service period."""

from datetime import date, timedelta

import pytest

from certification.periods import (
    CertificationPeriod,
    EntitlementFacts,
    PeriodBasis,
    PeriodPolicy,
    current_period,
    scope_cutoffs,
    scope_entry,
)
from certification.vocabulary import BenefitKind as K
from certification.vocabulary import EntitlementStatus as S
from certification.vocabulary import RecipientRole as R

POLICY = PeriodPolicy()
ADULT = date(1955, 6, 1)


def pension(start, status=S.ACTIVE):
    return EntitlementFacts(K.PENSION, R.INSURED, start, status)


def dependant(start, status=S.ACTIVE):
    return EntitlementFacts(K.WORK_INJURY_LONG_TERM, R.DEPENDANT, start, status)


def period(birth, ents, last=None, policy=POLICY):
    return current_period(
        birth_date=birth, entitlements=ents, last_certified_on=last, policy=policy
    )


@pytest.mark.parametrize(
    ("start", "starts_on", "due_on"),
    [
        # Art. 8: scope starts the calendar year after the benefit started.
        (date(2025, 3, 15), date(2026, 1, 1), date(2026, 12, 31)),
        (date(2025, 12, 31), date(2026, 1, 1), date(2026, 12, 31)),  # 31 Dec start
        (date(2026, 1, 1), date(2027, 1, 1), date(2027, 12, 31)),  # 1 Jan start
        (date(2027, 2, 28), date(2028, 1, 1), date(2028, 12, 31)),  # first year is a leap year
    ],
)
def test_first_period_from_benefit_start_year(start, starts_on, due_on):
    p = period(ADULT, [pension(start)])
    assert p == CertificationPeriod(starts_on, due_on, PeriodBasis.FIRST_PERIOD)


@pytest.mark.parametrize(
    ("last", "due_on"),
    [
        (date(2027, 3, 10), date(2028, 3, 10)),  # restart from the certification date
        (date(2028, 2, 29), date(2029, 2, 28)),  # leap-day certification
        (date(2027, 12, 31), date(2028, 12, 31)),
    ],
)
def test_certification_restarts_the_period(last, due_on):
    p = period(ADULT, [pension(date(2020, 5, 1))], last)
    assert p is not None
    assert (p.starts_on, p.due_on, p.basis) == (last, due_on, PeriodBasis.CERTIFIED)


def test_several_certifications_in_one_period_each_push_the_due_date():
    ents = [pension(date(2020, 5, 1))]
    due_dates = [
        period(ADULT, ents, last).due_on
        for last in (date(2027, 2, 1), date(2027, 6, 1), date(2027, 9, 30))
    ]
    assert due_dates == [date(2028, 2, 1), date(2028, 6, 1), date(2028, 9, 30)]


def test_certification_before_scope_does_not_shorten_the_first_period():
    # Benefit started March 2026; the person certified at a counter in May 2026.
    p = period(ADULT, [pension(date(2026, 3, 1))], date(2026, 5, 20))
    assert p is not None
    assert (p.due_on, p.basis) == (date(2027, 12, 31), PeriodBasis.FIRST_PERIOD)


@pytest.mark.parametrize(
    ("birth", "start", "starts_on", "due_on", "basis"),
    [
        # Art. 7: a dependant under 16 has no period until the 16th birthday...
        (
            date(2012, 6, 10),
            date(2020, 1, 5),
            date(2028, 6, 10),
            date(2029, 6, 9),
            PeriodBasis.CAME_OF_AGE,
        ),
        # ...turning 16 mid-period of the calendar rule: the later date wins
        (
            date(2011, 4, 2),
            date(2026, 8, 1),
            date(2027, 4, 2),
            date(2028, 4, 1),
            PeriodBasis.CAME_OF_AGE,
        ),
        # 16th birthday before the 1 January entry: the calendar rule wins
        (
            date(2010, 3, 1),
            date(2026, 8, 1),
            date(2027, 1, 1),
            date(2027, 12, 31),
            PeriodBasis.FIRST_PERIOD,
        ),
        # born on 29 February: turns 16 on 1 March of a common year
        (
            date(2012, 2, 29),
            date(2015, 1, 1),
            date(2028, 2, 29),
            date(2029, 2, 28),
            PeriodBasis.CAME_OF_AGE,
        ),
        (
            date(2008, 2, 29),
            date(2015, 1, 1),
            date(2024, 2, 29),
            date(2025, 2, 28),
            PeriodBasis.CAME_OF_AGE,
        ),
        (
            date(2009, 2, 28),
            date(2015, 1, 1),
            date(2025, 2, 28),
            date(2026, 2, 27),
            PeriodBasis.CAME_OF_AGE,
        ),
    ],
)
def test_dependants_under_16_are_exempt_until_their_16th_birthday(
    birth, start, starts_on, due_on, basis
):
    assert period(birth, [dependant(start)]) == CertificationPeriod(starts_on, due_on, basis)


def test_exemption_is_only_for_work_injury_dependants():
    young_worker = EntitlementFacts(K.WORK_INJURY_LONG_TERM, R.INSURED, date(2026, 3, 1), S.ACTIVE)
    p = period(date(2010, 1, 1), [young_worker])
    assert p is not None and p.basis is PeriodBasis.FIRST_PERIOD


def test_certification_before_16_does_not_shorten_the_exemption():
    p = period(date(2012, 6, 10), [dependant(date(2020, 1, 5))], date(2026, 1, 10))
    assert p is not None and p.due_on == date(2029, 6, 9)


def test_one_period_for_several_benefits_starts_at_the_earliest_entry():
    ents = [
        pension(date(2024, 10, 1)),
        EntitlementFacts(K.WORK_INJURY_LONG_TERM, R.INSURED, date(2019, 2, 1), S.ACTIVE),
    ]
    p = period(ADULT, ents)
    assert p is not None and (p.starts_on, p.due_on) == (date(2020, 1, 1), date(2020, 12, 31))


def test_terminated_benefits_do_not_count_and_suspended_ones_do():
    assert period(ADULT, [pension(date(2019, 1, 1), S.TERMINATED)]) is None
    p = period(ADULT, [pension(date(2019, 1, 1), S.SUSPENDED)])
    assert p is not None and p.due_on == date(2020, 12, 31)
    mixed = [pension(date(2010, 1, 1), S.TERMINATED), pension(date(2019, 1, 1))]
    p = period(ADULT, mixed)
    assert p is not None and p.starts_on == date(2020, 1, 1)


@pytest.mark.parametrize(
    ("months", "due_first", "due_after_cert"),
    [
        (12, date(2026, 12, 31), date(2028, 3, 10)),
        (6, date(2026, 6, 30), date(2027, 9, 10)),
        (24, date(2027, 12, 31), date(2029, 3, 10)),
    ],
)
def test_period_length_is_configurable(months, due_first, due_after_cert):
    policy = PeriodPolicy(period_months=months)
    assert period(ADULT, [pension(date(2025, 7, 1))], policy=policy).due_on == due_first
    after = period(ADULT, [pension(date(2020, 7, 1))], date(2027, 3, 10), policy=policy)
    assert after.due_on == due_after_cert


def test_due_and_overdue_queries_on_a_period():
    p = CertificationPeriod(date(2026, 1, 1), date(2026, 12, 31), PeriodBasis.FIRST_PERIOD)
    assert p.days_left(date(2026, 12, 1)) == 30
    assert p.is_due_within(date(2026, 12, 1), 30)
    assert not p.is_due_within(date(2026, 12, 1), 29)
    assert not p.is_overdue(date(2026, 12, 31))
    assert p.is_overdue(date(2027, 1, 1))
    assert p.days_left(date(2027, 1, 3)) == -3


def test_policy_refuses_nonsense():
    with pytest.raises(ValueError):
        PeriodPolicy(period_months=0)


@pytest.mark.parametrize("policy", [PeriodPolicy(), PeriodPolicy(dependant_exempt_below_age=18)])
def test_scope_cutoffs_admit_exactly_whom_scope_entry_brings_in_by_that_day(policy):
    """The export to the comparison engine filters by the cutoffs in SQL; they must say what
    ``scope_entry`` says on every edge: year ends, birthdays, 29 February on both sides."""
    days = [
        date(2026, 12, 31),
        date(2027, 1, 1),
        date(2027, 2, 28),
        date(2027, 3, 1),
        date(2028, 2, 28),
        date(2028, 2, 29),
        date(2028, 3, 1),
    ]
    near = [-2, -1, 0, 1, 2]
    checked = admitted = 0
    for scope_on in days:
        cutoffs = scope_cutoffs(scope_on, policy)
        starts = [date(y, m, d) for y in (2025, 2026, 2027) for m, d in ((1, 1), (12, 31))]
        years = policy.dependant_exempt_below_age
        edges = [date(scope_on.year - years, scope_on.month, 1), date(2008, 2, 29)]
        edges += [date(scope_on.year - years, 2, 28), date(scope_on.year - years, 3, 1)]
        if scope_on.month != 2 or scope_on.day != 29:
            edges.append(scope_on.replace(year=scope_on.year - years))
        births = sorted({b + timedelta(days=n) for b in edges for n in near})
        for kind, role in [(K.WORK_INJURY_LONG_TERM, R.DEPENDANT), (K.PENSION, R.INSURED)]:
            for start in starts:
                for born in births:
                    facts = EntitlementFacts(kind, role, start, S.ACTIVE)
                    expected = scope_entry(facts, born, policy)[0] <= scope_on
                    assert cutoffs.admits(facts, born) is expected, (scope_on, facts, born)
                    checked += 1
                    admitted += expected
    assert 0 < admitted < checked  # both sides of every edge were walked
