"""Read-only figures for the dashboards, limited to a region, computed in the database."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.verification import TaskStatus
from storage import schema
from storage.scoping import within_scope

SUMMARY = "dashboard"
_Grouped = sa.Select[*tuple[Any, ...]]


def _summarised(stmt: sa.Select[Any], scope: Scope, table: sa.Table) -> sa.Select[Any]:
    """A summary row is a district's: the city reads all, a district its own."""
    if scope.is_city:
        return stmt
    return stmt.where(table.c.district_code == scope.code)


class SqlReportRepository:
    """Each figure is computed live, or with ``summary`` from the summary tables (city and
    district scopes; whole days) that :meth:`refresh_summaries` recomputes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def summaries_as_of(self) -> datetime | None:
        t = schema.summary_refreshes
        value = self.session.scalar(sa.select(t.c.refreshed_at).where(t.c.name == SUMMARY))
        return value if isinstance(value, datetime) else None

    def refresh_summaries(self, now: datetime) -> int:
        """Recompute the summary tables in this transaction (readers see the old ones until
        it commits). Each is grouped from the same rows its live figure counts. Returns the
        summary rows written."""
        c, p, a, t = schema.certifications, schema.persons, schema.attempts, _TASKS
        year = sa.cast(sa.extract("year", p.c.birth_date), sa.Integer)
        day = sa.cast(a.c.decided_at, sa.Date)
        summaries: list[tuple[sa.Table, Callable[..., _Grouped], tuple[Any, ...]]] = [
            (
                schema.summary_certifications,
                _certified,
                (p.c.district_code, c.c.certified_on, c.c.channel),
            ),
            (schema.summary_due, _due, (p.c.district_code, p.c.due_on)),
            (schema.summary_decisions, _decided, (p.c.district_code, year, day, a.c.decision)),
            (schema.summary_open_tasks, _open_tasks, (t.c.district_code, t.c.deadline_on)),
        ]
        started = time.perf_counter()
        written = 0
        for table, counted, keys in summaries:
            self.session.execute(sa.delete(table))
            grouped = counted(*keys, sa.func.count()).group_by(*keys)
            names = [col.name for col in table.columns]  # the keys in order, then n
            self.session.execute(sa.insert(table).from_select(names, grouped))
            written += int(self.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
        r = schema.summary_refreshes
        took = int((time.perf_counter() - started) * 1000)
        self.session.execute(sa.delete(r).where(r.c.name == SUMMARY))
        self.session.execute(sa.insert(r).values(name=SUMMARY, refreshed_at=now, took_ms=took))
        return written

    def certifications_by_channel(
        self, scope: Scope, since: date, *, summary: bool = False
    ) -> dict[str, int]:
        if summary:
            sc = schema.summary_certifications
            stmt = (
                sa.select(sc.c.channel, sa.func.sum(sc.c.n))
                .where(sc.c.certified_on >= since)
                .group_by(sc.c.channel)
            )
            rows = self.session.execute(_summarised(stmt, scope, sc))
            return {str(ch): int(n) for ch, n in rows}
        c, p = schema.certifications, schema.persons
        stmt = (
            _certified(c.c.channel, sa.func.count())
            .where(c.c.certified_on >= since)
            .group_by(c.c.channel)
        )
        rows = self.session.execute(within_scope(stmt, scope, p))
        return {getattr(ch, "value", str(ch)): int(n) for ch, n in rows}

    def selfservice_decisions(
        self, scope: Scope, since: date, *, summary: bool = False
    ) -> list[tuple[str, int, str, int]]:
        """(district, birth year, decision, attempts) of decided self-service attempts."""
        if summary:
            sx = schema.summary_decisions
            stmt = (
                sa.select(sx.c.district_code, sx.c.birth_year, sx.c.decision, sa.func.sum(sx.c.n))
                .where(sx.c.decided_on >= since)
                .group_by(sx.c.district_code, sx.c.birth_year, sx.c.decision)
            )
            return [
                (str(d), int(y), str(dec), int(n))
                for d, y, dec, n in self.session.execute(_summarised(stmt, scope, sx))
            ]
        a, p = schema.attempts, schema.persons
        year = sa.extract("year", p.c.birth_date)
        stmt = (
            _decided(p.c.district_code, year, a.c.decision, sa.func.count())
            .where(sa.cast(a.c.decided_at, sa.Date) >= since)
            .group_by(p.c.district_code, year, a.c.decision)
        )
        return [
            (str(d), int(y), str(dec), int(n))
            for d, y, dec, n in self.session.execute(within_scope(stmt, scope, p))
        ]

    def overdue_people_by_district(
        self, scope: Scope, today: date, *, summary: bool = False
    ) -> dict[str, int]:
        if summary:
            sd = schema.summary_due
            stmt = (
                sa.select(sd.c.district_code, sa.func.sum(sd.c.n))
                .where(sd.c.due_on < today)
                .group_by(sd.c.district_code)
            )
            return {str(d): int(n) for d, n in self.session.execute(_summarised(stmt, scope, sd))}
        p = schema.persons
        stmt = (
            _due(p.c.district_code, sa.func.count())
            .where(p.c.due_on < today)
            .group_by(p.c.district_code)
        )
        return {str(d): int(n) for d, n in self.session.execute(within_scope(stmt, scope, p))}

    def open_tasks_by_deadline(
        self, scope: Scope, today: date, *, summary: bool = False
    ) -> dict[str, int]:
        if summary:
            so = schema.summary_open_tasks
            bucket = _deadline_bucket(so.c.deadline_on, today)
            stmt = sa.select(bucket, sa.func.sum(so.c.n)).group_by(bucket)
            rows = self.session.execute(_summarised(stmt, scope, so))
            return {str(b): int(n) for b, n in rows}
        bucket = _deadline_bucket(_TASKS.c.deadline_on, today)
        stmt = within_scope(_open_tasks(bucket, sa.func.count()).group_by(bucket), scope, _TASKS)
        return {str(b): int(n) for b, n in self.session.execute(stmt)}


# What each figure counts, live or grouped into its summary table: one definition each.
_TASKS = schema.verification_tasks


def _certified(*columns: Any) -> _Grouped:
    """Certifications in force, with their person (for the district)."""
    c, p = schema.certifications, schema.persons
    return (
        sa.select(*columns)
        .select_from(c.join(p, p.c.id == c.c.person_id))
        .where(c.c.annulled_at.is_(None))
    )


def _due(*columns: Any) -> _Grouped:
    """People with a certification due date."""
    return sa.select(*columns).where(schema.persons.c.due_on.is_not(None))


def _decided(*columns: Any) -> _Grouped:
    """Decided self-service attempts, with their person (district, birth year)."""
    a, p = schema.attempts, schema.persons
    return (
        sa.select(*columns)
        .select_from(a.join(p, p.c.id == a.c.person_id))
        .where(a.c.decided_at.is_not(None), a.c.decision.is_not(None))
    )


def _open_tasks(*columns: Any) -> _Grouped:
    return sa.select(*columns).where(_TASKS.c.status == TaskStatus.OPEN)


def _deadline_bucket(deadline: sa.ColumnElement[date], today: date) -> sa.ColumnElement[Any]:
    """How soon an open task falls due, as the dashboard groups them."""
    return sa.case(
        (deadline < today, "overdue"),
        (deadline <= today + timedelta(days=7), "7d"),
        (deadline <= today + timedelta(days=30), "30d"),
        else_="later",
    )
