"""Rules of the procedure that queries filter by, in SQL: each mirrors one Python rule of
``certification`` and a test holds the two equal (tests/integration/test_overdue_rule.py)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from certification.verification import TaskStatus


def task_overdue_clause(tasks: sa.FromClause, today: date) -> sa.ColumnElement[bool]:
    """certification.verification.task_overdue: open on a day after the deadline."""
    return sa.and_(tasks.c.status == TaskStatus.OPEN, tasks.c.deadline_on < today)
