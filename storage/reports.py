"""Read-only figures for the dashboards, limited to a region, computed in the database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.verification import TaskStatus
from storage import schema
from storage.scoping import within_scope


class SqlReportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def certifications_by_channel(self, scope: Scope, since: datetime) -> dict[str, int]:
        c, p = schema.certifications, schema.persons
        stmt = (
            sa.select(c.c.channel, sa.func.count())
            .select_from(c.join(p, p.c.id == c.c.person_id))
            .where(c.c.certified_at >= since, c.c.annulled_at.is_(None))
            .group_by(c.c.channel)
        )
        rows = self.session.execute(within_scope(stmt, scope, p))
        return {getattr(ch, "value", str(ch)): int(n) for ch, n in rows}

    def selfservice_decisions(
        self, scope: Scope, since: datetime
    ) -> list[tuple[str, int, str, int]]:
        """(district, birth year, decision, attempts) of decided self-service attempts."""
        a, p = schema.attempts, schema.persons
        year = sa.extract("year", p.c.birth_date)
        stmt = (
            sa.select(p.c.district_code, year, a.c.decision, sa.func.count())
            .select_from(a.join(p, p.c.id == a.c.person_id))
            .where(a.c.decided_at >= since, a.c.decision.is_not(None))
            .group_by(p.c.district_code, year, a.c.decision)
        )
        return [
            (str(d), int(y), str(dec), int(n))
            for d, y, dec, n in self.session.execute(within_scope(stmt, scope, p))
        ]

    def overdue_people_by_district(self, scope: Scope, today: date) -> dict[str, int]:
        p = schema.persons
        stmt = (
            sa.select(p.c.district_code, sa.func.count())
            .where(p.c.due_on < today)
            .group_by(p.c.district_code)
        )
        return {str(d): int(n) for d, n in self.session.execute(within_scope(stmt, scope, p))}

    def open_tasks_by_deadline(self, scope: Scope, today: date) -> dict[str, int]:
        t = schema.verification_tasks
        bucket = sa.case(
            (t.c.deadline_on < today, "overdue"),
            (t.c.deadline_on <= today + timedelta(days=7), "7d"),
            (t.c.deadline_on <= today + timedelta(days=30), "30d"),
            else_="later",
        )
        stmt = (
            sa.select(bucket, sa.func.count()).where(t.c.status == TaskStatus.OPEN).group_by(bucket)
        )
        stmt = within_scope(stmt, scope, t)
        return {str(b): int(n) for b, n in self.session.execute(stmt)}
