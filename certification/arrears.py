"""Arrears (补发) owed when a suspended benefit is restored (Art. 21).

The month-boundary rule (docs/decisions/0003-arrears-month-rule.md):

    The regular payroll pays month M if and only if the entitlement is in
    force at the start of M's first day. A suspension takes effect at the
    start of its date; a restoration takes effect at the start of its date.

Hence the months the payroll skipped, and that restoration pays as arrears,
are exactly the months whose first day falls in [suspended_on, restored_on):

- suspended 15 Mar, restored 10 Jun  → Apr, May, Jun (Mar was paid; Jun's
  first day was still suspended, so the regular payroll skipped it);
- suspended 1 Mar, restored 1 Jun    → Mar, Apr, May (Jun is paid as usual);
- suspended and restored within one month after its first day → nothing.

Each month is paid at the monthly amount in force for that month (the amount
schedule), so annual adjustments across a year boundary are honoured. Amounts
are integers in fen; no floating point anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from certification.calendar import YearMonth, months_between
from certification.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class AmountChange:
    """From month ``effective_from`` on, the monthly amount is ``monthly_amount_fen``."""

    effective_from: YearMonth
    monthly_amount_fen: int


@dataclass(frozen=True, slots=True)
class MonthlyArrear:
    month: YearMonth
    amount_fen: int


@dataclass(frozen=True, slots=True)
class Arrears:
    months: tuple[MonthlyArrear, ...]

    @property
    def total_fen(self) -> int:
        return sum(m.amount_fen for m in self.months)

    @property
    def first_month(self) -> YearMonth | None:
        return self.months[0].month if self.months else None

    @property
    def last_month(self) -> YearMonth | None:
        return self.months[-1].month if self.months else None


def skipped_months(suspended_on: date, restored_on: date) -> list[YearMonth]:
    """Months whose first day lies in [suspended_on, restored_on)."""
    if restored_on < suspended_on:
        raise ValidationFailed(
            "A benefit cannot be restored before the date it was suspended.",
            field="restored_on",
        )
    first = YearMonth.of(suspended_on)
    if suspended_on.day != 1:
        first = first.plus(1)
    last = YearMonth.of(restored_on)
    if restored_on.day == 1:
        last = last.plus(-1)
    return months_between(first, last)


def amount_in(month: YearMonth, schedule: Sequence[AmountChange]) -> int:
    """The monthly amount in force in ``month``."""
    applicable = [c for c in schedule if c.effective_from <= month]
    if not applicable:
        raise ValidationFailed(
            f"No monthly amount is recorded for {month}; record the amount before restoring.",
            field="monthly_amount_fen",
        )
    return max(applicable, key=lambda c: c.effective_from).monthly_amount_fen


def compute_arrears(
    suspended_on: date, restored_on: date, schedule: Sequence[AmountChange]
) -> Arrears:
    return Arrears(
        tuple(
            MonthlyArrear(month, amount_in(month, schedule))
            for month in skipped_months(suspended_on, restored_on)
        )
    )
