"""Township verification: tasks, decision proposals, home visits and the national upload."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.ports import Page, PageRequest
from certification.verification import (
    OPEN_VISIT,
    DecisionProposal,
    HomeVisitRequest,
    HomeVisitStatus,
    ProposalKind,
    ProposalStatus,
    TaskStatus,
    VerificationTask,
)
from storage import schema
from storage.db import as_dicts, dialect_insert
from storage.repositories import get_row
from storage.rules_sql import task_overdue_clause
from storage.scoping import scoped_page, within_scope
from storage.sets import among


class _OpenByPerson:
    """Open records of a batch of people, read in one query (``prefetch``) and then kept in
    step with what this unit of work adds, so that a batch of certifications asks the
    database once instead of once per person. Forgotten at every commit and rollback."""

    def __init__(self) -> None:
        self.known: dict[UUID, list[Any]] = {}

    def prime(self, person_ids: list[UUID], rows: list[Any]) -> None:
        for person_id in person_ids:
            self.known.setdefault(person_id, [])
        for row in rows:
            if row not in self.known[row.person_id]:
                self.known[row.person_id].append(row)

    def added(self, row: Any) -> None:
        if row.person_id in self.known:
            self.known[row.person_id].append(row)

    def get(self, person_id: UUID) -> list[Any] | None:
        return self.known.get(person_id)

    def forget(self) -> None:
        self.known.clear()


class SqlVerificationTaskRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.prefetched = _OpenByPerson()

    def add(self, task: VerificationTask) -> None:
        self.session.add(task)
        self.prefetched.added(task)

    def _open_of(self, person_ids: list[UUID]) -> sa.ColumnElement[bool]:
        """The open tasks of these people (one array parameter however many)."""
        t = schema.verification_tasks
        return sa.and_(
            among(self.session, t.c.person_id, person_ids), t.c.status == TaskStatus.OPEN.value
        )

    def _open(self, person_ids: list[UUID]) -> list[VerificationTask]:
        stmt = sa.select(VerificationTask).where(self._open_of(person_ids))
        return list(self.session.scalars(stmt))

    def prefetch_open(self, person_ids: list[UUID]) -> None:
        self.prefetched.prime(person_ids, self._open(person_ids))

    def get(self, task_id: UUID, *, for_update: bool = False) -> VerificationTask | None:
        return get_row(self.session, VerificationTask, task_id, for_update=for_update)

    def for_person(self, person_id: UUID) -> list[VerificationTask]:
        t = schema.verification_tasks
        stmt = sa.select(VerificationTask).where(t.c.person_id == person_id)
        return list(self.session.scalars(stmt))

    def open_for_person(self, person_id: UUID) -> list[VerificationTask]:
        known = self.prefetched.get(person_id)
        if known is not None:
            return [task for task in known if task.status is TaskStatus.OPEN]
        return self._open([person_id])

    def with_open_task(self, person_ids: list[UUID]) -> set[UUID]:
        t = schema.verification_tasks
        return set(self.session.scalars(sa.select(t.c.person_id).where(self._open_of(person_ids))))

    def find(
        self,
        *,
        scope: Scope,
        status: TaskStatus | None,
        overdue_on: date | None,
        page: PageRequest,
    ) -> Page[VerificationTask]:
        t = schema.verification_tasks
        filters = []
        if status:
            filters.append(t.c.status == status)
        if overdue_on is not None:
            filters.append(task_overdue_clause(t, overdue_on))
        return scoped_page(
            self.session,
            VerificationTask,
            t,
            scope=scope,
            filters=filters,
            page=page,
            order="deadline_on",
        )

    def overdue_by_district(self, today: date, scope: Scope) -> list[tuple[str, int]]:
        t = schema.verification_tasks
        stmt = (
            sa.select(t.c.district_code, sa.func.count())
            .where(task_overdue_clause(t, today))
            .group_by(t.c.district_code)
            .order_by(t.c.district_code)
        )
        stmt = within_scope(stmt, scope, t)
        return [(d, int(n)) for d, n in self.session.execute(stmt)]

    def ledger(
        self, scope: Scope, since: date | None, until: date | None
    ) -> Iterator[dict[str, Any]]:
        t, p = schema.verification_tasks, schema.persons
        stmt = sa.select(
            t.c.id,
            t.c.township_code,
            p.c.citizen_id,
            p.c.name,
            t.c.route,
            t.c.source,
            t.c.received_on,
            t.c.deadline_on,
            t.c.status,
            t.c.result,
            t.c.channel,
            t.c.recorded_at,
            t.c.evidence,
            t.c.statement,
            t.c.note,
        ).join(p, p.c.id == t.c.person_id)
        stmt = within_scope(stmt, scope, t)
        if since is not None:
            stmt = stmt.where(t.c.received_on >= since)
        if until is not None:
            stmt = stmt.where(t.c.received_on <= until)
        stmt = stmt.order_by(t.c.township_code, t.c.received_on, t.c.id)
        for row in self.session.execute(stmt.execution_options(yield_per=2000)):
            yield dict(row._mapping)


class SqlDecisionProposalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, proposal: DecisionProposal) -> None:
        self.session.add(proposal)

    def get(self, proposal_id: UUID, *, for_update: bool = False) -> DecisionProposal | None:
        return get_row(self.session, DecisionProposal, proposal_id, for_update=for_update)

    def open_for(self, entitlement_id: UUID, kind: str) -> DecisionProposal | None:
        t = schema.decision_proposals
        stmt = sa.select(DecisionProposal).where(
            t.c.entitlement_id == entitlement_id,
            t.c.kind == kind,
            t.c.status == ProposalStatus.PROPOSED,
        )
        return self.session.scalars(stmt).first()

    def for_person(
        self, person_id: UUID, kind: ProposalKind, status: ProposalStatus
    ) -> list[DecisionProposal]:
        t = schema.decision_proposals
        stmt = sa.select(DecisionProposal).where(
            t.c.person_id == person_id, t.c.kind == kind, t.c.status == status
        )
        return list(self.session.scalars(stmt))

    def of_entitlements(
        self, entitlement_ids: list[UUID], kind: str, statuses: tuple[ProposalStatus, ...]
    ) -> list[DecisionProposal]:
        t = schema.decision_proposals
        if not entitlement_ids:
            return []
        stmt = sa.select(DecisionProposal).where(
            among(self.session, t.c.entitlement_id, entitlement_ids),
            t.c.kind == kind,
            t.c.status.in_(statuses),
        )
        return list(self.session.scalars(stmt))

    def dismissed_for(self, entitlement_id: UUID, kind: str) -> list[DecisionProposal]:
        t = schema.decision_proposals
        stmt = sa.select(DecisionProposal).where(
            t.c.entitlement_id == entitlement_id,
            t.c.kind == kind,
            t.c.status == ProposalStatus.DISMISSED,
        )
        return list(self.session.scalars(stmt))

    def find(
        self,
        *,
        scope: Scope,
        status: ProposalStatus | None,
        kind: ProposalKind | None,
        page: PageRequest,
    ) -> Page[DecisionProposal]:
        t = schema.decision_proposals
        filters = []
        if status:
            filters.append(t.c.status == status)
        if kind:
            filters.append(t.c.kind == kind)
        return scoped_page(
            self.session,
            DecisionProposal,
            t,
            scope=scope,
            filters=filters,
            page=page,
            order="created_at",
        )


class SqlHomeVisitRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.prefetched = _OpenByPerson()

    def add(self, request: HomeVisitRequest) -> None:
        self.session.add(request)
        self.prefetched.added(request)

    def get(self, request_id: UUID) -> HomeVisitRequest | None:
        return self.session.get(HomeVisitRequest, request_id)

    def open_for_person(self, person_id: UUID) -> list[HomeVisitRequest]:
        known = self.prefetched.get(person_id)
        if known is not None:
            return [visit for visit in known if visit.is_open]
        return self._open([person_id])

    def _open_of(self, person_ids: list[UUID]) -> sa.ColumnElement[bool]:
        """The open visit requests of these people (one array parameter however many)."""
        t = schema.home_visit_requests
        return sa.and_(
            among(self.session, t.c.person_id, person_ids), t.c.status.in_(sorted(OPEN_VISIT))
        )

    def _open(self, person_ids: list[UUID]) -> list[HomeVisitRequest]:
        stmt = sa.select(HomeVisitRequest).where(self._open_of(person_ids))
        return list(self.session.scalars(stmt))

    def with_open_visit(self, person_ids: list[UUID]) -> set[UUID]:
        t = schema.home_visit_requests
        return set(self.session.scalars(sa.select(t.c.person_id).where(self._open_of(person_ids))))

    def prefetch_open(self, person_ids: list[UUID]) -> None:
        self.prefetched.prime(person_ids, self._open(person_ids))

    def find(
        self, *, scope: Scope, status: HomeVisitStatus | None, page: PageRequest
    ) -> Page[HomeVisitRequest]:
        t = schema.home_visit_requests
        filters = [t.c.status == status] if status else []
        return scoped_page(
            self.session,
            HomeVisitRequest,
            t,
            scope=scope,
            filters=filters,
            page=page,
            order="created_at",
        )


class SqlNationalUploadRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_item(self, row: dict[str, Any]) -> None:
        t = schema.national_upload_items
        stmt = (
            dialect_insert(self.session, t)
            .values(**row)
            .on_conflict_do_nothing(index_elements=["suspension_id"])
        )
        self.session.execute(stmt)

    def pending(self, district_code: str) -> list[dict[str, Any]]:
        t = schema.national_upload_items
        stmt = (
            sa.select(t)
            .where(t.c.district_code == district_code, t.c.batch_id.is_(None))
            .order_by(t.c.created_at, t.c.id)
        )
        return as_dicts(self.session.execute(stmt))

    def add_batch(self, batch: dict[str, Any], item_ids: list[UUID]) -> None:
        self.session.execute(sa.insert(schema.national_upload_batches).values(**batch))
        t = schema.national_upload_items
        self.session.execute(sa.update(t).where(t.c.id.in_(item_ids)).values(batch_id=batch["id"]))

    def mark_sent(self, batch_id: UUID, transport: str, receipt: str, at: Any) -> None:
        t = schema.national_upload_batches
        self.session.execute(
            sa.update(t)
            .where(t.c.id == batch_id)
            .values(status="sent", transport=transport, receipt=receipt, sent_at=at)
        )

    def batches(self, district_code: str | None) -> list[dict[str, Any]]:
        t = schema.national_upload_batches
        stmt = sa.select(t).order_by(t.c.created_at.desc()).limit(200)
        if district_code:
            stmt = stmt.where(t.c.district_code == district_code)
        return as_dicts(self.session.execute(stmt))

    def batch(self, batch_id: UUID) -> dict[str, Any] | None:
        t = schema.national_upload_batches
        row = self.session.execute(sa.select(t).where(t.c.id == batch_id)).first()
        return dict(row._mapping) if row else None
