"""Calendar arithmetic with the leap-day rules written down.

- Adding months to a date keeps the day of month, clamped to the last day of
  the target month: 29 Feb 2028 + 12 months = 28 Feb 2029; 31 Jan + 1 month =
  28/29 Feb. A period never grows because of a short month.
- A period that starts on a day its last month lacks (29 Feb, the 31st) runs
  to the end of that month: 29 Feb 2024 + 12 months ends on 28 Feb 2025.
- A birthday anniversary of 29 February falls on 1 March in common years: the
  person has not yet reached the age on 28 February.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def last_day_of_period(start: date, months: int) -> date:
    """The last day of a period of ``months`` months that starts on ``start`` (inclusive).

    It is the day before the period's anniversary; when that day does not exist
    in the target month (a start on 29 Feb, or on the 31st), the period runs to
    the end of that month: 29 Feb 2024 + 12 months ends on 28 Feb 2025.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    if start.day > last:
        return date(year, month0 + 1, last)
    return date(year, month0 + 1, start.day) - ONE_DAY


def anniversary(born: date, years: int) -> date:
    """The date on which someone born on ``born`` turns ``years`` old."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February in a common year
        return date(born.year + years, 3, 1)


def age_on(born: date, day: date) -> int:
    years = day.year - born.year
    return years if day >= anniversary(born, years) else years - 1


@dataclass(frozen=True, order=True, slots=True)
class YearMonth:
    """A calendar month, the unit of benefit payment."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1-12, got {self.month}")

    @classmethod
    def of(cls, day: date) -> YearMonth:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> YearMonth:
        """From 'YYYY-MM'."""
        try:
            year_s, month_s = text.split("-")
            return cls(int(year_s), int(month_s))
        except ValueError:
            raise ValueError(f"{text!r} is not a month written as YYYY-MM") from None

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def plus(self, months: int) -> YearMonth:
        return YearMonth.of(add_months(self.first_day, months))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def months_between(first: YearMonth, last: YearMonth) -> list[YearMonth]:
    """Every month from ``first`` to ``last`` inclusive (empty if last < first)."""
    out: list[YearMonth] = []
    current = first
    while current <= last:
        out.append(current)
        current = current.plus(1)
    return out


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Working days (工作日): Monday to Friday, less the public holidays, plus the weekend days
    the State Council moves work to (调休). The agency sets both lists each year."""

    holidays: frozenset[date] = frozenset()
    moved_workdays: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        if day in self.moved_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (the day itself does not count: an
        appeal filed on a Friday with 1 working day is due on Monday)."""
        if days < 0:
            raise ValueError("count working days forward")
        day = start
        counted = 0
        while counted < days:
            day += ONE_DAY
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days after ``first`` up to and including ``last`` (0 when last <= first)."""
        count = 0
        day = first
        while day < last:
            day += ONE_DAY
            count += self.is_working_day(day)
        return count
