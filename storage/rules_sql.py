"""Rules of the procedure that queries filter by, in SQL: each mirrors one Python rule of
``certification`` and a test holds the two equal (tests/integration/test_overdue_rule.py)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from certification.periods import ScopeCutoffs
from certification.verification import TaskStatus
from certification.vocabulary import BenefitKind, RecipientRole


def task_overdue_clause(tasks: sa.FromClause, today: date) -> sa.ColumnElement[bool]:
    """certification.verification.task_overdue: open on a day after the deadline."""
    return sa.and_(tasks.c.status == TaskStatus.OPEN, tasks.c.deadline_on < today)


def exempt_dependant_clause(entitlements: sa.FromClause) -> sa.ColumnElement[bool]:
    """certification.periods.is_exempt_dependant."""
    e = entitlements
    return sa.and_(
        e.c.kind == BenefitKind.WORK_INJURY_LONG_TERM, e.c.role == RecipientRole.DEPENDANT
    )


def in_scope_clause(
    entitlements: sa.FromClause, birth_date: sa.ColumnElement[date], cutoffs: ScopeCutoffs
) -> sa.ColumnElement[bool]:
    """certification.periods.ScopeCutoffs.admits: the benefit has entered the certification
    scope by the day the cutoffs were drawn for."""
    return sa.and_(
        entitlements.c.start_date <= cutoffs.latest_start,
        sa.or_(
            sa.not_(exempt_dependant_clause(entitlements)),
            birth_date <= cutoffs.latest_dependant_birth,
        ),
    )
