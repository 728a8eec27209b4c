"""The notice outbox, its deliveries, preferences, letter batches and receipts. None commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.notices import (
    Channel,
    Contact,
    Delivery,
    DeliveryStatus,
    Notice,
    NoticeKind,
    NoticePreferences,
    Reach,
)
from certification.ports import Page, PageRequest
from certification.receipts import Receipt
from certification.selfservice import BindingStatus
from certification.vocabulary import AccountKind
from storage import schema
from storage.db import as_dicts, dialect_insert
from storage.repositories import get_row
from storage.scoping import scoped_page, within_scope
from storage.sets import among

WECHAT = "wechat"


class SqlNoticeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # notices told in this unit of work, by key: written together when it commits (one
        # statement for a comparison run's thousands, not one round trip each)
        self._pending: dict[str, dict[str, Any]] = {}

    def add(self, notice: Notice) -> None:
        self._pending.setdefault(
            notice.key,
            {
                "id": notice.id,
                "person_id": notice.person_id,
                "kind": notice.kind.value,
                "data": notice.data,
                "key": notice.key,
                "urgent": notice.urgent,
                "routed_at": None,
                "created_at": notice.created_at,
            },
        )

    def write_pending(self) -> None:
        """Insert the notices told in this unit of work; a key already stored is left out."""
        if not self._pending:
            return
        t = schema.notices
        stmt = dialect_insert(self.session, t).on_conflict_do_nothing(index_elements=["key"])
        self.session.execute(stmt, list(self._pending.values()))
        self._pending.clear()

    def mark(self) -> int:
        return len(self._pending)

    def discard_after(self, mark: int) -> None:
        kept = list(self._pending.items())[:mark]
        self._pending = dict(kept)

    def discard_pending(self) -> None:
        self._pending.clear()

    def get(self, notice_id: UUID) -> Notice | None:
        self.write_pending()
        return self.session.get(Notice, notice_id)

    def by_key(self, key: str) -> Notice | None:
        self.write_pending()
        return self.session.scalars(sa.select(Notice).where(schema.notices.c.key == key)).first()

    def unrouted(self, limit: int) -> list[Notice]:
        self.write_pending()
        t = schema.notices
        stmt = (
            sa.select(Notice)
            .where(t.c.routed_at.is_(None))
            .order_by(t.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    def reach(self, person_id: UUID) -> Reach | None:
        p, a = schema.persons, schema.accounts
        person = self.session.execute(
            sa.select(p.c.phone, p.c.address, p.c.township_code, p.c.district_code).where(
                p.c.id == person_id
            )
        ).first()
        if person is None:
            return None
        own = self.session.execute(
            sa.select(a.c.id, a.c.phone).where(
                a.c.person_id == person_id,
                a.c.kind == AccountKind.BENEFICIARY.value,
                a.c.active.is_(True),
            )
        ).first()
        b = schema.family_bindings
        family_rows = self.session.execute(
            sa.select(a.c.id, a.c.phone)
            .join(b, b.c.family_account_id == a.c.id)
            .where(
                b.c.person_id == person_id,
                b.c.status == BindingStatus.ACTIVE.value,
                a.c.active.is_(True),
            )
            .order_by(b.c.requested_at)
        ).all()
        accounts = ([own.id] if own is not None else []) + [r.id for r in family_rows]
        wechat = self._wechat(accounts)

        def contact(account_id: UUID, phone: str | None) -> Contact:
            openid, accepted = wechat.get(account_id, (None, False))
            return Contact(account_id, phone, openid, accepted)

        me = (
            contact(own.id, person.phone or own.phone)
            if own is not None
            else Contact(None, person.phone)
        )
        return Reach(
            person=me,
            address=person.address,
            township_code=person.township_code,
            district_code=person.district_code,
            family=tuple(contact(r.id, r.phone) for r in family_rows),
        )

    def _wechat(self, accounts: list[UUID]) -> dict[UUID, tuple[str, bool]]:
        if not accounts:
            return {}
        e, w = schema.external_identities, schema.wechat_subscriptions
        rows = self.session.execute(
            sa.select(e.c.account_id, e.c.subject, sa.func.coalesce(w.c.accepted, False))
            .outerjoin(w, w.c.account_id == e.c.account_id)
            .where(among(self.session, e.c.account_id, accounts), e.c.provider == WECHAT)
        ).all()
        return {r[0]: (r[1], bool(r[2])) for r in rows}

    def set_wechat_accepted(self, account_id: UUID, accepted: bool, at: datetime) -> None:
        w = schema.wechat_subscriptions
        stmt = dialect_insert(self.session, w).values(
            account_id=account_id, accepted=accepted, updated_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["account_id"], set_={"accepted": accepted, "updated_at": at}
        )
        self.session.execute(stmt)

    def preferences(self, person_id: UUID) -> NoticePreferences | None:
        return self.session.get(NoticePreferences, person_id)

    def add_preferences(self, preferences: NoticePreferences) -> None:
        self.session.add(preferences)

    def add_delivery(self, delivery: Delivery) -> None:
        self.session.add(delivery)

    def delivery(self, delivery_id: UUID, *, for_update: bool = False) -> Delivery | None:
        return get_row(self.session, Delivery, delivery_id, for_update=for_update)

    def claim_due(
        self, now: datetime, limit: int, *, channels: Sequence[Channel], urgent_only: bool
    ) -> list[Delivery]:
        d = schema.notice_deliveries
        stmt = (
            sa.select(Delivery)
            .where(
                d.c.status == DeliveryStatus.PENDING.value,
                d.c.next_attempt_at <= now,
                d.c.channel.in_([c.value for c in channels]),
            )
            .order_by(d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if urgent_only:
            stmt = stmt.where(d.c.urgent.is_(True))
        return list(self.session.scalars(stmt))

    def interrupted(self, now: datetime, limit: int) -> list[Delivery]:
        d = schema.notice_deliveries
        stmt = (
            sa.select(Delivery)
            .where(d.c.status == DeliveryStatus.SENDING.value, d.c.claimed_until < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    def record_attempt(
        self, delivery_id: UUID, at: datetime, outcome: str, code: str, detail: str
    ) -> None:
        self.session.execute(
            sa.insert(schema.notice_attempts).values(
                delivery_id=delivery_id,
                at=at,
                outcome=outcome[:16],
                code=code[:64],
                detail=detail[:500],
            )
        )

    def attempts_of(self, delivery_id: UUID) -> list[dict[str, Any]]:
        t = schema.notice_attempts
        return as_dicts(
            self.session.execute(
                sa.select(t.c.at, t.c.outcome, t.c.code, t.c.detail)
                .where(t.c.delivery_id == delivery_id)
                .order_by(t.c.at, t.c.id)
            )
        )

    def inbox(self, person_id: UUID, page: PageRequest) -> Page[Notice]:
        self.write_pending()
        t = schema.notices
        stmt = (
            sa.select(Notice)
            .where(t.c.person_id == person_id)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(page.limit)
        )
        return Page(list(self.session.scalars(stmt)), None)

    def deliveries_of(self, notice_ids: Sequence[UUID]) -> list[Delivery]:
        if not notice_ids:
            return []
        d = schema.notice_deliveries
        stmt = sa.select(Delivery).where(among(self.session, d.c.notice_id, notice_ids))
        return list(self.session.scalars(stmt))

    def find_deliveries(
        self, *, scope: Scope, status: DeliveryStatus | None, page: PageRequest
    ) -> Page[Delivery]:
        d = schema.notice_deliveries
        filters = [d.c.status == status.value] if status is not None else []
        return scoped_page(
            self.session,
            Delivery,
            d,
            scope=scope,
            filters=filters,
            page=page,
            order="created_at",
        )

    def letters_waiting(self, limit: int) -> list[Delivery]:
        d = schema.notice_deliveries
        stmt = (
            sa.select(Delivery)
            .where(
                d.c.status == DeliveryStatus.PENDING.value,
                d.c.channel == Channel.LETTER.value,
            )
            .order_by(d.c.district_code, d.c.township_code, d.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    def add_letter_batch(self, batch: dict[str, Any]) -> None:
        self.session.execute(sa.insert(schema.letter_batches).values(**batch))

    def letter_batches(self, scope: Scope, page: PageRequest) -> Page[dict[str, Any]]:
        t = schema.letter_batches
        stmt = within_scope(sa.select(t), scope, t).order_by(t.c.created_at.desc())
        return Page(as_dicts(self.session.execute(stmt.limit(page.limit))), None)

    def letter_batch(self, batch_id: UUID) -> dict[str, Any] | None:
        t = schema.letter_batches
        row = self.session.execute(sa.select(t).where(t.c.id == batch_id)).first()
        return dict(row._mapping) if row is not None else None

    def reminder_backlog(self) -> dict[str, int]:
        self.write_pending()
        """Reminders (before and after the due date) not yet out: deliveries waiting to be
        sent or retried, and notices not yet routed to a channel."""
        d, n = schema.notice_deliveries, schema.notices
        kinds = [NoticeKind.REMINDER, NoticeKind.OVERDUE]
        pending = self.session.scalar(
            sa.select(sa.func.count())
            .select_from(d.join(n, n.c.id == d.c.notice_id))
            .where(d.c.status == DeliveryStatus.PENDING, n.c.kind.in_(kinds))
        )
        unrouted = self.session.scalar(
            sa.select(sa.func.count()).where(n.c.routed_at.is_(None), n.c.kind.in_(kinds))
        )
        return {"pending": int(pending or 0), "unrouted": int(unrouted or 0)}

    def backlog(self) -> dict[str, int]:
        self.write_pending()
        d = schema.notice_deliveries
        rows = self.session.execute(
            sa.select(d.c.status, sa.func.count()).group_by(d.c.status)
        ).all()
        counts = {s.value: 0 for s in DeliveryStatus}
        counts.update({str(r[0]): int(r[1]) for r in rows})
        n = schema.notices
        counts["unrouted"] = int(
            self.session.scalar(sa.select(sa.func.count()).where(n.c.routed_at.is_(None))) or 0
        )
        return counts


class SqlReceiptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, receipt: Receipt) -> None:
        self.session.add(receipt)

    def by_code(self, code: str) -> Receipt | None:
        return self.session.get(Receipt, code)

    def for_certification(self, certification_id: UUID) -> Receipt | None:
        t = schema.receipts
        stmt = sa.select(Receipt).where(t.c.certification_id == certification_id)
        return self.session.scalars(stmt).first()
