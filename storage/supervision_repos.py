"""Tip-offs (举报, Art. 22)."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.ports import Page, PageRequest
from certification.supervision import TipOff, TipOffStatus
from storage import schema
from storage.scoping import scoped_page, within_scope


class SqlTipOffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tip: TipOff) -> None:
        self.session.add(tip)

    def get(self, tip_id: UUID, *, for_update: bool = False) -> TipOff | None:
        return self.session.get(TipOff, tip_id, with_for_update=for_update or None)

    def by_reference(self, reference: str) -> TipOff | None:
        t = schema.tip_offs
        return self.session.scalars(sa.select(TipOff).where(t.c.reference == reference)).first()

    def find(self, *, scope: Scope, status: TipOffStatus | None, page: PageRequest) -> Page[TipOff]:
        t = schema.tip_offs
        return scoped_page(
            self.session,
            TipOff,
            t,
            scope=scope,
            filters=[t.c.status == status] if status else [],
            page=page,
            order="received_at",
        )

    def count_by_status(self, scope: Scope) -> dict[str, int]:
        t = schema.tip_offs
        stmt = within_scope(sa.select(t.c.status, sa.func.count()), scope, t).group_by(t.c.status)
        return {str(status): int(n) for status, n in self.session.execute(stmt)}
