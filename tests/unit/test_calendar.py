from datetime import date

import pytest

from certification.calendar import YearMonth, add_months, age_on, anniversary, months_between


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 3, 15), 12, date(2028, 3, 15)),
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # leap day clamps, never grows
        (date(2028, 2, 29), 48, date(2032, 2, 29)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 12, 31), 1, date(2028, 1, 31)),
        (date(2027, 1, 1), -1, date(2026, 12, 1)),
    ],
)
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


def test_leap_day_birthday_falls_on_first_of_march():
    assert anniversary(date(2012, 2, 29), 16) == date(2028, 2, 29)
    assert anniversary(date(2011, 2, 28), 16) == date(2027, 2, 28)
    assert anniversary(date(2008, 2, 29), 17) == date(2025, 3, 1)
    assert age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17


def test_year_month_arithmetic_and_ranges():
    assert YearMonth(2026, 12).plus(1) == YearMonth(2027, 1)
    assert str(YearMonth.parse("2027-03")) == "2027-03"
    assert months_between(YearMonth(2026, 11), YearMonth(2027, 2)) == [
        YearMonth(2026, 11),
        YearMonth(2026, 12),
        YearMonth(2027, 1),
        YearMonth(2027, 2),
    ]
    assert months_between(YearMonth(2027, 2), YearMonth(2027, 1)) == []
    with pytest.raises(ValueError):
        YearMonth.parse("2027-13")


@pytest.mark.parametrize(
    ("start", "months", "last"),
    [
        (date(2027, 1, 1), 12, date(2027, 12, 31)),
        (date(2027, 3, 15), 12, date(2028, 3, 14)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # a full year, not a day short
        (date(2024, 2, 29), 48, date(2028, 2, 28)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2027, 3, 1), 12, date(2028, 2, 29)),
    ],
)
def test_last_day_of_period(start, months, last):
    from certification.calendar import last_day_of_period

    assert last_day_of_period(start, months) == last


def test_working_days_skip_weekends_and_holidays_and_count_moved_workdays():
    from certification.calendar import WorkingCalendar

    plain = WorkingCalendar()
    friday = date(2026, 12, 4)
    assert plain.add_working_days(friday, 1) == date(2026, 12, 7)  # Monday
    assert plain.add_working_days(friday, 15) == date(2026, 12, 25)
    assert plain.add_working_days(date(2026, 12, 5), 1) == date(2026, 12, 7)  # from a Saturday
    assert plain.working_days_between(friday, date(2026, 12, 25)) == 15
    # a holiday week as the State Council sets them: five weekdays off, the Saturday before worked
    festival = WorkingCalendar(
        holidays=frozenset(date(2027, 2, d) for d in range(8, 13)),
        moved_workdays=frozenset({date(2027, 2, 6)}),
    )
    assert festival.is_working_day(date(2027, 2, 6))  # a Saturday worked
    assert not festival.is_working_day(date(2027, 2, 8))  # a Monday off
    assert festival.add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 6)
    assert festival.add_working_days(date(2027, 2, 6), 1) == date(2027, 2, 15)
    with pytest.raises(ValueError):
        plain.add_working_days(friday, -1)
