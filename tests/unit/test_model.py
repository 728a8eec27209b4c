"""Behaviour on the records themselves, without a database."""

from datetime import date

import pytest

from certification.calendar import YearMonth
from certification.citizen_id import make_citizen_id
from certification.errors import RuleViolation, ValidationFailed
from certification.model import Certification, Entitlement, Person, Suspension, utcnow
from certification.periods import PeriodPolicy
from certification.regions import RegionPlacement
from certification.vocabulary import (
    BenefitKind,
    CertificationChannel,
    DependantRelationship,
    EntitlementStatus,
    RecipientRole,
    SuspensionReason,
)

POLICY = PeriodPolicy()


def make_person():
    person = Person.register(
        citizen_id=make_citizen_id("500103", date(1950, 3, 1), 11),
        name="张三",
        phone=None,
        placement=RegionPlacement.of("500103001002"),
    )
    pension = Entitlement(
        person.id, BenefitKind.PENSION, RecipientRole.INSURED, date(2010, 5, 1), 300_000
    )
    injury = Entitlement(
        person.id,
        BenefitKind.WORK_INJURY_LONG_TERM,
        RecipientRole.INSURED,
        date(2005, 1, 1),
        200_000,
    )
    for e in (pension, injury):
        e.open(None)
        person.entitlements.append(e)
    person.refresh_period(POLICY)
    return person, pension, injury


def test_registration_derives_birth_date_sex_and_placement():
    person, *_ = make_person()
    assert person.birth_date == date(1950, 3, 1)
    assert person.sex == "male"
    assert (person.district_code, person.township_code, person.village_code) == (
        "500103",
        "500103001",
        "500103001002",
    )


def test_one_certification_restarts_the_period_for_every_benefit():
    person, _pension, _injury = make_person()
    cert = Certification(person.id, utcnow(), date(2026, 5, 4), CertificationChannel.COUNTER, None)
    person.record_certification(cert, POLICY)
    assert person.due_on == date(2027, 5, 4)
    older = Certification(
        person.id, utcnow(), date(2026, 1, 4), CertificationChannel.PARTNER_BANK, None
    )
    person.record_certification(older, POLICY)  # recorded late: does not move the period back
    assert person.last_certified_on == date(2026, 5, 4)


def test_suspend_then_restore_keeps_a_dated_history_and_pays_arrears():
    person, pension, _ = make_person()
    pension.change_amount(YearMonth(2027, 1), 312_000, "annual adjustment", None)
    pension.suspend(date(2026, 11, 20), "period_expired_unreachable", None)
    suspension = Suspension(
        person.id,
        pension.id,
        SuspensionReason.PERIOD_EXPIRED_UNREACHABLE,
        date(2026, 11, 20),
        "unreachable",
        None,
    )
    arrears = suspension.restore(
        pension, restored_on=date(2027, 2, 5), reason="certified at counter", actor_id=None
    )
    assert pension.status is EntitlementStatus.ACTIVE
    assert [c.to_status for c in pension.status_changes] == [
        EntitlementStatus.ACTIVE,
        EntitlementStatus.SUSPENDED,
        EntitlementStatus.ACTIVE,
    ]
    assert arrears.total_fen == 300_000 + 312_000 + 312_000
    assert suspension.arrears_months == [
        {"month": "2026-12", "amount_fen": 300_000},
        {"month": "2027-01", "amount_fen": 312_000},
        {"month": "2027-02", "amount_fen": 312_000},
    ]
    with pytest.raises(RuleViolation):
        suspension.restore(pension, restored_on=date(2027, 2, 6), reason="again", actor_id=None)


def test_only_active_benefits_suspend_and_only_suspended_ones_resume():
    _, pension, _ = make_person()
    with pytest.raises(RuleViolation):
        pension.resume(date(2026, 1, 1), "x", None)
    pension.terminate(date(2026, 1, 1), "died", None)
    with pytest.raises(RuleViolation):
        pension.suspend(date(2026, 2, 1), "x", None)


def test_amount_corrections_replace_the_same_month():
    _, pension, _ = make_person()
    pension.change_amount(YearMonth(2027, 1), 312_000, "annual adjustment", None)
    pension.change_amount(YearMonth(2027, 1), 313_000, "correction", None)
    assert [(a.effective_from, a.monthly_amount_fen) for a in pension.amounts] == [
        (date(2010, 5, 1), 300_000),
        (date(2027, 1, 1), 313_000),
    ]
    assert pension.monthly_amount_fen == 313_000
    with pytest.raises(ValidationFailed):
        pension.change_amount(YearMonth(2009, 1), 1, "before start", None)


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "100", 10_000_001])
def test_amounts_are_positive_whole_fen(amount):
    _, pension, _ = make_person()
    with pytest.raises(ValidationFailed):
        pension.change_amount(YearMonth(2027, 1), amount, "x", None)


@pytest.mark.parametrize(
    ("kind", "role", "relationship", "field"),
    [
        (BenefitKind.PENSION, RecipientRole.DEPENDANT, DependantRelationship.CHILD, "role"),
        (BenefitKind.WORK_INJURY_LONG_TERM, RecipientRole.DEPENDANT, None, "relationship"),
        (
            BenefitKind.UNEMPLOYMENT,
            RecipientRole.INSURED,
            DependantRelationship.SPOUSE,
            "relationship",
        ),
    ],
)
def test_entitlement_terms_are_checked(kind, role, relationship, field):
    with pytest.raises(ValidationFailed) as err:
        Entitlement.validate_terms(
            kind=kind,
            role=role,
            relationship=relationship,
            start_date=date(2020, 1, 1),
            birth_date=date(1960, 1, 1),
            today=date(2026, 11, 27),
        )
    assert err.value.field == field


@pytest.mark.parametrize("start", [date(1959, 12, 31), date(2028, 1, 1)])
def test_start_dates_before_birth_or_far_ahead_are_refused(start):
    with pytest.raises(ValidationFailed):
        Entitlement.validate_terms(
            kind=BenefitKind.PENSION,
            role=RecipientRole.INSURED,
            relationship=None,
            start_date=start,
            birth_date=date(1960, 1, 1),
            today=date(2026, 11, 27),
        )
