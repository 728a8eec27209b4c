"""Repositories for comparison runs, department events, verification tasks and proposals.

Department events and comparison entries are bulk data (tens of millions of
rows): they are written with Core statements in batches and read page by
page, never mapped one object at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from certification.access import Scope
from certification.comparison import DepartmentEvent
from certification.ports import Page, PageRequest
from certification.supervision import TipOff, TipOffStatus
from certification.verification import (
    RUN_LIFECYCLE,
    ComparisonRun,
    DecisionProposal,
    FeedImport,
    HomeVisitRequest,
    HomeVisitStatus,
    ImportStatus,
    ProposalKind,
    ProposalStatus,
    RunStatus,
    TaskStatus,
    VerificationTask,
)
from certification.vocabulary import EntitlementStatus
from storage import schema
from storage.db import rowcount
from storage.paging import keyset_page
from storage.repositories import get_row
from storage.rules_sql import task_overdue_clause
from storage.scoping import scoped_page, within_scope

EXPORT_BATCH = 100_000
INSERT_BATCH = 5_000
MAX_PROBLEMS_KEPT = 10_000


def _insert(session: Session, table: sa.Table) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class SqlFeedImportRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: FeedImport) -> None:
        self.session.add(record)

    def get(self, import_id: UUID, *, for_update: bool = False) -> FeedImport | None:
        return get_row(self.session, FeedImport, import_id, for_update=for_update)

    def queued_before(self, before: datetime) -> list[UUID]:
        t = schema.feed_imports
        stmt = sa.select(t.c.id).where(t.c.status == ImportStatus.QUEUED, t.c.started_at < before)
        return list(self.session.scalars(stmt.order_by(t.c.started_at).limit(100)))

    def find(self, page: PageRequest) -> Page[FeedImport]:
        t = schema.feed_imports
        return keyset_page(
            self.session,
            sa.select(FeedImport),
            page,
            [t.c.started_at, t.c.id],
            [t.c.started_at.type.python_type.fromisoformat, UUID],
            lambda row: (row.started_at.isoformat(), str(row.id)),
        )

    def add_problems(self, import_id: UUID, problems: list[dict[str, Any]]) -> None:
        if problems:
            rows = [{"import_id": import_id, **p} for p in problems]
            self.session.execute(sa.insert(schema.feed_import_problems), rows)

    def problems(self, import_id: UUID, after_row: int, limit: int) -> list[dict[str, Any]]:
        t = schema.feed_import_problems
        stmt = (
            sa.select(t.c.row_number, t.c.code, t.c.column_name, t.c.message, t.c.raw)
            .where(t.c.import_id == import_id, t.c.row_number > after_row)
            .order_by(t.c.row_number)
            .limit(limit)
        )
        return [dict(r._mapping) for r in self.session.execute(stmt)]

    def insert_events(self, import_id: UUID, events: list[DepartmentEvent]) -> int:
        """Store new events; a (source, record id) already stored is skipped. Returns inserted."""
        if not events:
            return 0
        if self.session.get_bind().dialect.name == "postgresql":
            return self._copy_events(import_id, events)
        t = schema.department_events
        rows = [
            {
                "citizen_id": e.citizen_id,
                "event_kind": e.kind.value,
                "event_date": e.event_date,
                "source_department": e.source,
                "source_record_id": e.source_record_id,
                "detail": e.detail,
                "import_id": import_id,
            }
            for e in events
        ]
        stmt = (
            _insert(self.session, t)
            .on_conflict_do_nothing(index_elements=["source_department", "source_record_id"])
            .returning(t.c.id)
        )
        inserted = self.session.execute(stmt, rows).all()
        return len(inserted)

    def _copy_events(self, import_id: UUID, events: list[DepartmentEvent]) -> int:
        """PostgreSQL: COPY the batch into a temporary table, then one INSERT … SELECT that
        skips records already stored (several times faster than row inserts)."""
        self.session.execute(
            sa.text(
                "CREATE TEMP TABLE IF NOT EXISTS feed_batch (citizen_id varchar(18), "
                "event_kind varchar(32), event_date date, source_department varchar(32), "
                "source_record_id varchar(64), detail text) ON COMMIT DELETE ROWS"
            )
        )
        raw = self.session.connection().connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY feed_batch (citizen_id, event_kind, event_date, source_department, "
                "source_record_id, detail) FROM STDIN"
            ) as copy,
        ):
            for e in events:
                copy.write_row(
                    (
                        e.citizen_id,
                        e.kind.value,
                        e.event_date,
                        e.source,
                        e.source_record_id,
                        e.detail,
                    )
                )
        # DISTINCT ON: a record repeated inside one batch is kept once, like across batches.
        result = self.session.execute(
            sa.text(
                "INSERT INTO department_events (citizen_id, event_kind, event_date, "
                "source_department, source_record_id, detail, import_id) "
                "SELECT DISTINCT ON (source_department, source_record_id) citizen_id, "
                "event_kind, event_date, source_department, source_record_id, detail, :import_id "
                "FROM feed_batch ON CONFLICT (source_department, source_record_id) DO NOTHING"
            ),
            {"import_id": import_id},
        )
        self.session.execute(sa.text("TRUNCATE feed_batch"))
        return rowcount(result)


class SqlComparisonRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, run: ComparisonRun) -> None:
        self.session.add(run)

    def get(self, run_id: UUID, *, for_update: bool = False) -> ComparisonRun | None:
        if for_update:
            return get_row(self.session, ComparisonRun, run_id, for_update=True)
        return self.session.get(ComparisonRun, run_id, populate_existing=True)

    def queued_before(self, before: datetime) -> list[UUID]:
        t = schema.comparison_runs
        stmt = sa.select(t.c.id).where(t.c.status == RunStatus.QUEUED, t.c.started_at < before)
        return list(self.session.scalars(stmt.order_by(t.c.started_at).limit(10)))

    def latest(self, *, status: RunStatus | None = None) -> ComparisonRun | None:
        t = schema.comparison_runs
        stmt = sa.select(ComparisonRun).order_by(t.c.started_at.desc()).limit(1)
        if status is not None:
            stmt = stmt.where(t.c.status == status)
        return self.session.scalars(stmt).first()

    def running(self) -> ComparisonRun | None:
        t = schema.comparison_runs
        unfinished = [s for s in RunStatus if not RUN_LIFECYCLE.is_final(s)]
        stmt = sa.select(ComparisonRun).where(t.c.status.in_(unfinished)).limit(1)
        return self.session.scalars(stmt).first()

    def find(self, page: PageRequest) -> Page[ComparisonRun]:
        t = schema.comparison_runs
        return keyset_page(
            self.session,
            sa.select(ComparisonRun),
            page,
            [t.c.started_at, t.c.id],
            [t.c.started_at.type.python_type.fromisoformat, UUID],
            lambda row: (row.started_at.isoformat(), str(row.id)),
        )

    # --- bulk: export to the engine, load its entries back -----------------------------

    def export_entitlements(self, path: Path) -> int:
        """Active entitlements with what the comparison needs, to Parquet, in batches."""
        e, p = schema.entitlements, schema.persons
        stmt = (
            sa.select(
                e.c.id.label("entitlement_id"),
                p.c.id.label("person_id"),
                p.c.citizen_id,
                e.c.kind,
                e.c.role,
                e.c.relationship,
                e.c.start_date,
                p.c.last_certified_on,
                p.c.district_code,
                p.c.township_code,
            )
            .join(p, p.c.id == e.c.person_id)
            .where(e.c.status == EntitlementStatus.ACTIVE.value)
        )
        arrow_schema = pa.schema(
            [
                ("entitlement_id", pa.string()),
                ("person_id", pa.string()),
                ("citizen_id", pa.string()),
                ("kind", pa.string()),
                ("role", pa.string()),
                ("relationship", pa.string()),
                ("start_date", pa.date32()),
                ("last_certified_on", pa.date32()),
                ("district_code", pa.string()),
                ("township_code", pa.string()),
            ]
        )

        def convert(rows: list[sa.Row[Any]]) -> dict[str, list[Any]]:
            cols: dict[str, list[Any]] = {n: [] for n in arrow_schema.names}
            for r in rows:
                cols["entitlement_id"].append(str(r.entitlement_id))
                cols["person_id"].append(str(r.person_id))
                cols["citizen_id"].append(r.citizen_id)
                cols["kind"].append(_value(r.kind))
                cols["role"].append(_value(r.role))
                cols["relationship"].append(_value(r.relationship))
                cols["start_date"].append(r.start_date)
                cols["last_certified_on"].append(r.last_certified_on)
                cols["district_code"].append(r.district_code)
                cols["township_code"].append(r.township_code)
            return cols

        return self._export(stmt, path, arrow_schema, convert)

    def export_events(self, path: Path, until: date) -> int:
        t = schema.department_events
        stmt = sa.select(t.c.id, t.c.citizen_id, t.c.event_kind, t.c.event_date).where(
            t.c.event_date <= until
        )
        arrow_schema = pa.schema(
            [
                ("event_id", pa.int64()),
                ("citizen_id", pa.string()),
                ("event_kind", pa.string()),
                ("event_date", pa.date32()),
            ]
        )

        def convert(rows: list[sa.Row[Any]]) -> dict[str, list[Any]]:
            return {
                "event_id": [r.id for r in rows],
                "citizen_id": [r.citizen_id for r in rows],
                "event_kind": [r.event_kind for r in rows],
                "event_date": [r.event_date for r in rows],
            }

        return self._export(stmt, path, arrow_schema, convert)

    def _export(
        self,
        stmt: sa.Select[Any],
        path: Path,
        arrow_schema: pa.Schema,
        convert: Any,
    ) -> int:
        total = 0
        result = self.session.execute(stmt.execution_options(yield_per=EXPORT_BATCH))
        with pq.ParquetWriter(str(path), arrow_schema, compression="zstd") as writer:
            for chunk in result.partitions(EXPORT_BATCH):
                writer.write_table(pa.table(convert(list(chunk)), schema=arrow_schema))
                total += len(chunk)
            if total == 0:
                writer.write_table(arrow_schema.empty_table())
        return total

    def load_entries(self, run_id: UUID, batches: Iterable[list[dict[str, Any]]]) -> int:
        t = schema.comparison_entries
        total = 0
        for batch in batches:
            rows = [
                {
                    "run_id": run_id,
                    "entitlement_id": UUID(r["entitlement_id"]),
                    "person_id": UUID(r["person_id"]),
                    "district_code": r["district_code"],
                    "township_code": r["township_code"],
                    "benefit_kind": r["kind"],
                    "list": r["list"],
                    "certified_in_window": bool(r["certified_in_window"]),
                    "alive_count": int(r["alive_count"]),
                    "lost_count": int(r["lost_count"]),
                    "alive_evidence": list(r["alive_evidence"] or []),
                    "lost_evidence": list(r["lost_evidence"] or []),
                }
                for r in batch
            ]
            if rows:
                self.session.execute(sa.insert(t), rows)
                total += len(rows)
        return total

    def entries(
        self,
        run_id: UUID,
        *,
        list_name: str | None,
        scope: Scope,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        t = schema.comparison_entries
        stmt = sa.select(t).where(t.c.run_id == run_id)
        if list_name:
            stmt = stmt.where(t.c.list == list_name)
        stmt = within_scope(stmt, scope, t)
        if after is not None:
            stmt = stmt.where(
                sa.tuple_(t.c.person_id, t.c.entitlement_id)
                > sa.tuple_(
                    sa.literal(UUID(after[0]), sa.Uuid), sa.literal(UUID(after[1]), sa.Uuid)
                )
            )
        stmt = stmt.order_by(t.c.person_id, t.c.entitlement_id).limit(limit)
        return [dict(r._mapping) for r in self.session.execute(stmt)]

    def person_batches(
        self, run_id: UUID, list_name: str, batch_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """Entries of one list grouped by person, in pages of persons (for applying a run)."""
        t = schema.comparison_entries
        after: UUID | None = None
        while True:
            people = sa.select(t.c.person_id).where(t.c.run_id == run_id, t.c.list == list_name)
            if after is not None:
                people = people.where(t.c.person_id > after)
            ids = list(
                self.session.scalars(
                    people.group_by(t.c.person_id).order_by(t.c.person_id).limit(batch_size)
                )
            )
            if not ids:
                return
            # a range on (run_id, list, person_id): an index range scan, not a list filter
            rows = self.session.execute(
                sa.select(t).where(
                    t.c.run_id == run_id,
                    t.c.list == list_name,
                    t.c.person_id >= ids[0],
                    t.c.person_id <= ids[-1],
                )
            )
            yield [dict(r._mapping) for r in rows]
            after = ids[-1]

    def changes(
        self, run_id: UUID, previous_id: UUID, *, scope: Scope, limit: int, after: str | None
    ) -> list[dict[str, Any]]:
        """Entitlements whose list differs from the previous run (or that are new)."""
        cur = schema.comparison_entries.alias("cur")
        prev = schema.comparison_entries.alias("prev")
        stmt = (
            sa.select(
                cur.c.entitlement_id,
                cur.c.person_id,
                cur.c.district_code,
                prev.c.list.label("previous_list"),
                cur.c.list.label("list"),
            )
            .select_from(
                cur.outerjoin(
                    prev,
                    sa.and_(
                        prev.c.run_id == previous_id,
                        prev.c.entitlement_id == cur.c.entitlement_id,
                    ),
                )
            )
            .where(cur.c.run_id == run_id)
            .where(sa.or_(prev.c.list.is_(None), prev.c.list != cur.c.list))
        )
        stmt = within_scope(stmt, scope, cur)
        if after:
            stmt = stmt.where(cur.c.entitlement_id > sa.literal(UUID(after), sa.Uuid))
        stmt = stmt.order_by(cur.c.entitlement_id).limit(limit)
        return [dict(r._mapping) for r in self.session.execute(stmt)]

    def events(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        t = schema.department_events
        stmt = sa.select(
            t.c.id,
            t.c.event_kind,
            t.c.event_date,
            t.c.source_department,
            t.c.source_record_id,
            t.c.detail,
        ).where(t.c.id.in_(list(ids)))
        return [dict(r._mapping) for r in self.session.execute(stmt)]


def _value(v: Any) -> Any:
    return getattr(v, "value", v)


class SqlVerificationTaskRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, task: VerificationTask) -> None:
        self.session.add(task)

    def get(self, task_id: UUID, *, for_update: bool = False) -> VerificationTask | None:
        return get_row(self.session, VerificationTask, task_id, for_update=for_update)

    def open_for_person(self, person_id: UUID) -> list[VerificationTask]:
        t = schema.verification_tasks
        stmt = sa.select(VerificationTask).where(
            t.c.person_id == person_id, t.c.status == TaskStatus.OPEN.value
        )
        return list(self.session.scalars(stmt))

    def with_open_task(self, person_ids: list[UUID]) -> set[UUID]:
        t = schema.verification_tasks
        stmt = sa.select(t.c.person_id).where(
            t.c.person_id.in_(person_ids), t.c.status == TaskStatus.OPEN.value
        )
        return set(self.session.scalars(stmt))

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

    def add(self, request: HomeVisitRequest) -> None:
        self.session.add(request)

    def get(self, request_id: UUID) -> HomeVisitRequest | None:
        return self.session.get(HomeVisitRequest, request_id)

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
            _insert(self.session, t)
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
        return [dict(r._mapping) for r in self.session.execute(stmt)]

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
        return [dict(r._mapping) for r in self.session.execute(stmt)]

    def batch(self, batch_id: UUID) -> dict[str, Any] | None:
        t = schema.national_upload_batches
        row = self.session.execute(sa.select(t).where(t.c.id == batch_id)).first()
        return dict(row._mapping) if row else None


class SqlTipOffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, tip: TipOff) -> None:
        self.session.add(tip)

    def get(self, tip_id: UUID, *, for_update: bool = False) -> TipOff | None:
        return self.session.get(TipOff, tip_id, with_for_update=for_update or None)

    def find(self, *, scope: Scope, status: TipOffStatus | None, page: PageRequest) -> Page[TipOff]:
        t = schema.tip_offs
        stmt = within_scope(sa.select(TipOff), scope, t)
        if status:
            stmt = stmt.where(t.c.status == status)
        return keyset_page(
            self.session,
            stmt,
            page,
            [t.c.received_at, t.c.id],
            [datetime.fromisoformat, UUID],
            lambda row: (row.received_at.isoformat(), str(row.id)),
        )

    def count_by_status(self, scope: Scope) -> dict[str, int]:
        t = schema.tip_offs
        stmt = within_scope(sa.select(t.c.status, sa.func.count()), scope, t).group_by(t.c.status)
        return {str(status): int(n) for status, n in self.session.execute(stmt)}
