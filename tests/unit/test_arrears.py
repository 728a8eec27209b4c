"""Art. 21: restoration pays arrears (补发) by the month-boundary rule."""

from datetime import date

import pytest

from certification.arrears import AmountChange, compute_arrears, skipped_months
from certification.calendar import YearMonth as M
from certification.errors import ValidationFailed

FLAT = [AmountChange(M(2010, 1), 300_000)]


@pytest.mark.parametrize(
    ("suspended", "restored", "months"),
    [
        (date(2026, 3, 15), date(2026, 6, 10), [M(2026, 4), M(2026, 5), M(2026, 6)]),
        (date(2026, 3, 1), date(2026, 6, 1), [M(2026, 3), M(2026, 4), M(2026, 5)]),
        (date(2026, 3, 1), date(2026, 6, 2), [M(2026, 3), M(2026, 4), M(2026, 5), M(2026, 6)]),
        (date(2026, 3, 2), date(2026, 3, 31), []),  # within one month after its first day
        (date(2026, 3, 1), date(2026, 3, 1), []),  # same day
        (date(2026, 3, 31), date(2026, 4, 1), []),  # 1 April was already restored
        (date(2026, 3, 31), date(2026, 4, 2), [M(2026, 4)]),
        (
            date(2026, 11, 20),
            date(2027, 2, 5),
            [M(2026, 12), M(2027, 1), M(2027, 2)],
        ),  # year boundary
        (date(2028, 2, 29), date(2028, 3, 1), []),
        (date(2028, 2, 29), date(2028, 3, 2), [M(2028, 3)]),
    ],
)
def test_months_whose_first_day_falls_inside_the_suspension(suspended, restored, months):
    assert skipped_months(suspended, restored) == months


def test_arrears_use_the_amount_in_force_each_month_across_a_year_boundary():
    schedule = [AmountChange(M(2015, 7), 300_000), AmountChange(M(2027, 1), 312_500)]
    arrears = compute_arrears(date(2026, 11, 20), date(2027, 2, 5), schedule)
    assert [(str(m.month), m.amount_fen) for m in arrears.months] == [
        ("2026-12", 300_000),
        ("2027-01", 312_500),
        ("2027-02", 312_500),
    ]
    assert arrears.total_fen == 925_000
    assert isinstance(arrears.total_fen, int)
    assert (arrears.first_month, arrears.last_month) == (M(2026, 12), M(2027, 2))


def test_no_arrears_when_restored_before_any_month_was_skipped():
    arrears = compute_arrears(date(2026, 5, 10), date(2026, 5, 20), FLAT)
    assert arrears.total_fen == 0 and arrears.first_month is None


def test_restoring_before_suspending_is_refused():
    with pytest.raises(ValidationFailed):
        compute_arrears(date(2026, 5, 10), date(2026, 5, 9), FLAT)


def test_a_month_without_a_recorded_amount_is_refused_not_guessed():
    with pytest.raises(ValidationFailed):
        compute_arrears(date(2009, 5, 10), date(2010, 3, 1), FLAT)
