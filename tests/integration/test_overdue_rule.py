"""The overdue rule of a township task is one rule: the SQL that lists and counts overdue
tasks selects exactly the tasks the Python rule calls overdue."""

import itertools
from datetime import date, timedelta

import sqlalchemy as sa

from certification.verification import TaskStatus, task_overdue
from storage import schema
from storage.rules_sql import task_overdue_clause

TODAY = date(2026, 12, 1)


def test_the_sql_clause_and_the_python_rule_agree_on_every_case():
    engine = sa.create_engine("sqlite://")
    table = schema.verification_tasks
    cases = list(
        itertools.product(TaskStatus, [TODAY - timedelta(days=1), TODAY, TODAY + timedelta(days=1)])
    )
    probe = sa.Table(
        "probe",
        sa.MetaData(),
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("status", table.c.status.type),
        sa.Column("deadline_on", sa.Date),
    )
    probe.create(engine)
    with engine.begin() as conn:
        conn.execute(
            probe.insert(),
            [{"n": n, "status": s, "deadline_on": d} for n, (s, d) in enumerate(cases)],
        )
        in_sql = set(conn.scalars(sa.select(probe.c.n).where(task_overdue_clause(probe, TODAY))))
    in_python = {n for n, (s, d) in enumerate(cases) if task_overdue(s, d, TODAY)}
    assert in_sql == in_python
    assert in_python  # the grid holds overdue tasks and others
    assert len(in_python) < len(cases)
