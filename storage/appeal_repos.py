"""Appeals: by person, by the decision contested, and the clerks' scoped list."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.appeals import Appeal, AppealStatus, AppealSubject
from certification.ports import Page, PageRequest
from storage import schema
from storage.repositories import get_row
from storage.scoping import scoped_page, within_scope


class SqlAppealRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, appeal: Appeal) -> None:
        self.session.add(appeal)

    def get(self, appeal_id: UUID, *, for_update: bool = False) -> Appeal | None:
        return get_row(self.session, Appeal, appeal_id, for_update=for_update)

    def for_subject(self, subject: AppealSubject, subject_id: UUID) -> list[Appeal]:
        t = schema.appeals
        stmt = sa.select(Appeal).where(t.c.subject == subject, t.c.subject_id == subject_id)
        return list(self.session.scalars(stmt.order_by(t.c.filed_at)))

    def for_person(self, person_id: UUID, *, limit: int = 20) -> list[Appeal]:
        t = schema.appeals
        stmt = (
            sa.select(Appeal)
            .where(t.c.person_id == person_id)
            .order_by(t.c.filed_at.desc(), t.c.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def find(
        self,
        *,
        scope: Scope,
        status: AppealStatus | None,
        overdue_on: date | None,
        page: PageRequest,
    ) -> Page[Appeal]:
        """Oldest deadline first: the clerk answers the most urgent appeal first."""
        t = schema.appeals
        filters = [t.c.status == status] if status else []
        if overdue_on is not None:
            filters += [t.c.status == AppealStatus.OPEN, t.c.due_on < overdue_on]
        return scoped_page(
            self.session, Appeal, t, scope=scope, filters=filters, page=page, order="due_on"
        )

    def counts(self, scope: Scope, today: date) -> dict[str, int]:
        """Appeals by status, and the open ones past their deadline as ``overdue``."""
        t = schema.appeals
        stmt = within_scope(sa.select(t.c.status, sa.func.count()), scope, t).group_by(t.c.status)
        counts = {str(status): int(n) for status, n in self.session.execute(stmt)}
        late = within_scope(
            sa.select(sa.func.count()).where(t.c.status == AppealStatus.OPEN, t.c.due_on < today),
            scope,
            t,
        )
        counts["overdue"] = int(self.session.execute(late).scalar_one())
        return counts
